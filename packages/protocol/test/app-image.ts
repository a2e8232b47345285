import { SparseImage, stampImage } from '@stm32dfu/image-tools';

const APP_REGION = { start: 0x08008000, size: 480 * 1024 };

/**
 * A bootable application image for the virtual board (architecture contract 4): SP at the
 * top of SRAM, a Thumb reset handler inside the image, pseudo-random code, stamped by
 * image-tools as a user's build would be.
 */
export function makeApp(size: number, seed = 1, base = APP_REGION.start): Uint8Array {
  const image = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    image[i] = x >>> 24;
  }
  const view = new DataView(image.buffer);
  view.setUint32(0, 0x20020000, true);
  view.setUint32(4, (base + 0x101) >>> 0, true);
  image.fill(0, 0x1c, 0x2c); // reserved vector slots 7–10, where the stamp goes
  return restamp(image, base);
}

/** Stamp (or stamp again, after an edit) an image made by makeApp. */
export function restamp(image: Uint8Array, base = APP_REGION.start): Uint8Array {
  const stamped = stampImage(
    SparseImage.fromBytes(base, image),
    { ...APP_REGION, start: base },
    {
      version: '0.1.0',
    },
  );
  return stamped.read(base, image.length, 0xff);
}
