import { readBinary } from './binary.js';
import { DFU_SUFFIX_LENGTH, type DfuSuffix, hasDfuSuffix, readDfuSuffix } from './dfu-suffix.js';
import { type DfuseTarget, readDfuse } from './dfuse.js';
import { type ElfSection, readElf } from './elf.js';
import { fail, ImageError } from './errors.js';
import { readIntelHex } from './intel-hex.js';
import type { OverlapPolicy, SparseImage } from './sparse-image.js';
import { readSrec } from './srec.js';
import { byteOrderMarkLength, HEX_DIGIT, toBytes } from './text.js';

/** `dfu` is a raw binary with a DFU suffix; `dfuse` an ST DfuSe file. */
export type ImageFormat = 'binary' | 'ihex' | 'srec' | 'elf' | 'dfuse' | 'dfu';

/** Every format `readImage` reads, in the order error messages list them. */
export const imageFormats: readonly ImageFormat[] = [
  'binary',
  'ihex',
  'srec',
  'elf',
  'dfuse',
  'dfu',
];

/**
 * How `readImage` detects and places an image: the file name, the base address of a raw binary, a
 * forced format, the overlap policy.
 */
export interface ReadImageOptions {
  /** Used in messages and, only when the content is not conclusive, to pick the format. */
  readonly fileName?: string;
  /** Address of the first byte of a raw binary (`binary` and `dfu`). */
  readonly base?: number;
  /** Skip detection. */
  readonly format?: ImageFormat;
  readonly overlap?: OverlapPolicy;
}

/** An image read in any format, with the format it was and what the file said beyond the bytes. */
export interface ReadImageResult {
  readonly image: SparseImage;
  readonly format: ImageFormat;
  /** Entry point: ELF e_entry, Intel HEX type 05, S-record S7/S8/S9. */
  readonly entry?: number;
  /** The DFU suffix (for `dfu` and `dfuse`). */
  readonly dfu?: DfuSuffix;
  /** Every target of a DfuSe file; `image` is the one for alt setting 0 (or the first). */
  readonly targets?: readonly DfuseTarget[];
  /** ELF sections, for naming things in messages. */
  readonly sections?: readonly ElfSection[];
  /** S0 header text. */
  readonly header?: string;
}

const EXTENSIONS: Readonly<Record<string, ImageFormat>> = {
  bin: 'binary',
  hex: 'ihex',
  ihex: 'ihex',
  ihx: 'ihex',
  srec: 'srec',
  s19: 'srec',
  s28: 'srec',
  s37: 'srec',
  mot: 'srec',
  elf: 'elf',
  axf: 'elf',
  out: 'elf',
  dfu: 'dfuse',
};

function formatFromExtension(fileName: string | undefined): ImageFormat | undefined {
  const dot = fileName?.lastIndexOf('.') ?? -1;
  if (!fileName || dot < 0) return undefined;
  return EXTENSIONS[fileName.slice(dot + 1).toLowerCase()];
}

/**
 * The first non-blank character (after a UTF-8 byte-order mark), and whether the line it
 * starts is made of hex digits only.
 */
function firstLine(bytes: Uint8Array): { lead: number; rest: string; allHex: boolean } | undefined {
  let i = byteOrderMarkLength(bytes);
  while (
    i < bytes.length &&
    (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)
  )
    i++;
  if (i >= bytes.length) return undefined;
  const lead = bytes[i]!;
  let j = i + 1;
  let allHex = true;
  let rest = '';
  while (j < bytes.length && bytes[j] !== 0x0a && bytes[j] !== 0x0d && j - i < 600) {
    if (HEX_DIGIT[bytes[j]!]! < 0) allHex = false;
    if (rest.length < 2) rest += String.fromCharCode(bytes[j]!);
    j++;
  }
  return { lead, rest, allHex };
}

/**
 * The format from the content: "\x7fELF", the "DfuSe" prefix, a first line that is an
 * Intel HEX or S-record record, a valid-looking DFU suffix on anything else. The file
 * extension decides only when the content looks like plain binary.
 */
export function detectFormat(input: Uint8Array | string, fileName?: string): ImageFormat {
  const bytes = toBytes(input);
  if (
    bytes.length >= 4 &&
    bytes[0] === 0x7f &&
    bytes[1] === 0x45 &&
    bytes[2] === 0x4c &&
    bytes[3] === 0x46
  ) {
    return 'elf';
  }
  if (bytes.length >= 5 && String.fromCharCode(...bytes.subarray(0, 5)) === 'DfuSe') return 'dfuse';
  const first = firstLine(bytes);
  if (first?.lead === 0x3a && first.allHex) return 'ihex';
  if (first?.lead === 0x53 && first.rest.length > 0) {
    const t = first.rest.charCodeAt(0);
    // "S0".."S9" followed by hex digits only.
    if (t >= 0x30 && t <= 0x39 && first.allHex) return 'srec';
  }
  if (hasDfuSuffix(bytes)) return 'dfu';
  const byExtension = formatFromExtension(fileName);
  if (byExtension) return byExtension;
  if (looksLikeText(bytes)) {
    throw new ImageError(
      'UNKNOWN_FORMAT',
      `${fileName ?? 'input'}: the file is text but neither Intel HEX (':' records) nor S-records ` +
        `('S0'…'S9' records); give an image file, or say its format explicitly.`,
      { ...(fileName !== undefined && { file: fileName }), line: 1 },
    );
  }
  return 'binary';
}

/** Printable ASCII and whitespace only in the first 512 bytes: a map file, a listing, a README. */
function looksLikeText(bytes: Uint8Array): boolean {
  const from = byteOrderMarkLength(bytes);
  if (bytes.length === from) return false;
  const n = Math.min(bytes.length, from + 512);
  for (let i = from; i < n; i++) {
    const c = bytes[i]!;
    if (!(c === 9 || c === 10 || c === 13 || (c >= 0x20 && c < 0x7f))) return false;
  }
  return true;
}

function needBase(base: number | undefined, file: string, format: ImageFormat): number {
  if (base === undefined) {
    throw new ImageError(
      'BASE_REQUIRED',
      `${file}: a ${format === 'dfu' ? 'binary with a DFU suffix' : 'raw binary'} carries no address; give its base address (e.g. 0x08008000).`,
      { file },
    );
  }
  return base;
}

/** Read any supported format into a `SparseImage`. */
export function readImage(
  input: Uint8Array | string,
  options: ReadImageOptions = {},
): ReadImageResult {
  const bytes = toBytes(input);
  const file = options.fileName ?? 'input';
  const format = options.format ?? detectFormat(bytes, options.fileName);
  const overlap = options.overlap ? { overlap: options.overlap } : {};
  switch (format) {
    case 'ihex': {
      const r = readIntelHex(bytes, { file, ...overlap });
      const entry =
        r.startLinear ?? (r.startSegment ? r.startSegment.cs * 16 + r.startSegment.ip : undefined);
      return { image: r.image, format, ...(entry !== undefined && { entry }) };
    }
    case 'srec': {
      const r = readSrec(bytes, { file, ...overlap });
      return {
        image: r.image,
        format,
        ...(r.start !== undefined && { entry: r.start }),
        ...(r.header !== undefined && { header: r.header }),
      };
    }
    case 'elf': {
      const r = readElf(bytes, { file, ...overlap });
      return { image: r.image, format, entry: r.entry, sections: r.sections };
    }
    case 'dfuse': {
      const r = readDfuse(bytes, { file, ...overlap });
      const main = r.targets.find((t) => t.alternateSetting === 0) ?? r.targets[0];
      if (!main) fail('EMPTY_IMAGE', { file, offset: 10 }, 'the DfuSe file has no targets.');
      return { image: main.image, format, dfu: r.suffix, targets: r.targets };
    }
    case 'dfu': {
      const suffix = readDfuSuffix(bytes, { file });
      const body = bytes.subarray(0, bytes.length - DFU_SUFFIX_LENGTH);
      return {
        image: readBinary(body, { base: needBase(options.base, file, format) }),
        format,
        dfu: suffix,
      };
    }
    case 'binary':
      return { image: readBinary(bytes, { base: needBase(options.base, file, format) }), format };
    default:
      throw new ImageError(
        'UNKNOWN_FORMAT',
        `${file}: unknown format "${String(format)}"; use one of ${imageFormats.join(', ')}.`,
        { file },
      );
  }
}
