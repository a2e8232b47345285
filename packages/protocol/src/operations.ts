import { readSignatureTrailer, crc32Stm32Words as stm32Crc } from '@stm32dfu/image-tools';
import { type DfuseLayout, type FlashTimings, formatSize, hex } from '@stm32dfu/layout';
import { DFUSE_FIRST_DATA_BLOCK } from './constants.js';
import type { Clock, UsbDeviceLike, UsbLike } from './device.js';
import {
  DfuDevice,
  type DfuOpenOptions,
  type LeaveOptions,
  type LeaveOutcome,
} from './dfu-device.js';
import {
  AddressError,
  DeviceGoneError,
  DfuError,
  DfuStatusError,
  LockedError,
  VerifyError,
} from './errors.js';
import { hasDfuModeInterface, searchBoard } from './find.js';
import { contentOf, type FlashImage, normalizeImage } from './image.js';
import {
  type CompareMethod,
  type FlashPlan,
  findSector,
  planFlash,
  touchedSectors,
} from './plan.js';
import type { OperationOptions, ProgressEvent, ProgressPhase } from './progress.js';
import { formatId, type SignedImageFacts } from './security.js';
import { checkAborted } from './timing.js';

/**
 * How a download is planned: comparing with the device first, and the numbers for the time
 * estimate.
 */
export interface PlanOptions {
  /** Compare each touched sector with the device and skip equal ones (default true). */
  readonly differential?: boolean;
  /** Datasheet timings for the plan's estimate (e.g. `getLayout(board).chip.timings`). */
  readonly timings?: FlashTimings;
  /** Sustained USB throughput for the estimate, bytes per millisecond. */
  readonly bytesPerMs?: number;
}

export interface DownloadOptions extends OperationOptions, PlanOptions {
  /** Check what was written (device CRC command, else read-back); default true. */
  readonly verify?: boolean;
  /** Leave DFU mode afterwards and start the application (default false). */
  readonly leave?: boolean;
  /**
   * With `leave`: where to find the board again (by serial) if a manifestation-tolerant
   * device leaves the bus during manifestation, to see whether it runs the application.
   */
  readonly usb?: UsbLike;
  /** How long to look for it, ms (default 10 s). */
  readonly reconnectTimeoutMs?: number;
}

/**
 * What `download` did: the plan it carried out, how the result was verified, and whether the
 * application was started.
 */
export interface DownloadResult {
  readonly plan: FlashPlan;
  readonly verified: CompareMethod;
  /** Whether the device left the bus after `leave`. */
  readonly left: boolean;
  /** With `leave`: how the host knows the application starts (`DfuDevice.leave`). */
  readonly outcome: LeaveOutcome | undefined;
}

function emit(options: OperationOptions, event: ProgressEvent): void {
  options.onProgress?.(event);
}

function progress(
  options: OperationOptions,
  phase: ProgressPhase,
  bytesDone: number,
  bytesTotal: number,
  address?: number,
  message?: string,
): void {
  const event: ProgressEvent = {
    phase,
    bytesDone,
    bytesTotal,
    ...(address === undefined ? {} : { address }),
    ...(message === undefined ? {} : { message }),
  };
  emit(options, event);
}

function requireDfuMode(device: DfuDevice, what: string): void {
  if (device.mode !== 'dfu') {
    throw new DfuError(
      'UNSUPPORTED',
      `${what} needs the device in DFU mode; it is running its application (runtime mode). Call detach() first.`,
    );
  }
}

function requireDfuse(device: DfuDevice, what: string): void {
  requireDfuMode(device, what);
  if (!device.dfuse) {
    throw new DfuError(
      'UNSUPPORTED',
      `${what} needs a DfuSe device (bcdDFUVersion 0x011A); this one speaks plain DFU ${device.functional.dfuVersion.toString(16)}. ` +
        'Use downloadPlain/uploadPlain.',
    );
  }
}

/** How this device can compare flash with expected content. */
function compareMethodOf(device: DfuDevice): CompareMethod {
  if (device.hasCrcCommand) return 'crc';
  return device.functional.canUpload ? 'read-back' : 'off';
}

/** What a sector of the device holds compared with what it should hold. */
type SectorMatch = 'equal' | 'blank' | 'different';

/**
 * Compare the device's sector with `expected`, and tell an erased sector apart, from the
 * same one CRC or read-back (the bootloader checks blankness again before programming, so a
 * CRC collision cannot make it program over old data).
 */
async function compareSector(
  device: DfuDevice,
  start: number,
  expected: Uint8Array,
  method: CompareMethod,
  signal: AbortSignal | undefined,
): Promise<SectorMatch> {
  if (method === 'crc') {
    const crc = await device.deviceCrc(start, expected.length, signal, 'read');
    if (crc === stm32Crc(expected)) return 'equal';
    return crc === stm32Crc(new Uint8Array(expected.length).fill(0xff)) ? 'blank' : 'different';
  }
  const actual = await device.readMemory(start, expected.length, signal);
  if (firstDifference(actual, expected) < 0) return 'equal';
  return actual.every((b) => b === 0xff) ? 'blank' : 'different';
}

/** True when the device's flash at `[start, start + expected.length)` equals `expected`. */
async function deviceHolds(
  device: DfuDevice,
  start: number,
  expected: Uint8Array,
  method: CompareMethod,
  signal: AbortSignal | undefined,
  phase: ProgressPhase,
): Promise<boolean> {
  if (method === 'crc') {
    return (await device.deviceCrc(start, expected.length, signal, phase)) === stm32Crc(expected);
  }
  const actual = await device.readMemory(start, expected.length, signal);
  return firstDifference(actual, expected) < 0;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/**
 * The plan for writing `image`: the sectors to erase or skip, the blocks to send. With
 * `differential` (the default) each touched sector is compared with the device first: by
 * its CRC command, or by reading the sector back; equal sectors are skipped.
 */
export async function planDownload(
  device: DfuDevice,
  image: FlashImage,
  options: PlanOptions & OperationOptions = {},
): Promise<FlashPlan> {
  requireDfuse(device, 'Planning a download');
  const layout = device.layout;
  const segments = normalizeImage(image);
  const sectors = touchedSectors(layout, segments);
  const base = {
    layout,
    transferSize: device.transferSize,
    ...(options.timings ? { timings: options.timings } : {}),
    ...(options.bytesPerMs ? { bytesPerMs: options.bytesPerMs } : {}),
  };
  const method = options.differential === false ? 'off' : compareMethodOf(device);
  if (method === 'off') return planFlash(image, { ...base, compare: 'off' });
  const unchanged = new Set<number>();
  const blank = new Set<number>();
  const total = sectors.reduce((n, s) => n + s.size, 0);
  let done = 0;
  progress(options, 'read', 0, total, undefined, 'comparing sectors with the device');
  await device.ensureIdle(options.signal, 'read');
  for (const sector of sectors) {
    checkAborted(options.signal, 'read');
    if (!sector.readable) continue;
    const expected = contentOf(segments, sector.start, sector.size).bytes;
    const match = await compareSector(device, sector.start, expected, method, options.signal);
    if (match === 'equal') unchanged.add(sector.start);
    else if (match === 'blank') blank.add(sector.start);
    done += sector.size;
    progress(options, 'read', done, total, sector.start, 'comparing sectors with the device');
  }
  return planFlash(image, { ...base, compare: method, unchanged, blank });
}

/**
 * Write a sparse image to a DfuSe device: plan, erase the changed sectors, write their blocks
 * (the block at the start of the writable region last), verify, and optionally leave.
 */
export async function download(
  device: DfuDevice,
  image: FlashImage,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  requireDfuse(device, 'Download');
  const { signal } = options;
  await device.ensureIdle(signal, 'erase');
  const plan = await planDownload(device, image, options);

  // Erase every changed sector first, in address order: the application's first sector goes
  // first, so from here until the last block the board has no bootable image.
  const toErase = plan.sectors.filter((s) => s.action === 'erase');
  let erased = 0;
  progress(options, 'erase', 0, plan.eraseBytes);
  for (const sector of toErase) {
    checkAborted(signal, 'erase');
    await device.eraseSector(sector.start, signal);
    erased += sector.size;
    progress(options, 'erase', erased, plan.eraseBytes, sector.start);
  }

  await writeBlocks(device, plan, options);

  let verified: CompareMethod = 'off';
  if (options.verify !== false && plan.sectors.some((s) => s.action !== 'skip')) {
    verified = compareMethodOf(device);
    if (verified !== 'off') await verifyPlan(device, image, plan, verified, options);
  }

  let left = false;
  let outcome: LeaveOutcome | undefined;
  if (options.leave) {
    try {
      const result = await device.leave(leaveOptions(options));
      left = result.gone;
      outcome = result.outcome;
    } catch (error) {
      throw withImageFacts(error, device.layout, image);
    }
  }
  return { plan, verified, left, outcome };
}

/**
 * A board's signature refusal names the image's key, board and counter: the device reports
 * only its verdict, the host knows which image it sent.
 */
function withImageFacts(error: unknown, layout: DfuseLayout, image: FlashImage): unknown {
  if (!(error instanceof DfuStatusError) || !error.refusal || error.refusal.image) return error;
  const writable = layout.sectors.filter((s) => s.writable);
  const first = writable[0];
  const last = writable[writable.length - 1];
  if (!first || !last) return error;
  const region = { start: first.start, size: last.end - first.start };
  const trailer = readSignatureTrailer(image, region);
  if (!trailer) return error;
  const facts: SignedImageFacts = {
    keyId: formatId(trailer.keyId),
    boardId: formatId(trailer.boardId),
    securityCounter: trailer.securityCounter,
  };
  return new DfuStatusError(error.status, error.state, error.operation, error.address, {
    ...error.refusal,
    image: facts,
  });
}

function leaveOptions(options: DownloadPlainOptions): LeaveOptions {
  return {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.usb ? { usb: options.usb } : {}),
    ...(options.reconnectTimeoutMs === undefined
      ? {}
      : { reconnectTimeoutMs: options.reconnectTimeoutMs }),
  };
}

/** Send the plan's blocks: one Set Address Pointer per run of consecutive blocks. */
async function writeBlocks(
  device: DfuDevice,
  plan: FlashPlan,
  options: OperationOptions,
): Promise<void> {
  const { signal } = options;
  const size = device.transferSize;
  let written = 0;
  let pointer = -1;
  let nextBlock = 0;
  let previousFull = false;
  progress(options, 'write', 0, plan.writeBytes);
  for (const block of plan.blocks) {
    checkAborted(signal, 'write');
    const contiguous =
      pointer >= 0 &&
      previousFull &&
      nextBlock < 0xffff &&
      block.address === pointer + (nextBlock - DFUSE_FIRST_DATA_BLOCK) * size;
    if (!contiguous) {
      await device.setAddress(block.address, signal, 'write');
      pointer = block.address;
      nextBlock = DFUSE_FIRST_DATA_BLOCK;
    }
    await device.dnload(nextBlock, block.data, 'write', block.address, signal, 'write');
    nextBlock++;
    previousFull = block.data.length === size;
    written += block.data.length;
    progress(options, 'write', written, plan.writeBytes, block.address);
  }
}

async function verifyPlan(
  device: DfuDevice,
  image: FlashImage,
  plan: FlashPlan,
  method: CompareMethod,
  options: OperationOptions,
): Promise<void> {
  const { signal } = options;
  const segments = normalizeImage(image);
  const sectors = plan.sectors.filter((s) => s.action !== 'skip');
  const total = sectors.reduce((n, s) => n + s.size, 0);
  let done = 0;
  progress(options, 'verify', 0, total);
  await device.ensureIdle(signal, 'verify');
  for (const sector of sectors) {
    checkAborted(signal, 'verify');
    const expected = contentOf(segments, sector.start, sector.size).bytes;
    if (!(await deviceHolds(device, sector.start, expected, method, signal, 'verify'))) {
      await verifySectorWithHeldBlock(device, plan, sector.start, expected, method, signal);
    }
    done += sector.size;
    progress(options, 'verify', done, total, sector.start);
  }
}

/** Our bootloader holds back this much at the application base (bootloader.h, flash.c). */
const DEVICE_HELD_BLOCK_BYTES = 2048;

/**
 * Our bootloader keeps the application's first block in RAM until manifestation (contract
 * 6), so before `leave` those bytes still read as erased. Accept exactly that: the rest of
 * the sector must match and the held bytes must be erased (they are checked by the
 * bootloader's stamp CRC at manifestation, which `leave` reports as errFIRMWARE).
 */
async function verifySectorWithHeldBlock(
  device: DfuDevice,
  plan: FlashPlan,
  start: number,
  expected: Uint8Array,
  method: CompareMethod,
  signal: AbortSignal | undefined,
): Promise<void> {
  const heldBlock = plan.blocks[plan.blocks.length - 1];
  if (plan.heldBackBlock !== start || !heldBlock) {
    throw await locateMismatch(device, start, expected, method, signal);
  }
  // Whole sectors only: a locked board answers no CRC of part of one. The sector as it is
  // before manifestation is the image with the held bytes still erased.
  const sizes = [...new Set([heldBlock.data.length, DEVICE_HELD_BLOCK_BYTES])].filter(
    (n) => n <= expected.length,
  );
  for (const n of sizes) {
    const held = expected.slice();
    held.fill(0xff, 0, n);
    if (await deviceHolds(device, start, held, method, signal, 'verify')) return;
  }
  throw await locateMismatch(device, start, expected, method, signal);
}

/** Build the VerifyError, reading the sector back to name the first differing address. */
async function locateMismatch(
  device: DfuDevice,
  start: number,
  expected: Uint8Array,
  method: CompareMethod,
  signal: AbortSignal | undefined,
): Promise<VerifyError> {
  if (!device.functional.canUpload) {
    return new VerifyError(
      start,
      `the ${formatSize(expected.length)} sector's ${method === 'crc' ? 'CRC' : 'content'} differs`,
    );
  }
  const actual = await device.readMemory(start, expected.length, signal);
  const at = firstDifference(actual, expected);
  if (at < 0)
    return new VerifyError(start, 'the device CRC differs although the bytes read back match');
  return new VerifyError(
    start + at,
    `read 0x${actual[at]!.toString(16).padStart(2, '0')}, expected 0x${expected[at]!.toString(16).padStart(2, '0')}`,
  );
}

/** A range of device memory to read: start address and length in bytes. */
export interface UploadRange {
  readonly address: number;
  readonly length: number;
}

/** Read ranges of device memory (DfuSe); returns them as image segments. */
export async function upload(
  device: DfuDevice,
  ranges: readonly UploadRange[],
  options: OperationOptions = {},
): Promise<FlashImage> {
  requireDfuse(device, 'Upload');
  if (!device.functional.canUpload) {
    const security = await device.readSecurity(options.signal).catch(() => undefined);
    if (security?.uploadLocked) throw new LockedError('read its flash');
    throw new DfuError(
      'UNSUPPORTED',
      'The device does not allow UPLOAD (bmAttributes bitCanUpload is 0), so its memory cannot be read over USB.',
    );
  }
  const layout = device.layout;
  for (const range of ranges) {
    if (!Number.isInteger(range.length) || range.length < 0 || !Number.isInteger(range.address)) {
      throw new AddressError(
        range.address,
        `Cannot read ${String(range.length)} bytes at ${Number.isInteger(range.address) ? hex(range.address) : String(range.address)}: ` +
          'the address and length must be whole numbers and the length not negative. Adjust the range.',
      );
    }
    for (let a = range.address; a < range.address + range.length; ) {
      const sector = findSector(layout, a);
      if (!sector?.readable) {
        throw new AddressError(
          a,
          `Cannot read ${hex(a)}: it is ${sector ? 'in a sector the device lists as not readable' : `outside the device's "${layout.name}" memory`}. ` +
            'Adjust the range.',
        );
      }
      a = sector.end;
    }
  }
  await device.ensureIdle(options.signal, 'read');
  const total = ranges.reduce((n, r) => n + r.length, 0);
  let before = 0;
  const segments: { address: number; data: Uint8Array }[] = [];
  progress(options, 'read', 0, total);
  for (const range of ranges) {
    const data = await device.readMemory(
      range.address,
      range.length,
      options.signal,
      (done, address) => progress(options, 'read', before + done, total, address),
    );
    before += range.length;
    segments.push({ address: range.address, data });
  }
  return { segments };
}

export interface MassEraseOptions extends OperationOptions {
  /** Send DfuSe's mass-erase command (whole chip on ST's ROM) instead of erasing sector by sector. */
  readonly force?: boolean;
  /** Only erase sectors inside this range; default every erasable sector the device lists. */
  readonly region?: { readonly start: number; readonly end: number };
}

/**
 * Erase the application region: every sector the device lists as erasable (our bootloader
 * lists its own sectors read-only), optionally limited to `region`. `force` sends the
 * mass-erase command instead, which on ST's ROM also wipes anything else in flash.
 */
export async function massErase(
  device: DfuDevice,
  options: MassEraseOptions = {},
): Promise<number> {
  requireDfuse(device, 'Mass erase');
  const { signal } = options;
  const layout = device.layout;
  await device.ensureIdle(signal, 'erase');
  const total = layout.sectors.reduce((n, s) => n + s.size, 0);
  if (options.force) {
    progress(options, 'erase', 0, total, undefined, 'mass erase');
    await device.eraseAll(signal);
    progress(options, 'erase', total, total, undefined, 'mass erase');
    return total;
  }
  const region = options.region;
  const sectors = layout.sectors.filter(
    (s) => s.erasable && (!region || (s.start >= region.start && s.end <= region.end)),
  );
  const bytes = sectors.reduce((n, s) => n + s.size, 0);
  let done = 0;
  progress(options, 'erase', 0, bytes);
  for (const s of sectors) {
    checkAborted(signal, 'erase');
    await device.eraseSector(s.start, signal);
    done += s.size;
    progress(options, 'erase', done, bytes, s.start);
  }
  return bytes;
}

export interface DownloadPlainOptions extends OperationOptions {
  /** Where to find the board again if a manifestation-tolerant device leaves during manifestation. */
  readonly usb?: UsbLike;
  /** How long to look for it, ms (default 10 s). */
  readonly reconnectTimeoutMs?: number;
}

/**
 * Plain DFU 1.1 download (no DfuSe): the image as one stream, blocks numbered from 0, then
 * the zero-length DNLOAD that starts manifestation (DFU 1.1 §7). Gaps between segments are
 * sent as 0xFF; the device decides where the stream goes. The outcome follows the rule of
 * `DfuDevice.leave`; a tolerant device back in dfuIDLE stays there (`gone: false`).
 */
export async function downloadPlain(
  device: DfuDevice,
  image: FlashImage,
  options: DownloadPlainOptions = {},
): Promise<{ gone: boolean; outcome: LeaveOutcome }> {
  requireDfuMode(device, 'Download');
  const segments = normalizeImage(image);
  const first = segments[0]!;
  const last = segments[segments.length - 1]!;
  const { bytes } = contentOf(
    segments,
    first.address,
    last.address + last.data.length - first.address,
  );
  const { signal } = options;
  await device.ensureIdle(signal, 'write');
  const size = device.transferSize;
  let block = 0;
  progress(options, 'write', 0, bytes.length);
  for (let offset = 0; offset < bytes.length; offset += size) {
    checkAborted(signal, 'write');
    const chunk = bytes.subarray(offset, Math.min(offset + size, bytes.length));
    await device.dnload(block & 0xffff, chunk, 'write', undefined, signal, 'write');
    block++;
    progress(options, 'write', offset + chunk.length, bytes.length);
  }
  const end = await device.endDownload(block & 0xffff, signal);
  if (end.end === 'idle') return { gone: false, outcome: 'reported' };
  if (end.end === 'left') return { gone: true, outcome: 'assumed' };
  return {
    gone: true,
    outcome: await device.findAfterManifestation({ ...leaveOptions(options), cause: end.cause }),
  };
}

/** Plain DFU 1.1 upload: blocks from 0 until a short frame, at most `maxBytes`. */
export async function uploadPlain(
  device: DfuDevice,
  options: OperationOptions & { readonly maxBytes?: number } = {},
): Promise<Uint8Array> {
  requireDfuMode(device, 'Upload');
  const { signal } = options;
  const max = options.maxBytes ?? 16 * 1024 * 1024;
  await device.ensureIdle(signal, 'read');
  const size = device.transferSize;
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let block = 0; total < max; block++) {
    checkAborted(signal, 'read');
    const want = Math.min(size, max - total);
    const data = await device.uploadBlock(block & 0xffff, want, signal, 'read');
    parts.push(data.slice());
    total += data.length;
    progress(options, 'read', total, max);
    if (data.length < want) break;
  }
  await device.abort(signal).catch(() => {});
  // The size is known only now (a short frame ended the memory): close the stream at it.
  progress(options, 'read', total, total);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * How `findDfuDevice` waits for a board to come back: the clock, deadline, poll interval and abort
 * signal.
 */
export interface FindOptions {
  readonly clock: Clock;
  /** How long to look, ms (default 10 s). */
  readonly timeoutMs?: number;
  /** Between `getDevices()` polls, ms (default 100). */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  /** A device object to ignore (the one that just left the bus). */
  readonly exclude?: UsbDeviceLike;
}

/**
 * Find the board with `serialNumber` in DFU mode, polling `usb.getDevices()` on the
 * injected clock (and at once on a `connect` event for that serial) until the deadline:
 * after DETACH the board re-enumerates as a new device.
 */
export function findDfuDevice(
  usb: UsbLike,
  serialNumber: string,
  options: FindOptions,
): Promise<UsbDeviceLike> {
  return searchBoard(usb, {
    clock: options.clock,
    serialNumber,
    accept: hasDfuModeInterface,
    timeoutMs: options.timeoutMs ?? 10_000,
    intervalMs: options.intervalMs ?? 100,
    what: `the board with serial ${serialNumber} to come back in DFU mode`,
    phase: 'detach',
    signal: options.signal,
    exclude: options.exclude,
  });
}

/** How `detach` finds the board again in DFU mode and opens it. */
export interface DetachOptions extends Omit<DfuOpenOptions, 'clock'> {
  readonly usb: UsbLike;
  /** How long to wait for the board to come back, ms (default 10 s). */
  readonly timeoutMs?: number;
}

/**
 * Runtime → DFU mode: DFU_DETACH, then a bus reset unless the device detaches by itself
 * (bitWillDetach), then find the same board (by serial number) in DFU mode and open it.
 */
export async function detach(device: DfuDevice, options: DetachOptions): Promise<DfuDevice> {
  if (device.mode === 'dfu') return device;
  const serial = device.serialNumber;
  if (!serial) {
    throw new DfuError(
      'UNSUPPORTED',
      'The device has no serial number, so it cannot be found again after DETACH; enter DFU mode another way (button, Boot0).',
    );
  }
  const { signal } = options;
  try {
    await device.detachRequest(device.functional.detachTimeoutMs || 1000, signal);
    if (!device.functional.willDetach) await device.usb.reset();
  } catch (error) {
    // Leaving the bus is what DETACH is for: a device gone now is the expected outcome.
    if (!(error instanceof DeviceGoneError) && !isGoneLike(error)) throw error;
  }
  const again = await findDfuDevice(options.usb, serial, {
    clock: device.clock,
    exclude: device.usb,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(signal ? { signal } : {}),
  });
  return DfuDevice.open(again, { ...options, clock: device.clock });
}

function isGoneLike(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'NotFoundError'
  );
}
