/**
 * The STM32 CRC unit's CRC (RM0383 §4, architecture contract 4): polynomial 0x04C11DB7,
 * initial 0xFFFFFFFF, no reflection, no final XOR, fed 32-bit little-endian words most
 * significant bit first. Byte-wise that is CRC-32/MPEG-2 over each word's bytes reversed.
 * The bootloader's CRC command (0xB1) answers with this value.
 */

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** CRC of `data` (its length a multiple of 4), continuing from `crc`. */
export function stm32Crc(data: Uint8Array, crc = 0xffffffff): number {
  let c = crc >>> 0;
  const words = data.length - (data.length % 4);
  for (let i = 0; i < words; i += 4) {
    c = (c << 8) ^ TABLE[((c >>> 24) ^ data[i + 3]!) & 0xff]!;
    c = (c << 8) ^ TABLE[((c >>> 24) ^ data[i + 2]!) & 0xff]!;
    c = (c << 8) ^ TABLE[((c >>> 24) ^ data[i + 1]!) & 0xff]!;
    c = (c << 8) ^ TABLE[((c >>> 24) ^ data[i]!) & 0xff]!;
  }
  return c >>> 0;
}
