import { ImageError } from './errors.js';

function makeReflectedTable(poly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

function makeForwardTable(poly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ poly : c << 1;
    table[n] = c >>> 0;
  }
  return table;
}

const IEEE_TABLE = makeReflectedTable(0xedb88320);
const STM32_TABLE = makeForwardTable(0x04c11db7);

/**
 * CRC-32/ISO-HDLC (zlib, PNG, Ethernet). `seed` is a previous result, so
 * `crc32(b, crc32(a)) === crc32(concat(a, b))`.
 */
export function crc32(bytes: Uint8Array, seed = 0): number {
  let c = ~seed >>> 0;
  for (let i = 0; i < bytes.length; i++) c = IEEE_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * The raw register value of the DFU suffix CRC (DFU 1.1 appendix B): reflected 0xEDB88320,
 * init 0xFFFFFFFF, no final XOR. It equals the bitwise NOT of `crc32`.
 */
export function crc32DfuSuffix(bytes: Uint8Array): number {
  return ~crc32(bytes) >>> 0;
}

/**
 * What the STM32F4 CRC unit computes (RM0383 §4): poly 0x04C11DB7, init 0xFFFFFFFF (or
 * `seed`), no reflection, no final XOR, fed whole 32-bit words read little-endian, most
 * significant bit first. `bytes.length` must be a multiple of 4.
 */
export function crc32Stm32Words(bytes: Uint8Array, seed = 0xffffffff): number {
  if (bytes.length % 4 !== 0) {
    throw new ImageError(
      'NOT_WORD_ALIGNED',
      `The STM32 CRC unit takes whole 32-bit words, but ${bytes.length} bytes is not a multiple of 4; pad the data with 0xFF.`,
      { offset: bytes.length - (bytes.length % 4) },
    );
  }
  let c = seed >>> 0;
  for (let i = 0; i < bytes.length; i += 4) {
    // Word = b0 | b1<<8 | b2<<16 | b3<<24, shifted in from bit 31: feed b3 first.
    c = (c << 8) ^ STM32_TABLE[((c >>> 24) ^ bytes[i + 3]!) & 0xff]!;
    c = (c << 8) ^ STM32_TABLE[((c >>> 24) ^ bytes[i + 2]!) & 0xff]!;
    c = (c << 8) ^ STM32_TABLE[((c >>> 24) ^ bytes[i + 1]!) & 0xff]!;
    c = (c << 8) ^ STM32_TABLE[((c >>> 24) ^ bytes[i]!) & 0xff]!;
  }
  return c >>> 0;
}

// FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes.
const K256 = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/**
 * SHA-256 (FIPS 180-4), synchronous and dependency-free so the package runs unchanged in
 * browsers (WebCrypto's digest is async only).
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  // Padding (§5.1.1): 0x80, zeros, then the bit length as a 64-bit big-endian number.
  const blocks = Math.ceil((bytes.length + 9) / 64);
  const padded = new Uint8Array(blocks * 64);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  const bitLength = bytes.length * 8;
  view.setUint32(padded.length - 8, Math.floor(bitLength / 0x1_0000_0000));
  view.setUint32(padded.length - 4, bitLength >>> 0);
  const w = new Uint32Array(64);
  for (let block = 0; block < blocks; block++) {
    for (let t = 0; t < 16; t++) w[t] = view.getUint32(block * 64 + t * 4);
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15]!;
      const y = w[t - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) >>> 0;
    }
    let a = h[0]!;
    let b = h[1]!;
    let c = h[2]!;
    let d = h[3]!;
    let e = h[4]!;
    let f = h[5]!;
    let g = h[6]!;
    let hh = h[7]!;
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K256[t]! + w[t]!) >>> 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] = h[0]! + a;
    h[1] = h[1]! + b;
    h[2] = h[2]! + c;
    h[3] = h[3]! + d;
    h[4] = h[4]! + e;
    h[5] = h[5]! + f;
    h[6] = h[6]! + g;
    h[7] = h[7]! + hh;
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) outView.setUint32(i * 4, h[i]!);
  return out;
}

/** Lower-case hex of bytes, e.g. for printing a SHA-256. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s;
}

/** SHA-256 of the bytes as 64 lower-case hex digits, the form release catalogs list images by. */
export function sha256Hex(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}
