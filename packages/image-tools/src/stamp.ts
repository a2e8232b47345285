import type { BoardLayout } from '@stm32dfu/layout';
import { crc32Stm32Words } from './checksums.js';
import { hex, ImageError } from './errors.js';
import { type ImageLike, SparseImage } from './sparse-image.js';

/** Architecture contract 4: a 16-byte descriptor in the reserved vector slots 7–10. */
export const STAMP_OFFSET = 0x1c;
/** The stamp's first word (offset 0x1C): bytes "STMP". */
export const STAMP_MAGIC = 0x504d5453; // bytes 53 54 4D 50, "STMP"
/**
 * Offset from the application base of the stamp's length word: bytes of the image the CRC covers.
 */
export const STAMP_LENGTH_OFFSET = 0x20;
/** Offset from the application base of the stamp's CRC word, the one word the CRC skips. */
export const STAMP_CRC_OFFSET = 0x24;
/** Offset from the application base of the stamp's version word. */
export const STAMP_VERSION_OFFSET = 0x28;
/** Smallest valid `length`: the vector table up to and including the stamp. */
export const STAMP_MIN_LENGTH = 0x2c;

/**
 * The four words of an application stamp, as written at `STAMP_OFFSET` and checked by the
 * bootloader before it starts the application.
 */
export interface AppStamp {
  readonly magic: number;
  readonly length: number;
  readonly crc: number;
  /** `major << 24 | minor << 16 | patch`. */
  readonly version: number;
}

/**
 * What the bootloader concludes about an application's stamp: `valid`, or the first check that
 * failed.
 */
export type StampVerdict = 'valid' | 'bad-magic' | 'bad-length' | 'bad-crc';

/**
 * The result of `verifyStamp`: the verdict, the stamp as found, the CRC computed and a sentence
 * explaining it.
 */
export interface StampCheck {
  readonly verdict: StampVerdict;
  /** The four fields as found (erased flash reads 0xFFFFFFFF). */
  readonly stamp: AppStamp;
  /** The CRC the image computes to, when `length` was usable. */
  readonly computedCrc?: number;
  /** One sentence for people. */
  readonly message: string;
}

/** The application region a stamp belongs to. */
export interface StampRegion {
  readonly start: number;
  readonly size: number;
}

/** An application version as `0x01020003`, `"1.2.3"` or `{ major, minor, patch }`. */
export type VersionInput = number | string | { major: number; minor: number; patch: number };

function regionOf(target: BoardLayout | StampRegion): StampRegion {
  if ('partitions' in target) {
    const app = target.partitions.application;
    return { start: app.start, size: app.size };
  }
  return target;
}

/** `1.2.3` ↔ `0x01020003`. */
export function encodeVersion(version: VersionInput): number {
  let parts: { major: number; minor: number; patch: number };
  if (typeof version === 'number') {
    if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) {
      throw new ImageError(
        'INVALID_ARGUMENT',
        `Version ${version} is not a 32-bit value like 0x01020003.`,
      );
    }
    return version >>> 0;
  }
  if (typeof version === 'string') {
    const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(version.trim());
    if (!m) {
      throw new ImageError(
        'INVALID_ARGUMENT',
        `Version "${version}" is not major.minor.patch, e.g. 1.2.3.`,
      );
    }
    parts = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
  } else {
    parts = version;
  }
  const { major, minor, patch } = parts;
  if (major > 0xff || minor > 0xff || patch > 0xffff || major < 0 || minor < 0 || patch < 0) {
    throw new ImageError(
      'INVALID_ARGUMENT',
      `Version ${major}.${minor}.${patch} does not fit the stamp (major and minor ≤ 255, patch ≤ 65535).`,
    );
  }
  return ((major << 24) | (minor << 16) | patch) >>> 0;
}

/** A stamp's version word as `major.minor.patch`. */
export function formatVersion(version: number): string {
  return `${version >>> 24}.${(version >>> 16) & 0xff}.${version & 0xffff}`;
}

/** The STM32 CRC of the image words from the base, skipping the CRC word at 0x24. */
export function stampCrc(flat: Uint8Array): number {
  const head = crc32Stm32Words(flat.subarray(0, STAMP_CRC_OFFSET));
  return crc32Stm32Words(flat.subarray(STAMP_CRC_OFFSET + 4), head);
}

function u32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0
  );
}

function setU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value & 0xff;
  bytes[at + 1] = (value >>> 8) & 0xff;
  bytes[at + 2] = (value >>> 16) & 0xff;
  bytes[at + 3] = value >>> 24;
}

/** What `stampImage` writes besides the length and CRC: the application's version. */
export interface StampOptions {
  readonly version: VersionInput;
}

/**
 * Stamp an application image (contract 4). The image must start at the application base
 * (its vector table) and fit the region. Gaps are filled and the end padded with 0xFF to
 * a multiple of 4 (at least 0x2C bytes); the result is one contiguous segment, so what
 * is flashed is exactly what the CRC covers.
 *
 * Slots 7–10 must be all 0x00 (what linkers put there), all 0xFF (a gap) or hold a stamp
 * already (which is replaced); anything else is `STAMP_SLOTS_IN_USE`, because overwriting
 * it would break whatever the application keeps there.
 */
export function stampImage(
  image: ImageLike,
  target: BoardLayout | StampRegion,
  options: StampOptions,
): SparseImage {
  const region = regionOf(target);
  const img = SparseImage.from(image);
  const version = encodeVersion(options.version);
  if (img.isEmpty || img.start !== region.start) {
    throw new ImageError(
      'STAMP_NO_BASE',
      img.isEmpty
        ? `The image is empty; there is nothing to stamp.`
        : `The image starts at ${hex(img.start)}, not at the application base ${hex(region.start)}; ` +
            `the stamp lives in the vector table there. Link the application at ${hex(region.start)}.`,
      { address: img.isEmpty ? region.start : img.start },
    );
  }
  const length = Math.max(STAMP_MIN_LENGTH, Math.ceil((img.end - region.start) / 4) * 4);
  if (length > region.size) {
    throw new ImageError(
      'OUTSIDE_REGION',
      `The image needs ${length} bytes from ${hex(region.start)}, but the application region holds ${region.size}; ` +
        `it ends at ${hex(img.end)}, past ${hex(region.start + region.size)}.`,
      { address: region.start + region.size },
    );
  }
  const flat = img.read(region.start, length, 0xff);
  const slots = flat.subarray(STAMP_OFFSET, STAMP_MIN_LENGTH);
  const allZero = slots.every((b) => b === 0);
  const allErased = slots.every((b) => b === 0xff);
  if (!allZero && !allErased && u32(flat, STAMP_OFFSET) !== STAMP_MAGIC) {
    const first = slots.findIndex((b) => b !== 0);
    throw new ImageError(
      'STAMP_SLOTS_IN_USE',
      `Vector slots 7–10 (${hex(region.start + STAMP_OFFSET)}–${hex(region.start + STAMP_MIN_LENGTH - 1)}) ` +
        `hold data at ${hex(region.start + STAMP_OFFSET + first)}; the stamp needs them zero. ` +
        `Check the linker script's vector table (they are reserved on Cortex-M).`,
      { address: region.start + STAMP_OFFSET + first },
    );
  }
  setU32(flat, STAMP_OFFSET, STAMP_MAGIC);
  setU32(flat, STAMP_LENGTH_OFFSET, length);
  setU32(flat, STAMP_VERSION_OFFSET, version);
  setU32(flat, STAMP_CRC_OFFSET, stampCrc(flat));
  return SparseImage.fromBytes(region.start, flat);
}

/** The four stamp words as the image holds them; missing bytes read as erased flash. */
export function readStamp(image: ImageLike, target: BoardLayout | StampRegion): AppStamp {
  const region = regionOf(target);
  const words = SparseImage.from(image).read(region.start + STAMP_OFFSET, 16, 0xff);
  return {
    magic: u32(words, 0),
    length: u32(words, 4),
    crc: u32(words, 8),
    version: u32(words, 12),
  };
}

/**
 * What the bootloader's check says about an image in flash (bytes the image lacks read as
 * 0xFF, erased flash): magic first, then length, then CRC.
 */
export function verifyStamp(image: ImageLike, target: BoardLayout | StampRegion): StampCheck {
  const region = regionOf(target);
  const img = SparseImage.from(image);
  const stamp = readStamp(img, region);
  const at = hex(region.start + STAMP_OFFSET);
  if (stamp.magic !== STAMP_MAGIC) {
    return {
      verdict: 'bad-magic',
      stamp,
      message: `No stamp at ${at}: magic ${hex(stamp.magic)}, expected ${hex(STAMP_MAGIC)}; the image is not stamped.`,
    };
  }
  const { length } = stamp;
  if (length % 4 !== 0 || length < STAMP_MIN_LENGTH || length > region.size) {
    return {
      verdict: 'bad-length',
      stamp,
      message:
        `Stamp length ${hex(length)} at ${hex(region.start + STAMP_LENGTH_OFFSET)} is not a multiple of 4 ` +
        `between ${hex(STAMP_MIN_LENGTH)} and the region size ${hex(region.size)}.`,
    };
  }
  const computedCrc = stampCrc(img.read(region.start, length, 0xff));
  if (computedCrc !== stamp.crc) {
    return {
      verdict: 'bad-crc',
      stamp,
      computedCrc,
      message: `Stamp CRC ${hex(stamp.crc)}, but the ${length} bytes from ${hex(region.start)} compute to ${hex(computedCrc)}; the image changed after stamping.`,
    };
  }
  return {
    verdict: 'valid',
    stamp,
    computedCrc,
    message: `Valid stamp: version ${formatVersion(stamp.version)}, ${length} bytes, CRC ${hex(computedCrc)}.`,
  };
}
