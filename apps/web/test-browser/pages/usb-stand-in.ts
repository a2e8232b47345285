/**
 * A stand-in for `navigator.usb` (test builds only): the chooser hands out a virtual board's
 * device, as a person picking the board in Chromium's dialog would. The board keeps running
 * on real time, so a detached application comes back on the bus by itself, as a real board does.
 */
import type { UsbConnectionListener, UsbDeviceLike } from '@stm32dfu/usb-device';
import { createVirtualBoard, type VirtualBoard } from '@stm32dfu/virtual-board';

export interface StandInOptions {
  /** A stamped application written to the board before it starts (base64), so it boots into it. */
  readonly appBase64?: string;
  readonly appAddress?: number;
  /** Extra real time per control transfer, so an install lasts long enough to cancel. */
  readonly transferDelayMs?: number;
  /**
   * Lock the board with these raw Ed25519 public keys (64 hex digits each), as a chip built
   * with them: it installs only images signed by one of them and refuses rolled-back ones.
   */
  readonly signingKeys?: readonly string[];
}

export interface StandIn {
  readonly board: VirtualBoard;
  /** How many times the page opened the chooser. */
  readonly chooserOpened: number;
  /** SHA-256 of the board's whole flash (hex): unchanged when nothing was written. */
  flashSha256(): Promise<string>;
  getDevices(): Promise<UsbDeviceLike[]>;
  requestDevice(options: { filters: unknown[] }): Promise<UsbDeviceLike>;
  addEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
  removeEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function createStandIn(options: StandInOptions = {}): Promise<StandIn> {
  const board = await createVirtualBoard({
    board: 'blackpill-f411',
    powered: false,
    ...(options.signingKeys ? { signing: { keys: options.signingKeys, required: true } } : {}),
  });
  if (options.appBase64) {
    const app = Uint8Array.from(atob(options.appBase64), (c) => c.charCodeAt(0));
    board.flash.set(app, (options.appAddress ?? 0x08008000) - board.flashBase);
  }
  board.power(true);
  // The board's clock follows real time between the host's transfers (which move it on).
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    board.clock.advanceTo(board.clock.now() + (now - last));
    last = now;
  }, 5);
  for (let i = 0; i < 200 && !board.device; i++) await sleep(5);

  const delay = options.transferDelayMs ?? 0;
  const wrapped = new WeakMap<UsbDeviceLike, UsbDeviceLike>();
  const wrap = (device: UsbDeviceLike): UsbDeviceLike => {
    if (delay === 0) return device;
    let proxy = wrapped.get(device);
    if (!proxy) {
      proxy = new Proxy(device, {
        get(target, key) {
          const value = Reflect.get(target, key, target);
          if (typeof value !== 'function') return value;
          if (key === 'controlTransferOut' || key === 'controlTransferIn') {
            return async (...args: unknown[]) => {
              await sleep(delay);
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          }
          return (value as (...a: unknown[]) => unknown).bind(target);
        },
      });
      wrapped.set(device, proxy);
    }
    return proxy;
  };
  const listeners = new Map<UsbConnectionListener, UsbConnectionListener>();
  let chooserOpened = 0;
  return {
    board,
    get chooserOpened() {
      return chooserOpened;
    },
    flashSha256: async () => {
      const digest = await crypto.subtle.digest('SHA-256', board.flash.slice());
      return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
    },
    getDevices: async () => (await board.usb.getDevices()).map(wrap),
    requestDevice: async () => {
      chooserOpened++;
      if (!board.device) throw new DOMException('No device selected.', 'NotFoundError');
      return wrap(board.device);
    },
    addEventListener: (type, listener) => {
      const mapped: UsbConnectionListener = (event) =>
        listener({ ...event, device: wrap(event.device) });
      listeners.set(listener, mapped);
      board.usb.addEventListener(type, mapped);
    },
    removeEventListener: (type, listener) => {
      const mapped = listeners.get(listener);
      if (mapped) board.usb.removeEventListener?.(type, mapped);
    },
  };
}
