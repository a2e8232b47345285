import { type DfuError, TimeoutError } from '@stm32dfu/protocol';
import { describe, expect, it } from 'vitest';
import { NodeUsbTransport } from '../src/index.js';
import { FakeNodeUsb, ourApplication, ourBootloader } from './fake-libusb.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('finding the board again', () => {
  it('finds the bootloader by serial after the application detaches, on the attach event', async () => {
    const fake = new FakeNodeUsb([
      ourApplication('BOARD1'),
      ourBootloader('OTHER', { ports: [2] }),
    ]);
    const t = new NodeUsbTransport({ usb: fake.module, platform: 'linux' });
    const app = await t.device({ serialNumber: 'BOARD1' });
    const started = performance.now();
    // A long poll interval: only the attach event can end the wait quickly.
    const search = t.findBoard('BOARD1', { mode: 'dfu', intervalMs: 5000, exclude: app });
    await tick(20);
    fake.unplug(fake.devices[0]!);
    await tick(20);
    const back = fake.plug(ourBootloader('BOARD1', { ports: [1, 4], address: 12 }));
    const found = await search;
    expect(performance.now() - started).toBeLessThan(2000);
    expect(found).not.toBe(app);
    expect(found.libusb).toBe(back);
    expect(found.serialNumber).toBe('BOARD1');
    expect(fake.events.listenerCount('attach')).toBe(0);
  });

  it('finds it by polling when libusb gives no hotplug events', async () => {
    const fake = new FakeNodeUsb([]);
    const t = new NodeUsbTransport({ usb: fake.module, platform: 'darwin' });
    const search = t.findBoard('BOARD1', { mode: 'dfu', intervalMs: 10 });
    await tick(30);
    fake.plug(ourBootloader('BOARD1'), false);
    expect((await search).serialNumber).toBe('BOARD1');
  });

  it('waits for the application after a leave, ignoring the bootloader with that serial', async () => {
    const fake = new FakeNodeUsb([ourBootloader('BOARD1')]);
    const t = new NodeUsbTransport({ usb: fake.module, platform: 'linux' });
    const search = t.findBoard('BOARD1', { mode: 'runtime', intervalMs: 10 });
    await tick(30);
    fake.unplug(fake.devices[0]!);
    fake.plug(ourApplication('BOARD1'));
    const found = await search;
    expect(found.deviceVersionMajor).toBe(1);
    expect(found.configurations[0]?.interfaces[0]?.alternates[0]?.interfaceProtocol).toBe(1);
  });

  it('keeps looking while udev has not yet given the user the new device', async () => {
    const fake = new FakeNodeUsb([]);
    const t = new NodeUsbTransport({ usb: fake.module, platform: 'linux' });
    const search = t.findBoard('BOARD1', { mode: 'dfu', intervalMs: 10, timeoutMs: 2000 });
    const device = fake.plug(ourBootloader('BOARD1', { openError: 'LIBUSB_ERROR_ACCESS' }));
    await tick(40);
    device.spec.openError = undefined;
    expect((await search).libusb).toBe(device);
  });

  it('gives up at the deadline with a TimeoutError naming the board', async () => {
    const fake = new FakeNodeUsb([ourApplication('BOARD1')]);
    const t = new NodeUsbTransport({ usb: fake.module, platform: 'linux' });
    const error = await t
      .findBoard('BOARD1', { mode: 'dfu', timeoutMs: 60, intervalMs: 10 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as DfuError).code).toBe('TIMEOUT');
    expect((error as Error).message).toContain('serial BOARD1 to come back in DFU mode');
    expect(fake.events.listenerCount('attach')).toBe(0);
  });

  it('stops at once when aborted', async () => {
    const fake = new FakeNodeUsb([]);
    const t = new NodeUsbTransport({ usb: fake.module, platform: 'linux' });
    const controller = new AbortController();
    const search = t.findBoard('BOARD1', { signal: controller.signal, intervalMs: 1000 });
    await tick(10);
    controller.abort();
    const error = await search.catch((e: unknown) => e);
    expect((error as DfuError).code).toBe('ABORTED');
  });

  it('tells connect and disconnect listeners about DFU devices', async () => {
    const fake = new FakeNodeUsb([]);
    const t = new NodeUsbTransport({ usb: fake.module, platform: 'linux' });
    const seen: string[] = [];
    const onConnect = (e: { device: { serialNumber?: string | null } }) =>
      seen.push(`+${e.device.serialNumber}`);
    const onDisconnect = (e: { device: { serialNumber?: string | null } }) =>
      seen.push(`-${e.device.serialNumber}`);
    t.usb.addEventListener('connect', onConnect);
    t.usb.addEventListener('disconnect', onDisconnect);
    await tick(0);
    const d = fake.plug(ourBootloader('B1'));
    await tick(10);
    fake.unplug(d);
    t.usb.removeEventListener?.('connect', onConnect);
    t.usb.removeEventListener?.('disconnect', onDisconnect);
    await tick(0);
    expect(seen).toEqual(['+B1', '-B1']);
    expect(fake.events.listenerCount('attach') + fake.events.listenerCount('detach')).toBe(0);
  });
});
