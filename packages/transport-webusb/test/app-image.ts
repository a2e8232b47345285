import { SparseImage, stampImage } from '@stm32dfu/image-tools';

/** A bootable stamped application for the virtual board: SP in SRAM, a Thumb reset handler. */
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
  image.fill(0, 0x1c, 0x2c);
  const stamped = stampImage(
    SparseImage.fromBytes(base, image),
    { start: base, size: 480 * 1024 },
    { version: '1.2.3' },
  );
  return stamped.read(base, image.length, 0xff);
}
