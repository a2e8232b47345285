/** Text formats are ASCII: a string becomes its char codes (low byte) without TextEncoder. */
export function toBytes(input: Uint8Array | string): Uint8Array {
  if (typeof input !== 'string') return input;
  const out = new Uint8Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = input.charCodeAt(i) & 0xff;
  return out;
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
