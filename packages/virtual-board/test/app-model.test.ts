import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getLayout } from '@stm32dfu/layout';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  APP_RUNTIME_INTERFACE_NAME,
  ApplicationModel,
  DEVICE_INTERFACE_GUID,
} from '../src/app-model.ts';
import {
  parseConfigurationDescriptor,
  parseDeviceDescriptor,
  parseMsOs20DescriptorSet,
  REG_MULTI_SZ,
} from '../src/descriptors.ts';

// The model must answer as the real example application does. firmware/app/usb_runtime.c is
// built for the host with firmware/app/tests/app_answers.c, which replays a script of SETUP
// packets and prints each answer; the model replays the same script and must print the same.
const firmware = fileURLToPath(new URL('../../../firmware/', import.meta.url));
const generated = join(firmware, 'build/generated/blackpill-f411');
const layout = getLayout('blackpill-f411');
const dir = mkdtempSync(join(tmpdir(), 'app-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
function setup(type: number, request: number, value: number, index: number, length: number) {
  const b = Uint8Array.of(type, request, value, value >> 8, index, index >> 8, length, length >> 8);
  return hex(b);
}
const getDescriptor = (type: number, index: number, length: number, language = 0) =>
  setup(0x80, 6, (type << 8) | index, language, length);

/** What a host sends while enumerating, probing Windows/WebUSB features and detaching. */
const SCRIPT = [
  getDescriptor(1, 0, 64),
  setup(0x00, 5, 7, 0, 0), // SET_ADDRESS 7
  getDescriptor(1, 0, 18),
  getDescriptor(1, 0, 8),
  getDescriptor(2, 0, 9),
  getDescriptor(2, 0, 255),
  getDescriptor(2, 1, 255), // a second configuration index
  getDescriptor(3, 0, 255),
  getDescriptor(3, 1, 255, 0x0409),
  getDescriptor(3, 2, 255, 0x0409),
  getDescriptor(3, 3, 255, 0x0409),
  getDescriptor(3, 4, 255, 0x0409),
  getDescriptor(3, 4, 10, 0x0409),
  getDescriptor(3, 5, 255, 0x0409),
  getDescriptor(6, 0, 10), // DEVICE_QUALIFIER
  getDescriptor(0x0f, 0, 5), // BOS header, as Windows asks first
  getDescriptor(0x0f, 0, 57),
  getDescriptor(0x0f, 0, 255),
  getDescriptor(0x0f, 0, 2),
  setup(0x81, 6, 0x0f00, 0, 57), // GET_DESCRIPTOR to the interface
  setup(0xc0, 0x02, 0, 7, 30), // MS OS 2.0 descriptor set
  setup(0xc0, 0x02, 0, 7, 255),
  setup(0xc0, 0x02, 0, 7, 10),
  setup(0xc0, 0x02, 0, 6, 30), // wrong wIndex
  setup(0xc1, 0x02, 0, 7, 30), // to the interface
  setup(0xc0, 0x01, 1, 2, 255), // WebUSB GET_URL
  setup(0xc0, 0x03, 0, 0, 8),
  setup(0x40, 0x55, 0, 0, 0), // vendor OUT
  setup(0x80, 0, 0, 0, 2), // GET_STATUS device
  setup(0x81, 0, 0, 0, 2),
  setup(0x82, 0, 0, 0, 2),
  setup(0x80, 8, 0, 0, 1), // GET_CONFIGURATION
  setup(0x00, 9, 2, 0, 0), // SET_CONFIGURATION 2: no such configuration
  setup(0x00, 9, 1, 0, 0),
  setup(0x80, 8, 0, 0, 1),
  setup(0x81, 10, 0, 0, 1), // GET_INTERFACE
  setup(0x81, 10, 0, 1, 1),
  setup(0x01, 11, 0, 0, 0), // SET_INTERFACE 0/0
  setup(0x01, 11, 1, 0, 0),
  setup(0x00, 3, 1, 0, 0), // SET_FEATURE remote wakeup
  setup(0x02, 1, 0, 0x80, 0), // CLEAR_FEATURE halt
  setup(0xa1, 3, 0, 0, 6), // DFU GETSTATUS
  setup(0xa1, 3, 0, 1, 6), // to interface 1
  setup(0xa1, 5, 0, 0, 1), // GETSTATE
  setup(0xa1, 2, 0, 0, 64), // UPLOAD: not in runtime mode
  setup(0x21, 1, 0, 0, 0), // DNLOAD without data
  setup(0x21, 4, 0, 0, 0), // CLRSTATUS
  setup(0xa0, 3, 0, 0, 6), // class request to the device
  'reset',
  setup(0x80, 8, 0, 0, 1),
  setup(0xa1, 3, 0, 0, 6),
  setup(0x21, 0, 1000, 0, 0), // DFU_DETACH
  setup(0xa1, 3, 0, 0, 6),
  setup(0xa1, 5, 0, 0, 1),
];

function modelAnswers(serialNumber: string): string[] {
  let detached = false;
  const model = new ApplicationModel({
    identity: layout.board.usbIdentity,
    serialNumber,
    onDetach: () => {
      detached = true;
    },
  });
  model.busReset();
  let detachReported = false;
  return SCRIPT.map((line) => {
    if (line === 'reset') {
      model.busReset();
      return 'reset';
    }
    const reply = model.setup(Buffer.from(line, 'hex'));
    let answer: string;
    if (reply.kind === 'send') answer = `send ${hex(reply.data)}`;
    else if (reply.kind === 'ack' || reply.kind === 'stall') answer = reply.kind;
    else answer = 'none';
    if (reply.kind === 'send' || reply.kind === 'ack') model.transferComplete();
    if (detached && !detachReported) {
      detachReported = true;
      answer += ' detach';
    }
    return answer;
  });
}

let cAnswers: string[];
let uid: string;
beforeAll(() => {
  if (!existsSync(join(generated, 'stm32dfu_layout.h'))) {
    throw new Error(
      `${generated}/stm32dfu_layout.h is missing: run \`pnpm --filter @stm32dfu/virtual-board build\` (it runs the layout codegen).`,
    );
  }
  const program = join(dir, 'app_answers');
  const cc = process.env.CC ?? 'cc';
  execFileSync(cc, [
    '-std=c11',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-I',
    join(firmware, 'app'),
    '-I',
    join(firmware, 'src/core'),
    '-I',
    generated,
    '-I',
    join(firmware, 'app/tests'),
    join(firmware, 'app/usb_runtime.c'),
    join(firmware, 'app/tests/app_answers.c'),
    join(firmware, 'app/tests/recording_hal.c'),
    '-o',
    program,
  ]);
  const output = execFileSync(program, { input: `${SCRIPT.join('\n')}\n`, encoding: 'utf8' });
  const lines = output.trimEnd().split('\n');
  uid = lines[0]!.replace(/^uid /, '');
  cAnswers = lines.slice(1);
});

describe('the application model answers as firmware/app/usb_runtime.c', () => {
  test('every request of the script, byte for byte', () => {
    const serial = uid.toUpperCase();
    expect(cAnswers).toHaveLength(SCRIPT.length);
    const model = modelAnswers(serial);
    const differences = SCRIPT.flatMap((request, i) =>
      model[i] === cAnswers[i] ? [] : [`${request}: model "${model[i]}", C app "${cAnswers[i]}"`],
    );
    expect(differences).toEqual([]);
  });

  test('what a host checks: bcdUSB 2.01, BOS and MS OS 2.0 set, runtime interface', () => {
    const model = new ApplicationModel({
      identity: layout.board.usbIdentity,
      serialNumber: '0123456789ABCDEF01234567',
      onDetach: () => {},
    });
    const send = (line: string) => {
      const reply = model.setup(Buffer.from(line, 'hex'));
      return reply.kind === 'send' ? reply.data : reply.kind;
    };
    const device = parseDeviceDescriptor(send(getDescriptor(1, 0, 18)) as Uint8Array);
    expect(device.bcdUSB).toBe(0x0201);
    expect(device.bcdDevice).toBe(layout.board.usbIdentity.applicationBcdDevice);
    const bos = send(getDescriptor(0x0f, 0, 255)) as Uint8Array;
    expect(bos).toHaveLength(57);
    expect((send(getDescriptor(0x0f, 0, 5)) as Uint8Array).length).toBe(5);
    // MS OS 2.0 capability at 5 + 24: wMSOSDescriptorSetTotalLength 162, vendor code 2.
    expect([bos[29 + 24]! | (bos[29 + 25]! << 8), bos[29 + 26]]).toEqual([162, 2]);
    const set = send(setup(0xc0, 2, 0, 7, 255)) as Uint8Array;
    expect(set).toHaveLength(162);
    expect(Buffer.from(set.subarray(14, 20)).toString('latin1')).toBe('WINUSB');
    expect(parseMsOs20DescriptorSet(set).registryProperties).toMatchObject([
      { name: 'DeviceInterfaceGUIDs', dataType: REG_MULTI_SZ, strings: [DEVICE_INTERFACE_GUID] },
    ]);
    expect(send(setup(0xc0, 1, 1, 2, 255))).toBe('stall');
    const config = parseConfigurationDescriptor(send(getDescriptor(2, 0, 255)) as Uint8Array);
    const runtime = config.interfaces[0]!;
    expect([
      runtime.bInterfaceClass,
      runtime.bInterfaceSubClass,
      runtime.bInterfaceProtocol,
    ]).toEqual([0xfe, 0x01, 0x01]);
    expect(runtime.dfuFunctional).toEqual({
      bmAttributes: 0x0b,
      wDetachTimeOut: 1000,
      wTransferSize: 2048,
      bcdDFUVersion: 0x0110,
    });
    expect(APP_RUNTIME_INTERFACE_NAME).toBe('stm32dfu runtime DFU');
  });
});
