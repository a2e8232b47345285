import { describe, expect, it } from 'vitest';
import {
  DeviceSelectionError,
  formatBcd,
  formatBusPath,
  NodeUsbTransport,
  parseUsbId,
  TransportError,
} from '../src/index.js';
import {
  FakeNodeUsb,
  foreignDfu,
  keyboard,
  OUR_LAYOUT,
  ourApplication,
  ourBootloader,
  stRom,
} from './fake-libusb.js';

function transport(fake: FakeNodeUsb, platform: NodeJS.Platform = 'linux') {
  return new NodeUsbTransport({ usb: fake.module, platform });
}

async function selectionError(work: Promise<unknown>): Promise<DeviceSelectionError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeviceSelectionError);
  return error as DeviceSelectionError;
}

describe('bus paths', () => {
  it('prints bus-port.port as dfu-util -p takes it', () => {
    expect(formatBusPath({ busNumber: 1, portNumbers: [4] })).toBe('1-4');
    expect(formatBusPath({ busNumber: 3, portNumbers: [2, 1, 4] })).toBe('3-2.1.4');
  });

  it('labels a device libusb cannot place by its address, never as a typeable path', () => {
    expect(formatBusPath({ busNumber: 2, portNumbers: [], deviceAddress: 7 })).toBe('2-?.7');
    expect(formatBusPath({ busNumber: 2, deviceAddress: 5 })).toBe('2-?.5');
  });

  it('prints bcdDevice as lsusb does', () => {
    expect(formatBcd(0x0200)).toBe('2.00');
    expect(formatBcd(0x2200)).toBe('22.00');
    expect(formatBcd(0x0101)).toBe('1.01');
  });
});

describe('list', () => {
  it('lists every DFU-capable device, classified, and nothing else', async () => {
    const fake = new FakeNodeUsb([
      ourBootloader('3276395B3331', { ports: [1, 4] }),
      ourApplication('206B38A25047', { ports: [1, 2], address: 5 }),
      stRom('305A36763237'),
      foreignDfu('7BB180B4'),
      keyboard(),
    ]);
    const listing = await transport(fake).list();
    expect(listing.usbDeviceCount).toBe(5);
    expect(listing.diagnostics).toEqual([]);
    expect(listing.devices.map((d) => [d.path, d.id, d.mode, d.kind, d.foreign])).toEqual([
      ['1-1.2', '1209:0001', 'runtime', 'stm32dfu', false],
      ['1-1.4', '1209:0001', 'dfu', 'stm32dfu', false],
      ['1-2', '0483:df11', 'dfu', 'st-rom', false],
      ['2-3', '1d50:6017', 'dfu', 'foreign', true],
    ]);
    const boot = listing.devices.find((d) => d.mode === 'dfu' && d.kind === 'stm32dfu')!;
    expect(boot).toMatchObject({
      vendorId: 0x1209,
      productId: 0x0001,
      serialNumber: '3276395B3331',
      manufacturerName: 'stm32dfu',
      productName: 'stm32dfu bootloader',
      busNumber: 1,
      portNumbers: [1, 4],
      deviceAddress: 7,
      bcdDevice: 0x0200,
      version: '2.00',
      problem: undefined,
    });
    expect(boot.alternates).toHaveLength(1);
    expect(boot.alternates[0]).toMatchObject({
      interfaceNumber: 0,
      alternateSetting: 0,
      name: OUR_LAYOUT,
    });
    expect(boot.alternates[0]!.layout?.name).toBe('Internal Flash');
    expect(boot.alternates[0]!.layout?.sectors).toHaveLength(8);
    const app = listing.devices.find((d) => d.mode === 'runtime')!;
    expect(app.version).toBe('1.00');
    expect(app.alternates.map((a) => a.name)).toEqual(['DFU']);
    const rom = listing.devices.find((d) => d.kind === 'st-rom')!;
    expect(rom.alternates.map((a) => a.layout?.name)).toEqual([
      'Internal Flash',
      'Option Bytes',
      'OTP Memory',
      'Device Feature',
    ]);
  });

  it("calls a device with our ids but someone else's manufacturer string foreign", async () => {
    const fake = new FakeNodeUsb([ourBootloader('A', { manufacturer: 'Someone Testing' })]);
    const [device] = (await transport(fake).list()).devices;
    expect(device?.kind).toBe('foreign');
  });

  it("counts a product's own ids as ours when told them", async () => {
    const fake = new FakeNodeUsb([
      ourBootloader('A', { vendorId: 0x1209, productId: 0xbeef, manufacturer: 'Acme' }),
    ]);
    const t = new NodeUsbTransport({
      usb: fake.module,
      platform: 'linux',
      identities: [{ vendorId: 0x1209, productId: 0xbeef, manufacturer: 'Acme' }],
    });
    expect((await t.list()).devices[0]?.kind).toBe('stm32dfu');
    expect((await transport(fake).list()).devices[0]?.kind).toBe('foreign');
  });

  it('lists a device it may not open, without strings, with the udev advice', async () => {
    const fake = new FakeNodeUsb([
      ourBootloader('3276395B3331', { openError: 'LIBUSB_ERROR_ACCESS' }),
    ]);
    const listing = await transport(fake).list();
    const [device] = listing.devices;
    expect(device).toMatchObject({ id: '1209:0001', path: '1-1.4', mode: 'dfu', kind: 'stm32dfu' });
    expect(device?.serialNumber).toBeUndefined();
    expect(device?.alternates.map((a) => a.alternateSetting)).toEqual([0]);
    expect(device?.problem?.code).toBe('ACCESS_DENIED');
    expect(listing.diagnostics.map((d) => d.code)).toEqual(['ACCESS_DENIED']);
    expect(listing.diagnostics[0]!.message).toContain('udev');
    expect(listing.diagnostics[0]!.message).toContain('/etc/udev/rules.d/70-stm32dfu.rules');
  });

  it('reads the device once permission is granted, on the next listing', async () => {
    const fake = new FakeNodeUsb([ourBootloader('S1', { openError: 'LIBUSB_ERROR_ACCESS' })]);
    const t = transport(fake);
    expect((await t.list()).devices[0]?.serialNumber).toBeUndefined();
    fake.devices[0]!.spec.openError = undefined;
    expect((await t.list()).devices[0]?.serialNumber).toBe('S1');
  });
});

describe('select', () => {
  const bus = () =>
    new FakeNodeUsb([ourBootloader('BOARD1', { ports: [1, 4] }), foreignDfu('PROBE1'), keyboard()]);

  it('picks the one device of ours without being told which', async () => {
    const device = await transport(bus()).select();
    expect(device.serialNumber).toBe('BOARD1');
  });

  it("picks ST's ROM bootloader implicitly too", async () => {
    const device = await transport(new FakeNodeUsb([stRom('ROM1'), foreignDfu('P')])).select();
    expect(device.kind).toBe('st-rom');
  });

  it('never picks a foreign device implicitly, and says so', async () => {
    const error = await selectionError(transport(new FakeNodeUsb([foreignDfu('P')])).select());
    expect(error.code).toBe('NO_DEVICE');
    expect(error.seen).toHaveLength(1);
    expect(error.message).toContain('1d50:6017');
    expect(error.message).toContain('other vendors');
  });

  it('selects a foreign device when it is named', async () => {
    const t = transport(bus());
    expect((await t.select({ vendorId: 0x1d50, productId: 0x6017 })).serialNumber).toBe('PROBE1');
    expect((await t.select({ path: '2-3' })).serialNumber).toBe('PROBE1');
    expect((await t.select({ serialNumber: 'PROBE1' })).kind).toBe('foreign');
  });

  it('selects by serial, path, VID:PID and mode', async () => {
    const fake = new FakeNodeUsb([
      ourBootloader('BOARD1', { ports: [1, 4] }),
      ourApplication('BOARD2', { ports: [1, 2] }),
    ]);
    const t = transport(fake);
    expect((await t.select({ serialNumber: 'BOARD2' })).path).toBe('1-1.2');
    expect((await t.select({ path: '1-1.4' })).serialNumber).toBe('BOARD1');
    expect((await t.select({ mode: 'runtime' })).serialNumber).toBe('BOARD2');
    expect((await t.select({ ...parseUsbId('1209:0001'), mode: 'dfu' })).serialNumber).toBe(
      'BOARD1',
    );
  });

  it('refuses to guess between several boards and lists them', async () => {
    const fake = new FakeNodeUsb([
      ourBootloader('BOARD1', { ports: [1, 4] }),
      ourBootloader('BOARD2', { ports: [1, 3], address: 8 }),
    ]);
    const error = await selectionError(transport(fake).select({ vendorId: 0x1209 }));
    expect(error.code).toBe('AMBIGUOUS');
    expect(error.name).toBe('DeviceSelectionError');
    expect(error.candidates.map((c) => c.serialNumber)).toEqual(['BOARD2', 'BOARD1']);
    expect(error.message).toContain('2 devices match a DFU device with id 1209:*');
    expect(error.message).toContain('serial BOARD1');
    expect(error.message).toContain('path 1-1.3');
    expect(error.message).toContain('serial number');
  });

  it('says what it looked for and what it saw when nothing matches', async () => {
    const error = await selectionError(transport(bus()).select({ serialNumber: 'NOPE' }));
    expect(error.code).toBe('NO_DEVICE');
    expect(error.criteria).toEqual({ serialNumber: 'NOPE' });
    expect(error.message).toContain('No device matches a DFU device with serial NOPE');
    expect(error.message).toContain('1209:0001 path 1-1.4 serial BOARD1 dfu stm32dfu v2.00');
    expect(error.message).toContain('1d50:6017 path 2-3 serial PROBE1');
    expect(error.message).not.toContain('046d');
  });

  it('says the bus is empty when it is', async () => {
    const error = await selectionError(transport(new FakeNodeUsb([keyboard()])).select());
    expect(error.message).toContain('No DFU device is on the bus');
    expect(error.message).toContain('DFU mode');
  });

  it('explains an unreadable serial by the permission problem', async () => {
    const fake = new FakeNodeUsb([ourBootloader('S1', { openError: 'LIBUSB_ERROR_ACCESS' })]);
    const error = await selectionError(transport(fake).select({ serialNumber: 'S1' }));
    expect(error.code).toBe('NO_DEVICE');
    expect(error.message).toContain('serial (unreadable)');
    expect(error.message).toContain('could not be opened');
    expect(error.message).toContain('udev');
  });

  it('throws the permission advice when the selected device cannot be opened', async () => {
    const fake = new FakeNodeUsb([ourBootloader('S1', { openError: 'LIBUSB_ERROR_ACCESS' })]);
    const error = await transport(fake)
      .device({ path: '1-1.4' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe('ACCESS_DENIED');
    expect((error as TransportError).name).toBe('SecurityError');
    expect((error as TransportError).libusb).toBe('LIBUSB_ERROR_ACCESS');
  });
});

describe('parseUsbId', () => {
  it('reads vvvv:pppp with wildcards', () => {
    expect(parseUsbId('1209:0001')).toEqual({ vendorId: 0x1209, productId: 1 });
    expect(parseUsbId('0483:DF11')).toEqual({ vendorId: 0x0483, productId: 0xdf11 });
    expect(parseUsbId('1209:*')).toEqual({ vendorId: 0x1209 });
    expect(parseUsbId(':df11')).toEqual({ productId: 0xdf11 });
  });

  it('refuses anything else', () => {
    expect(() => parseUsbId('1209')).toThrow(TypeError);
    expect(() => parseUsbId('12345:1')).toThrow(/vvvv:pppp/);
  });
});
