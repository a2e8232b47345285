/**
 * The host side of the libusb-1.0 stand-in (firmware/virtual-usb/libusb_standin.c): it
 * serves one virtual board to native libusb programs — dfu-util, or any other — over a
 * Unix socket, so they drive the bootloader's own C core as they would a board on a cable.
 *
 * Each libusb call becomes one request (docs/virtual-usb.md has the wire format): the
 * device list is the board's enumerated device, if any, with the descriptors it sent;
 * transfers, interface claims and port resets go to the board's `UsbDeviceLike` device,
 * and the program's sleeps advance the board's virtual clock, so every duration is the
 * board's and the same on every run.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { UsbControlSetup } from '@stm32dfu/usb-device';
import type { VirtualBoard } from './board.js';
import type { VirtualUsbDevice } from './usb-device.js';

/** libusb's error codes (libusb.h `enum libusb_error`). */
export const LIBUSB_ERROR = {
  IO: -1,
  INVALID_PARAM: -2,
  ACCESS: -3,
  NO_DEVICE: -4,
  NOT_FOUND: -5,
  BUSY: -6,
  TIMEOUT: -7,
  OVERFLOW: -8,
  PIPE: -9,
  OTHER: -99,
} as const;

const OP = {
  LIST: 1,
  OPEN: 2,
  CLOSE: 3,
  CLAIM: 4,
  RELEASE: 5,
  SET_ALT: 6,
  CONTROL: 7,
  RESET: 8,
  SLEEP: 9,
} as const;

/** The bus the board hangs on, as `dfu-util -l` prints it: bus 1, port 1 ("1-1"). */
const BUS_NUMBER = 1;
const PORT_PATH = [1];
const REQUEST_TYPES = ['standard', 'class', 'vendor'] as const;
const RECIPIENTS = ['device', 'interface', 'endpoint', 'other'] as const;

/** One request a program made, for logs and tests: when, what, and what it got. */
export interface VirtualUsbCall {
  readonly t: number;
  readonly op: keyof typeof OP;
  readonly result: number;
  /** CONTROL: the setup packet as hex, e.g. "21 01 0002 0000 0800". */
  readonly setup?: string;
}

export interface VirtualUsbHostOptions {
  /** Record every call in `calls` (default false). */
  readonly record?: boolean;
}

export class VirtualUsbHost {
  readonly board: VirtualBoard;
  readonly calls: VirtualUsbCall[] = [];
  readonly #record: boolean;
  readonly #ids = new WeakMap<VirtualUsbDevice, number>();
  readonly #devices = new Map<number, VirtualUsbDevice>();
  readonly #opens = new Map<number, number>();
  #nextId = 1;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();

  constructor(board: VirtualBoard, options: VirtualUsbHostOptions = {}) {
    this.board = board;
    this.#record = options.record ?? false;
  }

  /** Listen on a Unix socket at `path` (the program finds it in STM32DFU_VUSB_SOCKET). */
  listen(path: string): Promise<void> {
    const server = createServer((socket) => this.#serve(socket));
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Handle one request payload; returns the reply payload (i32 result, then data). */
  async handle(request: Uint8Array): Promise<Uint8Array> {
    const view = new DataView(request.buffer, request.byteOffset, request.byteLength);
    const op = request[0];
    const t = this.board.clock.now();
    let reply: { result: number; data?: Uint8Array; setup?: string };
    try {
      reply = await this.#dispatch(op ?? 0, view, request);
    } catch (error) {
      reply = { result: libusbError(error) };
    }
    if (this.#record) {
      const name = (Object.keys(OP) as (keyof typeof OP)[]).find((k) => OP[k] === op) ?? 'LIST';
      this.calls.push({
        t,
        op: name,
        result: reply.result,
        ...(reply.setup ? { setup: reply.setup } : {}),
      });
    }
    const data = reply.data ?? new Uint8Array(0);
    const out = new Uint8Array(4 + data.length);
    new DataView(out.buffer).setInt32(0, reply.result, true);
    out.set(data, 4);
    return out;
  }

  // ---- Internals ----

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    let pending = Buffer.alloc(0);
    let chain = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const length = pending.readUInt32LE(0);
        if (pending.length < 4 + length) break;
        const frame = new Uint8Array(pending.subarray(4, 4 + length));
        pending = pending.subarray(4 + length);
        // One request at a time, in order, as the program issued them.
        chain = chain.then(async () => {
          const reply = await this.handle(frame);
          const header = Buffer.alloc(4);
          header.writeUInt32LE(reply.length, 0);
          if (!socket.destroyed) socket.write(Buffer.concat([header, reply]));
        });
      }
    });
    socket.on('close', () => {
      this.#sockets.delete(socket);
    });
    socket.on('error', () => socket.destroy());
  }

  #idOf(device: VirtualUsbDevice): number {
    let id = this.#ids.get(device);
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(device, id);
      this.#devices.set(id, device);
    }
    return id;
  }

  #device(view: DataView): { id: number; device: VirtualUsbDevice } {
    const id = view.getUint32(1, true);
    const device = this.#devices.get(id);
    if (!device || device.gone) throw new HostError(LIBUSB_ERROR.NO_DEVICE);
    return { id, device };
  }

  async #dispatch(
    op: number,
    view: DataView,
    request: Uint8Array,
  ): Promise<{ result: number; data?: Uint8Array; setup?: string }> {
    switch (op) {
      case OP.LIST:
        return this.#list();
      case OP.OPEN: {
        const { id, device } = this.#device(view);
        const opens = this.#opens.get(id) ?? 0;
        if (opens === 0) await device.open();
        this.#opens.set(id, opens + 1);
        return { result: 0 };
      }
      case OP.CLOSE: {
        const id = view.getUint32(1, true);
        const opens = (this.#opens.get(id) ?? 1) - 1;
        this.#opens.set(id, opens);
        const device = this.#devices.get(id);
        if (opens <= 0 && device && !device.gone) await device.close();
        return { result: 0 };
      }
      case OP.CLAIM:
        await this.#device(view).device.claimInterface(view.getUint8(5));
        return { result: 0 };
      case OP.RELEASE:
        await this.#device(view).device.releaseInterface(view.getUint8(5));
        return { result: 0 };
      case OP.SET_ALT:
        await this.#device(view).device.selectAlternateInterface(
          view.getUint8(5),
          view.getUint8(6),
        );
        return { result: 0 };
      case OP.CONTROL:
        return this.#control(view, request);
      case OP.RESET: {
        const id = view.getUint32(1, true);
        const device = this.#devices.get(id);
        // libusb on Linux (USBDEVFS_RESET): a device that is gone before or during the
        // reset is LIBUSB_ERROR_NOT_FOUND; one that came through it is reset, even if it
        // leaves the bus right after (our bootloader starts a manifested application then).
        if (!device || device.gone) return { result: LIBUSB_ERROR.NOT_FOUND };
        try {
          await device.reset();
        } catch (error) {
          if (libusbError(error) === LIBUSB_ERROR.NO_DEVICE)
            return { result: LIBUSB_ERROR.NOT_FOUND };
          throw error;
        }
        return { result: 0 };
      }
      case OP.SLEEP: {
        const ns = view.getUint32(1, true) + view.getUint32(5, true) * 2 ** 32;
        await this.board.clock.sleep(ns / 1e6);
        return { result: 0 };
      }
      default:
        return { result: LIBUSB_ERROR.INVALID_PARAM };
    }
  }

  async #list(): Promise<{ result: number; data: Uint8Array }> {
    const devices = await this.board.usb.getDevices();
    const parts: Uint8Array[] = [];
    for (const device of devices as VirtualUsbDevice[]) {
      const id = this.#idOf(device);
      const { device: dd, configuration } = device.descriptors;
      const entry = new Uint8Array(7 + PORT_PATH.length + 4 + dd.length + configuration.length);
      const v = new DataView(entry.buffer);
      v.setUint32(0, id, true);
      entry[4] = BUS_NUMBER;
      // Linux numbers devices in the order they enumerate; 1 is the root hub.
      entry[5] = ((id - 1) % 126) + 2;
      entry[6] = PORT_PATH.length;
      entry.set(PORT_PATH, 7);
      let at = 7 + PORT_PATH.length;
      v.setUint16(at, dd.length, true);
      entry.set(dd, at + 2);
      at += 2 + dd.length;
      v.setUint16(at, configuration.length, true);
      entry.set(configuration, at + 2);
      parts.push(entry);
    }
    return { result: parts.length, data: concat(parts) };
  }

  async #control(
    view: DataView,
    request: Uint8Array,
  ): Promise<{ result: number; data?: Uint8Array; setup?: string }> {
    const bmRequestType = view.getUint8(5);
    const bRequest = view.getUint8(6);
    const value = view.getUint16(7, true);
    const index = view.getUint16(9, true);
    const length = view.getUint16(11, true);
    const timeoutMs = view.getUint32(13, true);
    const setupText = [
      hex(bmRequestType, 2),
      hex(bRequest, 2),
      hex(value, 4),
      hex(index, 4),
      hex(length, 4),
    ].join(' ');
    const requestType = REQUEST_TYPES[(bmRequestType >> 5) & 3];
    const recipient = RECIPIENTS[bmRequestType & 0x1f];
    if (!requestType || !recipient) return { result: LIBUSB_ERROR.INVALID_PARAM, setup: setupText };
    const { device } = this.#device(view);
    const setup: UsbControlSetup = { requestType, recipient, request: bRequest, value, index };
    try {
      if (bmRequestType & 0x80) {
        const r = await device.controlTransferIn(setup, length);
        if (r.status === 'stall') return { result: LIBUSB_ERROR.PIPE, setup: setupText };
        if (r.status === 'babble') return { result: LIBUSB_ERROR.OVERFLOW, setup: setupText };
        const data = r.data
          ? new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength)
          : new Uint8Array(0);
        return { result: data.length, data: data.slice(), setup: setupText };
      }
      const payload = request.subarray(17, 17 + length);
      const r = await device.controlTransferOut(setup, payload);
      if (r.status === 'stall') return { result: LIBUSB_ERROR.PIPE, setup: setupText };
      return { result: r.bytesWritten, setup: setupText };
    } catch (error) {
      const code = libusbError(error);
      // The host waited for its timeout before it gave up.
      if (code === LIBUSB_ERROR.TIMEOUT && timeoutMs > 0) await this.board.clock.sleep(timeoutMs);
      return { result: code, setup: setupText };
    }
  }
}

class HostError extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`libusb error ${code}`);
    this.code = code;
  }
}

/** What libusb on Linux returns for what a WebUSB-shaped device throws. */
function libusbError(error: unknown): number {
  if (error instanceof HostError) return error.code;
  const name = (error as { name?: string } | null)?.name;
  if (name === 'NotFoundError') return LIBUSB_ERROR.NO_DEVICE;
  if (name === 'NetworkError') return LIBUSB_ERROR.TIMEOUT;
  if (name === 'InvalidStateError') return LIBUSB_ERROR.IO;
  if (error instanceof TypeError) return LIBUSB_ERROR.INVALID_PARAM;
  return LIBUSB_ERROR.OTHER;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}
