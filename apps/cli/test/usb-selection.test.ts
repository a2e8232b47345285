/**
 * Choosing USB boards, as a user meets it: two of our bootloaders on the bus (a stand-in for
 * node-usb, STM32DFU_USB_MODULE, with libusb's descriptors and the strings a device sends),
 * so an unqualified command is ambiguous and says which boards it saw; --serial and --path
 * pick one; a board that never appears ends --wait with "no device".
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/errors.ts';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const LAYOUT_STRING = '@Internal Flash  /0x08000000/02*016Ka,02*016Kg,01*064Kg,03*128Kg';

/** A node-usb stand-in: our bootloader at each of `boards` (serial, port). */
function busModule(boards: readonly { serial: string; port: number }[]): string {
  return `
const boards = ${JSON.stringify(boards)};
const devices = boards.map((b, i) => ({
  busNumber: 1,
  deviceAddress: 10 + i,
  portNumbers: [b.port],
  timeout: 1000,
  deviceDescriptor: { idVendor: 0x1209, idProduct: 0x0001, bcdDevice: 0x0200, iManufacturer: 1, iProduct: 2, iSerialNumber: 3 },
  allConfigDescriptors: [{ bConfigurationValue: 1, interfaces: [[{ bInterfaceNumber: 0, bAlternateSetting: 0,
    bInterfaceClass: 0xfe, bInterfaceSubClass: 1, bInterfaceProtocol: 2, iInterface: 4 }]] }],
  interface: () => ({ isKernelDriverActive: () => false, detachKernelDriver() {} }),
  serial: b.serial,
}));
export default {
  getDeviceList: () => devices,
  usb: { on() {}, removeListener() {} },
  WebUSBDevice: {
    createInstance: async (d) => ({
      vendorId: 0x1209, productId: 0x0001, serialNumber: d.serial,
      manufacturerName: 'stm32dfu', productName: 'stm32dfu bootloader',
      configurations: [{ configurationValue: 1, interfaces: [{ interfaceNumber: 0,
        alternates: [{ alternateSetting: 0, interfaceClass: 0xfe, interfaceSubclass: 1, interfaceProtocol: 2,
          interfaceName: ${JSON.stringify(LAYOUT_STRING)} }] }] }],
    }),
  },
};
`;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stm32dfu-usb-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: readonly string[], boards: readonly { serial: string; port: number }[]) {
  const module = join(dir, 'bus.mjs');
  writeFileSync(module, busModule(boards));
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, STM32DFU_USB_MODULE: module },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const two = [
  { serial: 'AAAA00000000000000000001', port: 1 },
  { serial: 'BBBB00000000000000000002', port: 2 },
];

describe('selecting USB boards', () => {
  it('list shows both boards with serial, bus path and mode', () => {
    const r = cli(['list', '--json'], two);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      devices: { serialNumber: string; path: string; mode: string; kind: string }[];
    };
    expect(result.devices).toMatchObject([
      { serialNumber: two[0]!.serial, path: '1-1', mode: 'bootloader', kind: 'stm32dfu' },
      { serialNumber: two[1]!.serial, path: '1-2', mode: 'bootloader', kind: 'stm32dfu' },
    ]);
  });

  it('a command for one board refuses two candidates and names them (exit status 4)', () => {
    const r = cli(['info'], two);
    expect(r.status).toBe(EXIT.AMBIGUOUS_DEVICE);
    expect(r.stderr).toContain(two[0]!.serial);
    expect(r.stderr).toContain(two[1]!.serial);
  });

  it('--json carries the ambiguity as the result object', () => {
    const r = cli(['info', '--json'], two);
    expect(r.status).toBe(EXIT.AMBIGUOUS_DEVICE);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({
      type: 'result',
      ok: false,
      exitStatus: 4,
      error: { code: 'AMBIGUOUS' },
    });
  });

  it('a serial that is not on the bus is "no device" (exit status 3), listing what was seen', () => {
    const r = cli(['info', '--serial', 'CCCC00000000000000000003'], two);
    expect(r.status).toBe(EXIT.NO_DEVICE);
    expect(r.stderr).toContain('CCCC00000000000000000003');
  });

  it('--wait keeps looking for the time given, then gives up with "no device"', () => {
    const started = Date.now();
    const r = cli(['info', '--wait', '1'], []);
    expect(r.status).toBe(EXIT.NO_DEVICE);
    expect(r.stdout).toContain('waiting for a board to appear');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });
});

describe('udev and doctor', () => {
  it('udev prints a rule for our ids and ST ROM, giving the seat user access', () => {
    const r = cli(['udev'], []);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ATTR\{idVendor\}=="1209", ATTR\{idProduct\}=="0001"/);
    expect(r.stdout).toMatch(/ATTR\{idVendor\}=="0483", ATTR\{idProduct\}=="df11"/);
    expect(r.stdout).toMatch(/TAG\+="uaccess"/);
  });

  it('doctor reports the usb module, the udev rule and the boards it sees', () => {
    const r = cli(['doctor', '--json'], two);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      checks: { name: string; ok: boolean; detail: string }[];
    };
    const byName = Object.fromEntries(result.checks.map((c) => [c.name, c]));
    expect(byName['usb module']?.ok).toBe(true);
    expect(byName['boards']?.detail).toMatch(/^2 DFU-capable device\(s\) among 2 USB device\(s\)/);
    if (process.platform === 'linux') expect(byName['udev rule']).toBeDefined();
  });
});
