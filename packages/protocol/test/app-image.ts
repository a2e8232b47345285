import { restampApplication, syntheticApplication } from '@stm32dfu/image-tools/testing';

/** A bootable-shaped, stamped application image for the virtual board (image-tools' testing). */
export function makeApp(size: number, seed = 1, base = 0x08008000): Uint8Array {
  return syntheticApplication(size, { seed, base });
}

/** Stamp (or stamp again, after an edit) an image made by makeApp. */
export function restamp(image: Uint8Array, base = 0x08008000): Uint8Array {
  return restampApplication(image, { base });
}
