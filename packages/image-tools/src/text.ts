/**
 * Text formats are ASCII: a string becomes its char codes (low byte) without TextEncoder.
 * A leading U+FEFF (the UTF-8 byte-order mark of Windows editors, as decoded text holds
 * it) is dropped: it is not part of the first line the user sees.
 */
export function toBytes(input: Uint8Array | string): Uint8Array {
  if (typeof input !== 'string') return input;
  const from = input.charCodeAt(0) === 0xfeff ? 1 : 0;
  const out = new Uint8Array(input.length - from);
  for (let i = from; i < input.length; i++) out[i - from] = input.charCodeAt(i) & 0xff;
  return out;
}

/**
 * Length of the UTF-8 byte-order mark (EF BB BF) at the start of `bytes`, else 0. Readers
 * start their first line after it, so its columns match what an editor shows.
 */
export function byteOrderMarkLength(bytes: Uint8Array): number {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}

/** Bytes as a Latin-1 string (ASCII for every text format here). */
export function toText(bytes: Uint8Array): string {
  let s = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + step)));
  }
  return s;
}

/** Value of an ASCII hex digit, or -1: one table lookup per character in the hot loops. */
export const HEX_DIGIT: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/** Two upper-case hex digits for every byte value, for the writers. */
export const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).toUpperCase().padStart(2, '0'),
);

/** How a character looks in a message: printable as itself, others as a code. */
export function showChar(code: number | undefined): string {
  if (code === undefined) return 'end of file';
  if (code === 10 || code === 13) return 'end of line';
  if (code >= 0x21 && code < 0x7f) return `'${String.fromCharCode(code)}'`;
  return `byte 0x${code.toString(16).toUpperCase().padStart(2, '0')}`;
}
