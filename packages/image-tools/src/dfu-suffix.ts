import { crc32DfuSuffix } from './checksums.js';
import { fail, hex, ImageError } from './errors.js';

/** The 16-byte DFU suffix (DFU 1.1 §B.1), fields as they are in the file. */
export interface DfuSuffix {
  /** bcdDevice: firmware release, 0xFFFF = any. */
  readonly deviceVersion: number;
  readonly productId: number;
  readonly vendorId: number;
  /** bcdDFU: 0x0100 for DFU 1.0/1.1 files, 0x011A for DfuSe. */
  readonly dfuVersion: number;
  /** dwCRC as stored. */
  readonly crc: number;
}

/** Bytes in a DFU 1.1 file suffix (§B.1), also its bLength field. */
export const DFU_SUFFIX_LENGTH = 16;

/** Options for reading or stripping a suffix: `file` names the input in error messages. */
export interface SuffixOptions {
  readonly file?: string;
}

/** Whether the last 16 bytes look like a DFU suffix ("UFD", bLength 16), CRC not checked. */
export function hasDfuSuffix(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return (
    n >= DFU_SUFFIX_LENGTH &&
    // ucDfuSignature: "DFU" stored reversed, so the file reads "UFD".
    bytes[n - 8] === 0x55 &&
    bytes[n - 7] === 0x46 &&
    bytes[n - 6] === 0x44 &&
    bytes[n - 5] === DFU_SUFFIX_LENGTH
  );
}

/**
 * Read and verify the suffix. `DFU_SUFFIX_MISSING` when there is none, `DFU_SUFFIX_CRC`
 * when dwCRC does not match the file.
 */
export function readDfuSuffix(bytes: Uint8Array, options: SuffixOptions = {}): DfuSuffix {
  const file = options.file ?? 'input';
  const n = bytes.length;
  if (!hasDfuSuffix(bytes)) {
    fail(
      'DFU_SUFFIX_MISSING',
      { file, offset: Math.max(0, n - DFU_SUFFIX_LENGTH) },
      'no DFU suffix (the last 16 bytes do not end in "UFD" and length 16); add one with dfu-suffix -a or addDfuSuffix().',
    );
  }
  const view = new DataView(
    bytes.buffer,
    bytes.byteOffset + n - DFU_SUFFIX_LENGTH,
    DFU_SUFFIX_LENGTH,
  );
  const suffix: DfuSuffix = {
    deviceVersion: view.getUint16(0, true),
    productId: view.getUint16(2, true),
    vendorId: view.getUint16(4, true),
    dfuVersion: view.getUint16(6, true),
    crc: view.getUint32(12, true),
  };
  const actual = crc32DfuSuffix(bytes.subarray(0, n - 4));
  if (actual !== suffix.crc) {
    fail(
      'DFU_SUFFIX_CRC',
      { file, offset: n - 4 },
      `DFU suffix CRC ${hex(suffix.crc)}, but the file computes to ${hex(actual)}; the file is corrupt or was edited after the suffix was added.`,
    );
  }
  return suffix;
}

/** Verify without throwing: the suffix, or why not. */
export function verifyDfuSuffix(
  bytes: Uint8Array,
  options: SuffixOptions = {},
): { ok: true; suffix: DfuSuffix } | { ok: false; error: ImageError } {
  try {
    return { ok: true, suffix: readDfuSuffix(bytes, options) };
  } catch (e) {
    if (e instanceof ImageError) return { ok: false, error: e };
    throw e;
  }
}

/**
 * The suffix fields `addDfuSuffix` writes: the device's idVendor, idProduct and bcdDevice it is for
 * (0xFFFF, "any", when left out) and bcdDFU.
 */
export interface AddSuffixOptions {
  readonly vendorId?: number;
  readonly productId?: number;
  readonly deviceVersion?: number;
  readonly dfuVersion?: number;
}

/** The bytes followed by a suffix; ids default to 0xFFFF ("any"), bcdDFU to 0x0100. */
export function addDfuSuffix(bytes: Uint8Array, options: AddSuffixOptions = {}): Uint8Array {
  const out = new Uint8Array(bytes.length + DFU_SUFFIX_LENGTH);
  out.set(bytes);
  const view = new DataView(out.buffer, bytes.length, DFU_SUFFIX_LENGTH);
  const u16 = (value: number | undefined, fallback: number, what: string): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw new ImageError(
        'INVALID_ARGUMENT',
        `DFU suffix ${what} ${String(v)} must be 0x0000–0xFFFF.`,
      );
    }
    return v;
  };
  view.setUint16(0, u16(options.deviceVersion, 0xffff, 'bcdDevice'), true);
  view.setUint16(2, u16(options.productId, 0xffff, 'idProduct'), true);
  view.setUint16(4, u16(options.vendorId, 0xffff, 'idVendor'), true);
  view.setUint16(6, u16(options.dfuVersion, 0x0100, 'bcdDFU'), true);
  out.set([0x55, 0x46, 0x44, DFU_SUFFIX_LENGTH], bytes.length + 8);
  view.setUint32(12, crc32DfuSuffix(out.subarray(0, out.length - 4)), true);
  return out;
}

/** The bytes without their (verified) suffix. */
export function stripDfuSuffix(bytes: Uint8Array, options: SuffixOptions = {}): Uint8Array {
  readDfuSuffix(bytes, options);
  return bytes.subarray(0, bytes.length - DFU_SUFFIX_LENGTH);
}
