import { fail, hex, ImageError, type ImageErrorDetails } from './errors.js';
import type { TextReadOptions } from './intel-hex.js';
import { type ImageLike, type ImagePiece, SparseImage } from './sparse-image.js';
import { BYTE_HEX, byteOrderMarkLength, HEX_DIGIT, showChar, toBytes } from './text.js';

/**
 * What `readSrec` finds: the data records as an image, with the header, start and count records.
 */
export interface SrecImage {
  readonly image: SparseImage;
  /** The S0 record's data as text (module name, version, ...), if any. */
  readonly header?: string;
  /** S7/S8/S9 start address. */
  readonly start?: number;
  /** The S5/S6 record count, when the file has one (it has been checked). */
  readonly recordCount?: number;
}

/** Address bytes per record type S0..S9 (S4 is reserved). */
const ADDRESS_BYTES = [2, 2, 3, 4, 0, 2, 3, 4, 3, 2] as const;
const LETTER_S = 0x53;

/**
 * Motorola S-records (S0–S9). Data records S1/S2/S3 may be mixed; the S5/S6 count, when
 * present, must equal the number of data records before it; a termination record
 * (S7/S8/S9) is required, so a truncated file is caught.
 */
export function readSrec(input: Uint8Array | string, options: TextReadOptions = {}): SrecImage {
  const b = toBytes(input);
  const n = b.length;
  const file = options.file ?? 'input';
  const arena = new Uint8Array(n >> 1);
  let used = 0;
  const pieces: ImagePiece[] = [];
  let runAddress = 0;
  let runFrom = 0;
  let runLine = 0;
  let runLastLine = 0;
  let inRun = false;
  let dataRecords = 0;
  let header: string | undefined;
  let start: number | undefined;
  let recordCount: number | undefined;
  let line = 1;
  let pos = byteOrderMarkLength(b);
  let lineBegin = pos;

  const at = (p: number): ImageErrorDetails => ({ file, line, offset: p - lineBegin + 1 });
  const closeRun = (): void => {
    if (!inRun) return;
    pieces.push({
      address: runAddress,
      data: arena.subarray(runFrom, used),
      source: { file, line: runLine, lastLine: runLastLine },
    });
    inRun = false;
  };
  const byteAt = (p: number, count: number, recordStart: number): number => {
    const h = HEX_DIGIT[b[p]!] ?? -1;
    const l = HEX_DIGIT[b[p + 1]!] ?? -1;
    if ((h | l) >= 0) return (h << 4) | l;
    const q = h < 0 ? p : p + 1;
    const c = b[q];
    if (q >= n || c === 10 || c === 13) {
      fail(
        q >= n ? 'TRUNCATED' : 'SREC_SYNTAX',
        at(q),
        `record ends after ${q - recordStart} characters, but its byte count 0x${BYTE_HEX[count]} ` +
          `needs ${4 + count * 2}; the line is cut short or the byte count is wrong.`,
      );
    }
    return fail(
      'SREC_SYNTAX',
      at(q),
      `${showChar(c)} at column ${q - lineBegin + 1} is not a hex digit.`,
    );
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
    if (c !== LETTER_S) {
      fail('SREC_SYNTAX', at(pos), `expected 'S' to start a record, found ${showChar(c)}.`);
    }
    const recordStart = pos;
    const type = (b[pos + 1] ?? 0) - 0x30;
    if (!(type >= 0 && type <= 9)) {
      fail(
        'SREC_SYNTAX',
        at(pos + 1),
        `${showChar(b[pos + 1])} after 'S' is not a record type 0–9.`,
      );
    }
    if (type === 4) {
      fail(
        'SREC_RECORD_TYPE',
        at(recordStart),
        `S4 is a reserved record type; the file is not an S-record file or is corrupt.`,
      );
    }
    let p = pos + 2;
    const count = byteAt(p, 0, recordStart);
    p += 2;
    let sum = count;
    const addressBytes = ADDRESS_BYTES[type]!;
    if (count < addressBytes + 1) {
      fail(
        'SREC_SYNTAX',
        at(recordStart),
        `S${type} byte count 0x${BYTE_HEX[count]} is too small for a ${addressBytes}-byte address and a checksum.`,
      );
    }
    let address = 0;
    for (let k = 0; k < addressBytes; k++) {
      const v = byteAt(p, count, recordStart);
      address = address * 256 + v;
      sum += v;
      p += 2;
    }
    const dataLength = count - addressBytes - 1;
    const dataAt = used;
    for (let k = 0; k < dataLength; k++) {
      const h = HEX_DIGIT[b[p]!] ?? -1;
      const l = HEX_DIGIT[b[p + 1]!] ?? -1;
      const v = (h | l) >= 0 ? (h << 4) | l : byteAt(p, count, recordStart);
      arena[dataAt + k] = v;
      sum += v;
      p += 2;
    }
    const checksum = byteAt(p, count, recordStart);
    p += 2;
    // The checksum is the ones' complement of the low byte of the sum of count, address and data.
    const expected = ~sum & 0xff;
    if (checksum !== expected) {
      fail(
        'SREC_CHECKSUM',
        at(recordStart),
        `checksum 0x${BYTE_HEX[checksum]}, expected 0x${BYTE_HEX[expected]}; the record is corrupt.`,
      );
    }
    const next = b[p];
    if (next !== undefined && next !== 10 && next !== 13 && next !== 32 && next !== 9) {
      fail(
        'SREC_SYNTAX',
        at(p),
        `the record goes on after its checksum (column ${p - lineBegin + 1}); its byte count ` +
          `0x${BYTE_HEX[count]} is too small or two records share a line.`,
      );
    }
    pos = p;

    if (type >= 1 && type <= 3) {
      dataRecords++;
      if (dataLength > 0) {
        if (!inRun || address !== runAddress + (used - runFrom)) {
          closeRun();
          inRun = true;
          runAddress = address;
          runFrom = dataAt;
          runLine = line;
        }
        runLastLine = line;
        used = dataAt + dataLength;
      }
    } else if (type === 0) {
      let text = '';
      for (let k = 0; k < dataLength; k++) {
        const v = arena[dataAt + k]!;
        if (v !== 0) text += String.fromCharCode(v);
      }
      header = text;
    } else if (type === 5 || type === 6) {
      if (address !== dataRecords) {
        fail(
          'SREC_COUNT',
          at(recordStart),
          `S${type} says ${address} data records, but ${dataRecords} came before it; records are missing or duplicated.`,
        );
      }
      recordCount = address;
    } else {
      start = address;
      break;
    }
  }
  if (start === undefined) {
    fail(
      'TRUNCATED',
      { file, line },
      `the file ends without a termination record (S7, S8 or S9); it may be truncated.`,
    );
  }
  closeRun();
  const image = SparseImage.fromPieces(pieces, options.overlap ? { overlap: options.overlap } : {});
  return {
    image,
    start,
    ...(header !== undefined && { header }),
    ...(recordCount !== undefined && { recordCount }),
  };
}

/**
 * How `writeSrec` lays out records: header, start address, record size and address width, count
 * record and line endings (default `\n`).
 */
export interface SrecWriteOptions {
  /** S0 text (default: none, an empty S0 record is written). */
  readonly header?: string;
  /** Start address for the S7/S8/S9 record (default 0). */
  readonly start?: number;
  /** Data bytes per record (default 16, at most 250 for S3). */
  readonly recordSize?: number;
  /** Force the address width; default: the smallest that fits the image and the start address. */
  readonly addressBytes?: 2 | 3 | 4;
  /** Write an S5/S6 count record (default true). */
  readonly count?: boolean;
  readonly lineEnding?: '\n' | '\r\n';
}

function srecRecord(
  type: number,
  address: number,
  addressBytes: number,
  data: Uint8Array,
  from: number,
  to: number,
): string {
  const count = addressBytes + (to - from) + 1;
  let sum = count;
  let s = `S${type}${BYTE_HEX[count]}`;
  for (let k = addressBytes - 1; k >= 0; k--) {
    const v = Math.floor(address / 2 ** (8 * k)) & 0xff;
    sum += v;
    s += BYTE_HEX[v];
  }
  for (let i = from; i < to; i++) {
    const v = data[i]!;
    sum += v;
    s += BYTE_HEX[v];
  }
  return s + BYTE_HEX[~sum & 0xff];
}

/**
 * Motorola S-records: S0 header, S1/S2/S3 by the widest address needed, S5 (or S6 above
 * 65535 records) count, and the matching S9/S8/S7 termination with the start address.
 */
export function writeSrec(image: ImageLike, options: SrecWriteOptions = {}): string {
  const img = SparseImage.from(image);
  const start = options.start ?? 0;
  const recordSize = options.recordSize ?? 16;
  const widest = Math.max(img.isEmpty ? 0 : img.end - 1, start);
  const needed = widest <= 0xffff ? 2 : widest <= 0xffffff ? 3 : 4;
  const addressBytes = options.addressBytes ?? needed;
  if (addressBytes < needed) {
    throw new ImageError(
      'ADDRESS_RANGE',
      `Address ${hex(widest)} does not fit ${addressBytes}-byte S-record addresses; use ${needed} bytes.`,
      { address: widest },
    );
  }
  if (!Number.isInteger(recordSize) || recordSize < 1 || recordSize > 255 - addressBytes - 1) {
    throw new ImageError(
      'INVALID_ARGUMENT',
      `S-record data size ${recordSize} must be 1–${255 - addressBytes - 1} with ${addressBytes}-byte addresses.`,
    );
  }
  const dataType = addressBytes - 1; // S1, S2, S3
  const eol = options.lineEnding ?? '\n';
  const headerText = options.header ?? '';
  const headerBytes = new Uint8Array(headerText.length);
  for (let i = 0; i < headerText.length; i++) headerBytes[i] = headerText.charCodeAt(i) & 0xff;
  const lines: string[] = [srecRecord(0, 0, 2, headerBytes, 0, headerBytes.length)];
  let records = 0;
  for (const seg of img.segments) {
    for (let i = 0; i < seg.data.length; ) {
      const address = seg.address + i;
      const len = Math.min(recordSize - (address % recordSize), seg.data.length - i);
      lines.push(srecRecord(dataType, address, addressBytes, seg.data, i, i + len));
      records++;
      i += len;
    }
  }
  const none = new Uint8Array(0);
  if (options.count !== false && records <= 0xffffff) {
    lines.push(
      records <= 0xffff
        ? srecRecord(5, records, 2, none, 0, 0)
        : srecRecord(6, records, 3, none, 0, 0),
    );
  }
  lines.push(srecRecord(11 - addressBytes, start >>> 0, addressBytes, none, 0, 0));
  return lines.join(eol) + eol;
}
