import { existsSync } from 'node:fs';
import { TimeoutError } from '@stm32dfu/protocol';
import { describe, expect, it } from 'vitest';
import { loadNodeUsb, NodeUsbTransport } from '../src/index.js';

// The real `usb` package on this machine. CI machines have no USB bus, so there is nothing
// to list; what matters is that loading node-usb and libusb, listing and a bounded search
// work (or become a diagnostic) instead of crashing.
describe('the real node-usb', () => {
  it('loads, and lists no DFU device here without throwing', async () => {
    const usb = await loadNodeUsb();
    expect(typeof usb.getDeviceList).toBe('function');
    const listing = await new NodeUsbTransport().list();
    expect(Array.isArray(listing.devices)).toBe(true);
    // Without usbfs there is no bus at all; on a workstation a board may be plugged in.
    if (!existsSync('/dev/bus/usb')) expect(listing.devices).toEqual([]);
    for (const d of listing.diagnostics) expect(d.code).toBe('USB_UNAVAILABLE');
  });

  it('searches under a deadline and lets go of the hotplug events', async () => {
    const transport = new NodeUsbTransport();
    const error = await transport
      .findBoard('NO-SUCH-BOARD', { timeoutMs: 150, intervalMs: 50 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    const usb = await import('usb');
    expect(usb.usb.listenerCount('attach')).toBe(0);
  });
});
