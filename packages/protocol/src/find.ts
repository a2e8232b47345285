import {
  DFU_INTERFACE_CLASS,
  DFU_INTERFACE_SUBCLASS,
  DFU_PROTOCOL_DFU_MODE,
  DFU_PROTOCOL_RUNTIME,
} from './constants.js';
import type { Clock, UsbConnectionListener, UsbDeviceLike, UsbLike } from './device.js';
import { TimeoutError } from './errors.js';
import { checkAborted, untilAborted, withDeadline } from './timing.js';

/** The DFU interface protocols a device exposes: 1 runtime (the application), 2 DFU mode. */
export function dfuProtocolsOf(device: UsbDeviceLike): Set<number> {
  const protocols = new Set<number>();
  for (const c of device.configurations) {
    for (const i of c.interfaces) {
      for (const a of i.alternates) {
        if (
          a.interfaceClass === DFU_INTERFACE_CLASS &&
          a.interfaceSubclass === DFU_INTERFACE_SUBCLASS
        ) {
          protocols.add(a.interfaceProtocol);
        }
      }
    }
  }
  return protocols;
}

/** Whether the device is in DFU mode: it has a DFU interface with the DFU-mode protocol. */
export function hasDfuModeInterface(device: UsbDeviceLike): boolean {
  return dfuProtocolsOf(device).has(DFU_PROTOCOL_DFU_MODE);
}

/** Whether the device runs an application that can be asked to detach into DFU mode. */
export function hasRuntimeInterface(device: UsbDeviceLike): boolean {
  return dfuProtocolsOf(device).has(DFU_PROTOCOL_RUNTIME);
}

/**
 * How to look for a board again by serial number after it has left the bus: which devices will do,
 * how long and how often to poll.
 */
export interface BoardSearch {
  readonly clock: Clock;
  readonly serialNumber: string;
  /** Which of the devices with that serial will do. */
  readonly accept: (device: UsbDeviceLike) => boolean;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  /** Named in the `TimeoutError`: "the board with serial … to come back …". */
  readonly what: string;
  /** The `AbortError` phase. */
  readonly phase: string;
  readonly signal?: AbortSignal | undefined;
  /** A device object to ignore (the one that just left the bus). */
  readonly exclude?: UsbDeviceLike | undefined;
}

/**
 * Find a board by serial number under a deadline on the injected clock: `usb.getDevices()`
 * every `intervalMs`, and at once when a `connect` event names that serial. An abort ends
 * the search at once (`AbortError`), even mid-`getDevices()`; `TimeoutError` at the
 * deadline.
 */
export async function searchBoard(usb: UsbLike, search: BoardSearch): Promise<UsbDeviceLike> {
  const { clock, signal, timeoutMs, what, phase } = search;
  const started = clock.now();
  let wake: AbortController | undefined;
  const onConnect: UsbConnectionListener = (event) => {
    if (event.device.serialNumber === search.serialNumber) wake?.abort();
  };
  usb.addEventListener('connect', onConnect);
  try {
    for (;;) {
      checkAborted(signal, phase);
      let devices: readonly UsbDeviceLike[];
      try {
        // getDevices() can hang in the OS; race it against the deadline and the signal.
        devices = await withDeadline(
          usb.getDevices(),
          clock,
          Math.max(1, timeoutMs - (clock.now() - started)),
          what,
          signal,
          phase,
        );
      } catch (error) {
        if (error instanceof TimeoutError) throw new TimeoutError(what, timeoutMs);
        throw error;
      }
      const found = devices.find(
        (d) => d !== search.exclude && d.serialNumber === search.serialNumber && search.accept(d),
      );
      if (found) return found;
      const left = timeoutMs - (clock.now() - started);
      // Under a microsecond left is none: clock arithmetic in fractions of a millisecond can
      // leave a remainder such as 2e-13 ms that a sleep never gets past.
      if (left < 0.001) throw new TimeoutError(what, timeoutMs);
      wake = new AbortController();
      // A connect event for the board ends the sleep early (on a clock that watches signals).
      const nap = clock.sleep(Math.min(search.intervalMs, left), wake.signal).catch(() => {});
      await untilAborted(nap, signal, phase);
      wake = undefined;
    }
  } finally {
    usb.removeEventListener?.('connect', onConnect);
  }
}
