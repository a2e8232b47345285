import { syntheticApplication } from '@stm32dfu/image-tools/testing';

/** A bootable-shaped, stamped application for the virtual board (image-tools' testing). */
export function makeApp(size: number, seed = 1, base = 0x08008000): Uint8Array {
  return syntheticApplication(size, { seed, base, version: '1.2.3' });
}
