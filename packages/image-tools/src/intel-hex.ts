import { fail, ImageError, type ImageErrorDetails } from './errors.js';
import {
  type ImageLike,
  type ImagePiece,
  type OverlapPolicy,
  SparseImage,
} from './sparse-image.js';
import { BYTE_HEX, byteOrderMarkLength, HEX_DIGIT, showChar, toBytes } from './text.js';

/** Options for reading the text formats (Intel HEX and S-record). */
export interface TextReadOptions {
  /** File name for messages. */
  readonly file?: string;
  /** What to do when two records write the same byte (default: `OVERLAP` error). */
  readonly overlap?: OverlapPolicy;
}

/**
 * What `readIntelHex` finds: the data records as an image, and the start-address record if there is
 * one.
 */
export interface IntelHexImage {
  readonly image: SparseImage;
  /** Type 05 record: the 32-bit entry point (EIP). */
  readonly startLinear?: number;
  /** Type 03 record: the 80x86 CS:IP start address. */
  readonly startSegment?: { readonly cs: number; readonly ip: number };
}

const COLON = 0x3a;

/**
 * Intel HEX (Intel "Hexadecimal Object File Format Specification" rev. A), record types
 * 00–05. The parser works on bytes with a lookup table and decodes data straight into one
 * buffer, so a megabyte of records costs no per-record allocation.
 */
export function readIntelHex(
  input: Uint8Array | string,
  options: TextReadOptions = {},
): IntelHexImage {
  const b = toBytes(input);
  const n = b.length;
  const file = options.file ?? 'input';
  // Every data byte takes two characters, so half the input bounds the data.
  const arena = new Uint8Array(n >> 1);
  let used = 0;
  const pieces: ImagePiece[] = [];
  let runAddress = 0;
  let runFrom = 0;
  let runLine = 0;
  let runLastLine = 0;
  let inRun = false;
  // Extended linear (type 04) gives bits 31..16; extended segment (type 02) gives base = value * 16.
  let upper = 0;
  let segmentMode = false;
  let startLinear: number | undefined;
  let startSegment: { cs: number; ip: number } | undefined;
  let line = 1;
  let pos = byteOrderMarkLength(b);
  let lineBegin = pos;
  let sawEof = false;

  const at = (p: number, l = line): ImageErrorDetails => ({
    file,
    line: l,
    offset: p - lineBegin + 1,
  });
  const badDigit = (p: number, count: number, recordStart: number): never => {
    const c = b[p];
    if (p >= n || c === 10 || c === 13) {
      fail(
        p >= n ? 'TRUNCATED' : 'HEX_SYNTAX',
        at(p),
        `record ends after ${p - recordStart} characters, but its byte count 0x${BYTE_HEX[count]} ` +
          `needs ${11 + count * 2}; the line is cut short or the byte count is wrong.`,
      );
    }
    return fail(
      'HEX_SYNTAX',
      at(p),
      `${showChar(c)} at column ${p - lineBegin + 1} is not a hex digit.`,
    );
  };
  const closeRun = (): void => {
    if (!inRun) return;
    pieces.push({
      address: runAddress,
      data: arena.subarray(runFrom, used),
      source: { file, line: runLine, lastLine: runLastLine },
    });
    inRun = false;
  };

  while (pos < n) {
    const c = b[pos]!;
    if (c === 10) {
      line++;
      pos++;
      lineBegin = pos;
      continue;
    }
    if (c === 13) {
      pos++;
      if (b[pos] !== 10) {
        line++;
        lineBegin = pos;
      }
      continue;
    }
    if (c === 32 || c === 9) {
      pos++;
      continue;
    }
    if (c !== COLON) {
      fail('HEX_SYNTAX', at(pos), `expected ':' to start a record, found ${showChar(c)}.`);
    }
    const recordStart = pos;
    let p = pos + 1;
    // Header: byte count, address (2 bytes), record type.
    if (p + 8 > n) badDigit(n, 0, recordStart);
    let h = HEX_DIGIT[b[p]!]!;
    let l = HEX_DIGIT[b[p + 1]!]!;
    if ((h | l) < 0) badDigit(h < 0 ? p : p + 1, 0, recordStart);
    const count = (h << 4) | l;
    h = HEX_DIGIT[b[p + 2]!]!;
    l = HEX_DIGIT[b[p + 3]!]!;
    if ((h | l) < 0) badDigit(h < 0 ? p + 2 : p + 3, count, recordStart);
    const addrHi = (h << 4) | l;
    h = HEX_DIGIT[b[p + 4]!]!;
    l = HEX_DIGIT[b[p + 5]!]!;
    if ((h | l) < 0) badDigit(h < 0 ? p + 4 : p + 5, count, recordStart);
    const addrLo = (h << 4) | l;
    h = HEX_DIGIT[b[p + 6]!]!;
    l = HEX_DIGIT[b[p + 7]!]!;
    if ((h | l) < 0) badDigit(h < 0 ? p + 6 : p + 7, count, recordStart);
    const type = (h << 4) | l;
    p += 8;
    let sum = count + addrHi + addrLo + type;
    // Decode the data field into the arena; only data records keep it (by advancing `used`).
    const dataAt = used;
    for (let k = 0; k < count; k++) {
      h = HEX_DIGIT[b[p]!] ?? -1;
      l = HEX_DIGIT[b[p + 1]!] ?? -1;
      if ((h | l) < 0) badDigit(h < 0 ? p : p + 1, count, recordStart);
      const v = (h << 4) | l;
      arena[dataAt + k] = v;
      sum += v;
      p += 2;
    }
    h = HEX_DIGIT[b[p]!] ?? -1;
    l = HEX_DIGIT[b[p + 1]!] ?? -1;
    if ((h | l) < 0) badDigit(h < 0 ? p : p + 1, count, recordStart);
    const checksum = (h << 4) | l;
    p += 2;
    if (((sum + checksum) & 0xff) !== 0) {
      fail(
        'HEX_CHECKSUM',
        at(recordStart),
        `checksum 0x${BYTE_HEX[checksum]}, expected 0x${BYTE_HEX[-sum & 0xff]}; the record is corrupt.`,
      );
    }
    const next = b[p];
    if (next !== undefined && next !== 10 && next !== 13 && next !== 32 && next !== 9) {
      fail(
        'HEX_SYNTAX',
        at(p),
        `the record goes on after its checksum (column ${p - lineBegin + 1}); its byte count ` +
          `0x${BYTE_HEX[count]} is too small or two records share a line.`,
      );
    }
    pos = p;

    const offset16 = (addrHi << 8) | addrLo;
    switch (type) {
      case 0x00: {
        if (count === 0) break;
        if (segmentMode && offset16 + count > 0x10000) {
          // Segment addressing wraps inside the 64 kB segment (spec: (SBA + (DRLO + DRI) mod 64K)).
          closeRun();
          const first = 0x10000 - offset16;
          pieces.push({
            address: upper + offset16,
            data: arena.subarray(dataAt, dataAt + first),
            source: { file, line },
          });
          pieces.push({
            address: upper,
            data: arena.subarray(dataAt + first, dataAt + count),
            source: { file, line },
          });
          used = dataAt + count;
          break;
        }
        const address = upper + offset16;
        if (!inRun || address !== runAddress + (used - runFrom)) {
          closeRun();
          inRun = true;
          runAddress = address;
          runFrom = dataAt;
          runLine = line;
        }
        runLastLine = line;
        used = dataAt + count;
        break;
      }
      case 0x01:
        if (count !== 0) {
          fail(
            'HEX_SYNTAX',
            at(recordStart),
            `end-of-file record with byte count ${count}, expected 0.`,
          );
        }
        sawEof = true;
        break;
      case 0x02:
      case 0x04: {
        if (count !== 2) {
          fail(
            'HEX_SYNTAX',
            at(recordStart),
            `type 0${type} record has byte count ${count}, expected 2.`,
          );
        }
        const value = (arena[dataAt]! << 8) | arena[dataAt + 1]!;
        segmentMode = type === 0x02;
        upper = segmentMode ? value * 16 : value * 0x10000;
        break;
      }
      case 0x03:
      case 0x05: {
        if (count !== 4) {
          fail(
            'HEX_SYNTAX',
            at(recordStart),
            `type 0${type} record has byte count ${count}, expected 4.`,
          );
        }
        const hi = (arena[dataAt]! << 8) | arena[dataAt + 1]!;
        const lo = (arena[dataAt + 2]! << 8) | arena[dataAt + 3]!;
        if (type === 0x03) startSegment = { cs: hi, ip: lo };
        else startLinear = hi * 0x10000 + lo;
        break;
      }
      default:
        fail(
          'HEX_RECORD_TYPE',
          at(recordStart),
          `record type 0x${BYTE_HEX[type]} is not an Intel HEX type (00–05).`,
        );
    }
    if (sawEof) break;
  }
  if (!sawEof) {
    fail(
      'TRUNCATED',
      { file, line },
      `the file ends without an end-of-file record (:00000001FF); it may be truncated.`,
    );
  }
  closeRun();
  const image = SparseImage.fromPieces(pieces, options.overlap ? { overlap: options.overlap } : {});
  return {
    image,
    ...(startLinear !== undefined && { startLinear }),
    ...(startSegment !== undefined && { startSegment }),
  };
}

/**
 * How `writeIntelHex` lays out records: record size, start records and line endings (default `\n`).
 */
export interface IntelHexWriteOptions {
  /** Data bytes per record: 16 (objcopy, srec_cat) or 32. */
  readonly recordSize?: 16 | 32;
  /** Write a type 05 record with this entry point (e.g. the ELF entry). */
  readonly startLinear?: number;
  /** Write a type 03 record. */
  readonly startSegment?: { readonly cs: number; readonly ip: number };
  readonly lineEnding?: '\n' | '\r\n';
}

function record(type: number, address: number, data: Uint8Array, from: number, to: number): string {
  const count = to - from;
  let sum = count + (address >>> 8) + (address & 0xff) + type;
  let s = `:${BYTE_HEX[count]}${BYTE_HEX[address >>> 8]}${BYTE_HEX[address & 0xff]}${BYTE_HEX[type]}`;
  for (let i = from; i < to; i++) {
    const v = data[i]!;
    sum += v;
    s += BYTE_HEX[v];
  }
  return s + BYTE_HEX[-sum & 0xff];
}

/**
 * Intel HEX with type 04 (extended linear address) and 00 records that never cross a
 * 64 kB boundary, then 05 (if asked) and 01.
 */
export function writeIntelHex(image: ImageLike, options: IntelHexWriteOptions = {}): string {
  const recordSize = options.recordSize ?? 16;
  if (recordSize !== 16 && recordSize !== 32) {
    throw new ImageError(
      'INVALID_ARGUMENT',
      `Intel HEX record size ${recordSize} must be 16 or 32.`,
    );
  }
  const eol = options.lineEnding ?? '\n';
  const lines: string[] = [];
  let upper = 0;
  const word = new Uint8Array(4);
  for (const seg of SparseImage.from(image).segments) {
    let i = 0;
    while (i < seg.data.length) {
      const address = seg.address + i;
      const hi = Math.floor(address / 0x10000);
      if (hi !== upper) {
        word[0] = hi >>> 8;
        word[1] = hi & 0xff;
        lines.push(record(0x04, 0, word, 0, 2));
        upper = hi;
      }
      const low = address & 0xffff;
      // Records aligned to the record size, and never past a 64 kB boundary.
      const len = Math.min(recordSize - (low % recordSize), seg.data.length - i, 0x10000 - low);
      lines.push(record(0x00, low, seg.data, i, i + len));
      i += len;
    }
  }
  if (options.startSegment) {
    const { cs, ip } = options.startSegment;
    word.set([cs >>> 8, cs & 0xff, ip >>> 8, ip & 0xff]);
    lines.push(record(0x03, 0, word, 0, 4));
  }
  if (options.startLinear !== undefined) {
    const e = options.startLinear >>> 0;
    word.set([e >>> 24, (e >>> 16) & 0xff, (e >>> 8) & 0xff, e & 0xff]);
    lines.push(record(0x05, 0, word, 0, 4));
  }
  lines.push(':00000001FF');
  return lines.join(eol) + eol;
}
