import { DfuError, isNotFoundError } from '@stm32dfu/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NodeUsbTransport, setupAdvice, TransportError } from '../src/index.js';
import { type FakeControl, FakeNodeUsb, foreignDfu, ourBootloader, stRom } from './fake-libusb.js';

const GETSTATUS_SETUP = {
  requestType: 'class',
  recipient: 'interface',
  request: 3,
  value: 0,
  index: 0,
} as const;

/** A DfuSe bootloader in dfuIDLE: configuration descriptor, GETSTATUS, Get Commands. */
function dfuseIdle(setup: FakeControl): Buffer | number | string {
  if (setup.bmRequestType === 0x80 && setup.bRequest === 6 && setup.wValue >> 8 === 2) {
    const bytes = Buffer.from([
      // configuration: 27 bytes, 1 interface, value 1
      9, 2, 27, 0, 1, 1, 0, 0x80, 50,
      // interface 0 alt 0: FE/01/02, iInterface 4
      9, 4, 0, 0, 0, 0xfe, 0x01, 0x02, 4,
      // DFU functional: can download/upload, manifestation tolerant, 255 ms, 2048, DfuSe
      9, 0x21, 0x07, 0xff, 0x00, 0x00, 0x08, 0x1a, 0x01,
    ]);
    return bytes.subarray(0, setup.dataOrLength as number);
  }
  if (setup.bmRequestType === 0xa1 && setup.bRequest === 3) return Buffer.from([0, 0, 0, 0, 2, 0]);
  if (setup.bmRequestType === 0xa1 && setup.bRequest === 5) return Buffer.from([2]);
  if (setup.bmRequestType === 0xa1 && setup.bRequest === 2) return Buffer.from([0x00, 0x21, 0x41]);
  if (setup.bmRequestType === 0x21) return 0;
  return 'LIBUSB_TRANSFER_STALL';
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the device in contract 2 shape', () => {
  it('opens, claims and selects the alt setting for the protocol, with a timeout on libusb', async () => {
    const fake = new FakeNodeUsb([ourBootloader('B1', { control: dfuseIdle })]);
    const t = new NodeUsbTransport({ usb: fake.module, platform: 'linux', timeoutMs: 1234 });
    const dfu = await t.open({ serialNumber: 'B1' });
    expect(dfu.mode).toBe('dfu');
    expect(dfu.dfuse).toBe(true);
    expect(dfu.transferSize).toBe(2048);
    expect(dfu.alternate.layout?.name).toBe('Internal Flash');
    expect(dfu.commands).toEqual([0x00, 0x21, 0x41]);
    expect(dfu.transferTimeoutMs).toBe(1234);
    const libusb = fake.devices[0]!;
    expect(libusb.timeout).toBe(1234);
    expect(libusb.calls).toContain('claim 0');
    expect(libusb.calls).toContain('alt 0 0');
    expect(libusb.calls).toContain('auto-detach true');
  });

  it('hands out one device object per device on the bus', async () => {
    const fake = new FakeNodeUsb([ourBootloader('B1')]);
    const t = new NodeUsbTransport({ usb: fake.module, platform: 'linux' });
    const a = await t.device({ serialNumber: 'B1' });
    const b = await t.device();
    expect(a).toBe(b);
    expect((await t.usb.getDevices())[0]).toBe(a);
  });

  it('detaches a kernel driver bound to the DFU interface on Linux, and says so', async () => {
    const fake = new FakeNodeUsb([ourBootloader('B1', { kernelDrivers: [0] })]);
    const detached: string[] = [];
    const t = new NodeUsbTransport({
      usb: fake.module,
      platform: 'linux',
      onKernelDriverDetached: (device, n) => detached.push(`${device} ${n}`),
    });
    const device = await t.device();
    await device.open();
    await device.claimInterface(0);
    expect(fake.devices[0]!.calls).toContain('detach-kernel-driver 0');
    expect(detached).toEqual(['1209:0001 at 1-1.4 0']);
    expect(device.configuration?.interfaces[0]?.claimed).toBe(true);
  });

  it('leaves kernel drivers alone elsewhere than Linux', async () => {
    const fake = new FakeNodeUsb([ourBootloader('B1', { kernelDrivers: [0] })]);
    const device = await new NodeUsbTransport({ usb: fake.module, platform: 'darwin' }).device();
    await device.open();
    await device.claimInterface(0);
    expect(fake.devices[0]!.calls).not.toContain('detach-kernel-driver 0');
  });

  it('reports a stall as WebUSB does, not as an error', async () => {
    const fake = new FakeNodeUsb([ourBootloader('B1', { control: () => 'LIBUSB_TRANSFER_STALL' })]);
    const device = await new NodeUsbTransport({ usb: fake.module, platform: 'linux' }).device();
    await device.open();
    expect((await device.controlTransferIn(GETSTATUS_SETUP, 6)).status).toBe('stall');
  });

  it('rejects with NotFoundError when the device has left the bus', async () => {
    const fake = new FakeNodeUsb([
      ourBootloader('B1', { control: () => 'LIBUSB_ERROR_NO_DEVICE' }),
    ]);
    const device = await new NodeUsbTransport({ usb: fake.module, platform: 'linux' }).device();
    await device.open();
    const error = await device.controlTransferIn(GETSTATUS_SETUP, 6).catch((e: unknown) => e);
    expect(isNotFoundError(error)).toBe(true);
    expect((error as TransportError).code).toBe('DEVICE_GONE');
  });

  it('calls an I/O error from a device no longer listed gone too', async () => {
    const fake = new FakeNodeUsb([ourBootloader('B1', { control: () => 'LIBUSB_ERROR_IO' })]);
    const device = await new NodeUsbTransport({ usb: fake.module, platform: 'linux' }).device();
    await device.open();
    const present = await device.controlTransferIn(GETSTATUS_SETUP, 6).catch((e: unknown) => e);
    expect((present as TransportError).code).toBe('TRANSFER');
    fake.unplug(fake.devices[0]!);
    const gone = await device.controlTransferIn(GETSTATUS_SETUP, 6).catch((e: unknown) => e);
    expect((gone as TransportError).name).toBe('NotFoundError');
  });

  it('treats a reset that re-enumerates the device as the device leaving', async () => {
    const fake = new FakeNodeUsb([ourBootloader('B1', { resetError: 'LIBUSB_ERROR_NOT_FOUND' })]);
    const device = await new NodeUsbTransport({ usb: fake.module, platform: 'win32' }).device();
    await device.open();
    const error = await device.reset().catch((e: unknown) => e);
    expect(isNotFoundError(error)).toBe(true);
  });

  it('times out a request that never completes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const fake = new FakeNodeUsb([ourBootloader('B1', { control: () => 'hang' })]);
    const t = new NodeUsbTransport({ usb: fake.module, platform: 'linux', timeoutMs: 200 });
    const device = await t.device();
    await device.open();
    const result = device.controlTransferIn(GETSTATUS_SETUP, 6).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1300);
    const error = (await result) as TransportError;
    expect(error.code).toBe('TIMEOUT');
    expect(error.name).toBe('TimeoutError');
    expect(error.message).toContain('200 ms');
  });

  it("maps libusb's own transfer timeout", async () => {
    const fake = new FakeNodeUsb([
      ourBootloader('B1', { control: () => 'LIBUSB_TRANSFER_TIMED_OUT' }),
    ]);
    const device = await new NodeUsbTransport({ usb: fake.module, platform: 'linux' }).device();
    await device.open();
    const error = await device.controlTransferIn(GETSTATUS_SETUP, 6).catch((e: unknown) => e);
    expect((error as TransportError).code).toBe('TIMEOUT');
  });

  it('says who else holds a busy interface, and the protocol keeps that as the cause', async () => {
    const fake = new FakeNodeUsb([
      ourBootloader('B1', { control: dfuseIdle, claimError: 'LIBUSB_ERROR_BUSY' }),
    ]);
    const t = new NodeUsbTransport({ usb: fake.module, platform: 'linux' });
    const error = await t.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DfuError);
    const cause = (error as DfuError).cause as TransportError;
    expect(cause.code).toBe('BUSY');
    expect(cause.libusb).toBe('LIBUSB_ERROR_BUSY');
    expect(cause.message).toContain('Claiming interface 0 of 1209:0001 at 1-1.4 failed');
    expect(cause.message).toContain('dfu-util');
    expect((error as DfuError).message).toContain('Claiming interface 0');
  });
});

describe('permission and driver advice', () => {
  async function openError(
    platform: NodeJS.Platform,
    spec: Parameters<FakeNodeUsb['plug']>[0],
  ): Promise<TransportError> {
    const fake = new FakeNodeUsb([spec]);
    const t = new NodeUsbTransport({ usb: fake.module, platform });
    const error = await t.device({ vendorId: spec.vendorId }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    return error as TransportError;
  }

  it('Linux: access denied points at the udev rule and how to install it', async () => {
    const error = await openError(
      'linux',
      ourBootloader('B', { openError: 'LIBUSB_ERROR_ACCESS' }),
    );
    expect(error.code).toBe('ACCESS_DENIED');
    expect(error.advice).toContain('udev');
    expect(error.advice).toContain('installUdevRules()');
    expect(error.advice).toContain('sudo udevadm control --reload-rules && sudo udevadm trigger');
    expect(error.advice).toContain('replug');
  });

  it('Linux: for a foreign device it says the rule must name its ids', async () => {
    const error = await openError('linux', foreignDfu('P', { openError: 'LIBUSB_ERROR_ACCESS' }));
    expect(error.advice).toContain('for 1d50:6017 add a line with its ids');
  });

  it('Windows: access denied means another program has the device', async () => {
    const error = await openError(
      'win32',
      ourBootloader('B', { openError: 'LIBUSB_ERROR_ACCESS' }),
    );
    expect(error.code).toBe('ACCESS_DENIED');
    expect(error.advice).toContain('one program at a time');
    expect(error.advice).not.toContain('udev');
  });

  it("Windows: ST's ROM without WinUSB needs Zadig or ST's driver", async () => {
    const error = await openError('win32', stRom('R', { openError: 'LIBUSB_ERROR_NOT_SUPPORTED' }));
    expect(error.code).toBe('NO_DRIVER');
    expect(error.name).toBe('NotSupportedError');
    expect(error.advice).toContain('Zadig');
    expect(error.advice).toContain('STM32CubeProgrammer');
  });

  it('Windows: our descriptors bind WinUSB, so a missing driver is a stale one', async () => {
    const error = await openError(
      'win32',
      ourBootloader('B', { openError: 'LIBUSB_ERROR_NOT_SUPPORTED' }),
    );
    expect(error.code).toBe('NO_DRIVER');
    expect(error.advice).toContain('MS OS 2.0');
    expect(error.advice).toContain('Device Manager');
  });

  it('macOS: nothing to install; a refusal means another program', async () => {
    expect(setupAdvice('darwin')).toContain('Nothing');
    const error = await openError(
      'darwin',
      ourBootloader('B', { openError: 'LIBUSB_ERROR_ACCESS' }),
    );
    expect(error.advice).toContain('Another program');
    expect(error.advice).not.toContain('udev');
  });

  it('Linux: LIBUSB_ERROR_NOT_SUPPORTED is not a driver problem there', async () => {
    const error = await openError('linux', stRom('R', { openError: 'LIBUSB_ERROR_NOT_SUPPORTED' }));
    expect(error.code).toBe('TRANSFER');
  });

  it('setup advice per system', () => {
    expect(setupAdvice('linux')).toContain('udev');
    expect(setupAdvice('win32')).toContain('WinUSB');
    expect(setupAdvice('win32')).toContain('Zadig');
  });
});

describe('no USB to look at', () => {
  it('lists nothing, with a diagnostic, when libusb cannot list (no usbfs)', async () => {
    const fake = new FakeNodeUsb([ourBootloader('B1')]);
    fake.listError = new Error('LIBUSB_ERROR_OTHER');
    const listing = await new NodeUsbTransport({ usb: fake.module, platform: 'linux' }).list();
    expect(listing.devices).toEqual([]);
    expect(listing.diagnostics.map((d) => d.code)).toEqual(['USB_UNAVAILABLE']);
    expect(listing.diagnostics[0]!.message).toContain('/dev/bus/usb');
  });

  it('lists nothing, with a diagnostic, when node-usb does not load', async () => {
    const t = new NodeUsbTransport({
      usb: () => Promise.reject(new Error('No native build was found for platform=plan9')),
      platform: 'linux',
    });
    const listing = await t.list();
    expect(listing.devices).toEqual([]);
    expect(listing.diagnostics[0]?.code).toBe('USB_UNAVAILABLE');
    expect(listing.diagnostics[0]?.message).toContain('prebuilt binary');
    const error = await t.select().catch((e: unknown) => e);
    expect((error as TransportError).code).toBe('NO_DEVICE');
    expect((error as TransportError).message).toContain('USB is not available');
  });
});
