import { SparseImage, stampImage } from '@stm32dfu/image-tools';
/**
 * Raw DFU 1.1 / DfuSe requests over the board's WebUSB-shaped device, written out here so
 * the board is tested without the protocol package.
 */
import type { UsbDeviceLike, VirtualBoard } from '../src/index.ts';

export const DNLOAD = 1;
export const UPLOAD = 2;
export const GETSTATUS = 3;
export const CLRSTATUS = 4;
export const GETSTATE = 5;
export const ABORT = 6;
export const DETACH = 0;

export const dfuIDLE = 2;
export const dfuDNBUSY = 4;
export const dfuDNLOAD_IDLE = 5;
export const dfuMANIFEST = 7;
export const dfuERROR = 10;
export const appIDLE = 0;

const classInterface = (request: number, value = 0) =>
  ({ requestType: 'class', recipient: 'interface', request, value, index: 0 }) as const;

export interface DfuStatus {
  status: number;
  pollTimeout: number;
  state: number;
}

export async function getStatus(device: UsbDeviceLike): Promise<DfuStatus> {
  const r = await device.controlTransferIn(classInterface(GETSTATUS), 6);
  if (r.status !== 'ok' || !r.data) throw new Error(`GETSTATUS ${r.status}`);
  const d = r.data;
  return {
    status: d.getUint8(0),
    pollTimeout: d.getUint8(1) | (d.getUint8(2) << 8) | (d.getUint8(3) << 16),
    state: d.getUint8(4),
  };
}

export async function dnload(device: UsbDeviceLike, block: number, data: Uint8Array) {
  return device.controlTransferOut(classInterface(DNLOAD, block), data);
}

/** GETSTATUS until the device leaves dfuDNBUSY/dfuMANIFEST, sleeping bwPollTimeout between. */
export async function pollUntilIdle(
  board: VirtualBoard,
  device: UsbDeviceLike,
): Promise<DfuStatus> {
  for (let i = 0; i < 100; i++) {
    const s = await getStatus(device);
    if (s.state !== dfuDNBUSY && s.state !== dfuMANIFEST) return s;
    await board.clock.sleep(s.pollTimeout);
  }
  throw new Error('device stayed busy');
}

/** A DfuSe command (DNLOAD block 0) and the GETSTATUS polling that runs it. */
export async function dfuseCommand(board: VirtualBoard, device: UsbDeviceLike, bytes: number[]) {
  const r = await dnload(device, 0, Uint8Array.from(bytes));
  if (r.status !== 'ok') throw new Error(`command ${bytes[0]} ${r.status}`);
  return pollUntilIdle(board, device);
}

export const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
export const setAddress = (b: VirtualBoard, d: UsbDeviceLike, a: number) =>
  dfuseCommand(b, d, [0x21, ...le32(a)]);
export const eraseSector = (b: VirtualBoard, d: UsbDeviceLike, a: number) =>
  dfuseCommand(b, d, [0x41, ...le32(a)]);

/** Open, claim interface 0 and select alt 0, as dfu-util does before any DFU request. */
export async function openDfu(device: UsbDeviceLike): Promise<void> {
  await device.open();
  if (!device.configuration) await device.selectConfiguration(1);
  await device.claimInterface(0);
  await device.selectAlternateInterface(0, 0);
}

/** Sleep on the board's clock until a device is enumerated (or throw after `limitMs`). */
export async function waitForDevice(board: VirtualBoard, limitMs = 2000): Promise<UsbDeviceLike> {
  for (let waited = 0; waited <= limitMs; waited += 10) {
    if (board.device) return board.device;
    await board.clock.sleep(10);
  }
  throw new Error(`no device after ${limitMs} ms (mode ${board.mode})`);
}

/** A plausible application: SP at the top of SRAM, Thumb reset handler, filler code. */
export function makeApplication(size: number, appBase = 0x08008000, seed = 1): Uint8Array {
  const image = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    image[i] = x >>> 24;
  }
  const view = new DataView(image.buffer);
  view.setUint32(0, 0x20020000, true);
  view.setUint32(4, (appBase + 0x200) | 1, true);
  image.fill(0, 0x1c, 0x2c); // reserved vector slots 7–10, where the stamp goes
  // Stamped by image-tools, as a user's build would be (contract 4).
  const region = { start: appBase, size: 480 * 1024 };
  const stamped = stampImage(SparseImage.fromBytes(appBase, image), region, { version: '1.2.3' });
  return stamped.read(appBase, stamped.end - appBase, 0xff);
}
