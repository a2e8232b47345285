import { addDfuSuffix, DFU_SUFFIX_LENGTH, type DfuSuffix, readDfuSuffix } from './dfu-suffix.js';
import { fail, hex, ImageError } from './errors.js';
import {
  type ImageLike,
  type ImagePiece,
  type OverlapPolicy,
  type Segment,
  SparseImage,
} from './sparse-image.js';

/** One target of a DfuSe file: the image for one alternate setting (memory) of the device. */
export interface DfuseTarget {
  /** The interface alternate setting the target is for (0 = internal flash on ST parts). */
  readonly alternateSetting: number;
  /** Target name, when bTargetNamed is set. */
  readonly name?: string;
  /** The elements in file order. */
  readonly elements: readonly Segment[];
  readonly image: SparseImage;
}

/** A parsed DfuSe `.dfu` file: its targets and its DFU suffix. */
export interface DfuseFile {
  readonly targets: readonly DfuseTarget[];
  readonly suffix: DfuSuffix;
}

/** Options for `readDfuse`: the file name for messages and what to do when elements overlap. */
export interface DfuseReadOptions {
  readonly file?: string;
  readonly overlap?: OverlapPolicy;
}

const PREFIX_LENGTH = 11;
const TARGET_PREFIX_LENGTH = 274;
const ELEMENT_HEADER_LENGTH = 8;
const NAME_LENGTH = 255;
/** bcdDFU in the suffix of a DfuSe file (0x011A), which marks the ST extension. */
export const DFUSE_BCD = 0x011a;

function ascii(bytes: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to && bytes[i] !== 0; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/**
 * A DfuSe `.dfu` file (ST UM0391): prefix "DfuSe" v1, targets ("Target", alt setting,
 * name, elements of address + size + data), DFU suffix with bcdDFU 0x011A. DFUImageSize
 * is accepted with or without the suffix counted: ST's tools leave it out, dfuse-pack
 * counts it.
 */
export function readDfuse(bytes: Uint8Array, options: DfuseReadOptions = {}): DfuseFile {
  const file = options.file ?? 'input';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (ascii(bytes, 0, 5) !== 'DfuSe') {
    fail('DFUSE_SIGNATURE', { file, offset: 0 }, 'no "DfuSe" prefix; this is not a DfuSe file.');
  }
  if (bytes.length < PREFIX_LENGTH + DFU_SUFFIX_LENGTH) {
    fail(
      'TRUNCATED',
      { file, offset: bytes.length },
      `${bytes.length} bytes is shorter than a DfuSe prefix and suffix (${PREFIX_LENGTH + DFU_SUFFIX_LENGTH}); the file is truncated.`,
    );
  }
  const suffix = readDfuSuffix(bytes, { file });
  if (bytes[5] !== 1) {
    fail(
      'DFUSE_VERSION',
      { file, offset: 5 },
      `DfuSe format version ${bytes[5]}; only version 1 exists.`,
    );
  }
  const body = bytes.length - DFU_SUFFIX_LENGTH;
  const declared = view.getUint32(6, true);
  if (declared !== body && declared !== bytes.length) {
    fail(
      'DFUSE_SIZE_MISMATCH',
      { file, offset: 6 },
      `DFUImageSize says ${declared} bytes, but the file holds ${body} (${bytes.length} with the suffix); the file is truncated or was edited.`,
    );
  }
  const targetCount = bytes[10]!;
  const targets: DfuseTarget[] = [];
  let pos = PREFIX_LENGTH;
  for (let t = 0; t < targetCount; t++) {
    if (pos + TARGET_PREFIX_LENGTH > body) {
      fail(
        'TRUNCATED',
        { file, offset: pos },
        `target ${t} prefix needs ${TARGET_PREFIX_LENGTH} bytes, only ${body - pos} remain before the suffix; the file is truncated or bTargets (${targetCount}) is wrong.`,
      );
    }
    if (ascii(bytes, pos, pos + 6) !== 'Target') {
      fail('DFUSE_SIGNATURE', { file, offset: pos }, `target ${t} does not start with "Target".`);
    }
    const alternateSetting = bytes[pos + 6]!;
    const named = view.getUint32(pos + 7, true) !== 0;
    const name = named ? ascii(bytes, pos + 11, pos + 11 + NAME_LENGTH) : undefined;
    const targetSize = view.getUint32(pos + 266, true);
    const elementCount = view.getUint32(pos + 270, true);
    const targetStart = pos + TARGET_PREFIX_LENGTH;
    if (targetStart + targetSize > body) {
      fail(
        'DFUSE_SIZE_MISMATCH',
        { file, offset: pos + 266 },
        `target ${t} size ${targetSize} runs past the end of the data (${body - targetStart} bytes remain).`,
      );
    }
    const elements: Segment[] = [];
    const pieces: ImagePiece[] = [];
    let e = targetStart;
    for (let k = 0; k < elementCount; k++) {
      if (e + ELEMENT_HEADER_LENGTH > targetStart + targetSize) {
        fail(
          'DFUSE_SIZE_MISMATCH',
          { file, offset: e },
          `target ${t} element ${k} header lies beyond the target size ${targetSize}; dwNbElements (${elementCount}) or dwTargetSize is wrong.`,
        );
      }
      const address = view.getUint32(e, true);
      const size = view.getUint32(e + 4, true);
      const dataAt = e + ELEMENT_HEADER_LENGTH;
      if (dataAt + size > targetStart + targetSize) {
        fail(
          'DFUSE_SIZE_MISMATCH',
          { file, offset: e + 4, address },
          `target ${t} element ${k} at ${hex(address)} says ${size} bytes, only ${targetStart + targetSize - dataAt} remain in the target.`,
        );
      }
      const data = bytes.subarray(dataAt, dataAt + size);
      elements.push({ address, data });
      pieces.push({
        address,
        data,
        source: { file, label: `target ${t} element ${k}`, offset: e },
      });
      e = dataAt + size;
    }
    if (e !== targetStart + targetSize) {
      fail(
        'DFUSE_SIZE_MISMATCH',
        { file, offset: e },
        `target ${t} size ${targetSize} leaves ${targetStart + targetSize - e} bytes after its ${elementCount} elements.`,
      );
    }
    targets.push({
      alternateSetting,
      ...(name !== undefined && { name }),
      elements,
      image: SparseImage.fromPieces(pieces, options.overlap ? { overlap: options.overlap } : {}),
    });
    pos = targetStart + targetSize;
  }
  if (pos !== body) {
    fail(
      'DFUSE_SIZE_MISMATCH',
      { file, offset: pos },
      `${body - pos} bytes follow the last of ${targetCount} targets before the suffix.`,
    );
  }
  return { targets, suffix };
}

/**
 * One target to write into a DfuSe file: its alternate setting (default 0, internal flash), name
 * and image.
 */
export interface DfuseTargetInput {
  readonly alternateSetting?: number;
  /** Up to 254 ASCII characters; default "ST..." as ST's tools write. */
  readonly name?: string;
  readonly image: ImageLike;
}

/**
 * The device a DfuSe file is for, written into its suffix (idVendor, idProduct, bcdDevice; default
 * 0xFFFF, "any").
 */
export interface DfuseWriteOptions {
  readonly vendorId?: number;
  readonly productId?: number;
  readonly deviceVersion?: number;
}

/** A DfuSe file: one element per image segment, one target per input. */
export function writeDfuse(
  targets: ImageLike | readonly DfuseTargetInput[],
  options: DfuseWriteOptions = {},
): Uint8Array {
  const list: readonly DfuseTargetInput[] = 'segments' in targets ? [{ image: targets }] : targets;
  if (list.length > 255) {
    throw new ImageError(
      'INVALID_ARGUMENT',
      `A DfuSe file holds at most 255 targets, not ${list.length}.`,
    );
  }
  let size = PREFIX_LENGTH;
  for (const t of list) {
    size += TARGET_PREFIX_LENGTH;
    for (const s of t.image.segments) size += ELEMENT_HEADER_LENGTH + s.data.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set([0x44, 0x66, 0x75, 0x53, 0x65, 1]); // "DfuSe", version 1
  view.setUint32(6, size, true);
  out[10] = list.length;
  let pos = PREFIX_LENGTH;
  for (const t of list) {
    const segments = SparseImage.from(t.image).segments;
    const name = t.name ?? 'ST...';
    if (name.length > NAME_LENGTH - 1) {
      throw new ImageError(
        'INVALID_ARGUMENT',
        `DfuSe target name "${name}" is longer than ${NAME_LENGTH - 1} characters.`,
      );
    }
    out.set([0x54, 0x61, 0x72, 0x67, 0x65, 0x74], pos); // "Target"
    out[pos + 6] = t.alternateSetting ?? 0;
    view.setUint32(pos + 7, 1, true);
    for (let i = 0; i < name.length; i++) out[pos + 11 + i] = name.charCodeAt(i) & 0xff;
    let targetSize = 0;
    for (const s of segments) targetSize += ELEMENT_HEADER_LENGTH + s.data.length;
    view.setUint32(pos + 266, targetSize, true);
    view.setUint32(pos + 270, segments.length, true);
    pos += TARGET_PREFIX_LENGTH;
    for (const s of segments) {
      view.setUint32(pos, s.address, true);
      view.setUint32(pos + 4, s.data.length, true);
      out.set(s.data, pos + ELEMENT_HEADER_LENGTH);
      pos += ELEMENT_HEADER_LENGTH + s.data.length;
    }
  }
  return addDfuSuffix(out, {
    // 0xFFFF is the suffix's "any device" wildcard.
    vendorId: options.vendorId ?? 0xffff,
    productId: options.productId ?? 0xffff,
    deviceVersion: options.deviceVersion ?? 0xffff,
    dfuVersion: DFUSE_BCD,
  });
}
