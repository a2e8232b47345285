import { stm32Crc } from '../src/crc.ts';

/**
 * A bootable application image for the virtual board (architecture contract 4): SP at the
 * top of SRAM, a Thumb reset handler inside the image, pseudo-random code, and the stamp.
 */
export function makeApp(size: number, seed = 1, base = 0x08008000): Uint8Array {
  const image = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    image[i] = x >>> 24;
  }
  const view = new DataView(image.buffer);
  view.setUint32(0, 0x20020000, true);
  view.setUint32(4, (base + 0x101) >>> 0, true);
  view.setUint32(0x1c, 0x504d5453, true);
  view.setUint32(0x20, size, true);
  view.setUint32(0x28, 0x00010000, true);
  // The CRC covers every word but its own (at 0x24).
  const crc = stm32Crc(image.subarray(0x28), stm32Crc(image.subarray(0, 0x24)));
  view.setUint32(0x24, crc, true);
  return image;
}
