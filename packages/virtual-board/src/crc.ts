/**
 * The STM32 CRC of architecture contract 4, as the chip's CRC unit computes it (RM0383 §4):
 * polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final XOR, fed whole
 * 32-bit words read little-endian and shifted in most significant bit first. The board
 * answers the core's `hal_crc_stm32` with it.
 */

const POLYNOMIAL = 0x04c11db7;

/** Entry i: the register's top byte i shifted through 8 steps (MSB first). */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let bit = 0; bit < 8; bit++) c = c & 0x80000000 ? (c << 1) ^ POLYNOMIAL : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/**
 * The CRC continued from `crc` over `bytes` (whole words; a trailing partial word is not
 * fed, as the unit only takes words). Start with 0xFFFFFFFF.
 */
export function crcStm32(crc: number, bytes: Uint8Array): number {
  let c = crc >>> 0;
  for (let i = 0; i + 4 <= bytes.length; i += 4) {
    // A little-endian word shifted in MSB first is its bytes from the highest address down.
    for (let k = 3; k >= 0; k--) c = ((c << 8) ^ TABLE[((c >>> 24) ^ bytes[i + k]!) & 0xff]!) >>> 0;
  }
  return c;
}
