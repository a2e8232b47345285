/**
 * Synthetic application images for tests and benchmarks of anything that flashes: bootable
 * in shape (an initial stack pointer in SRAM, a Thumb reset handler inside the image, the
 * stamp of contract 4), pseudo-random elsewhere, and the same bytes for the same seed on
 * every run. They are not programs: a real chip would fault at the reset handler.
 */
import { SparseImage } from './sparse-image.js';
import { stampImage, type VersionInput } from './stamp.js';

/** Where and how a synthetic application is laid out; defaults fit the Black Pill (F411). */
export interface SyntheticApplicationOptions {
  /** Seed of the pseudo-random contents (a 32-bit linear congruential generator); default 1. */
  readonly seed?: number;
  /** Version in the stamp; default 0.1.0. */
  readonly version?: VersionInput;
  /** Application base, where the vector table goes; default 0x08008000. */
  readonly base?: number;
  /** Size of the application region the stamp is checked against; default 480 kB. */
  readonly regionSize?: number;
  /** Initial stack pointer (the top of SRAM); default 0x20020000. */
  readonly stackTop?: number;
}

/** A stamped, bootable-shaped application image of `size` bytes (a multiple of 4, ≥ 0x2C). */
export function syntheticApplication(
  size: number,
  options: SyntheticApplicationOptions = {},
): Uint8Array {
  const base = options.base ?? 0x08008000;
  const bytes = new Uint8Array(size);
  let x = options.seed ?? 1;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    bytes[i] = x >>> 24;
  }
  const view = new DataView(bytes.buffer);
  view.setUint32(0, options.stackTop ?? 0x20020000, true);
  view.setUint32(4, (base + 0x101) >>> 0, true); // Thumb: bit 0 set
  bytes.fill(0, 0x1c, 0x2c); // reserved vector slots 7–10, where the stamp goes
  return restampApplication(bytes, options);
}

/** `bytes` (an application at the base) with a fresh stamp: its CRC and version. */
export function restampApplication(
  bytes: Uint8Array,
  options: Pick<SyntheticApplicationOptions, 'version' | 'base' | 'regionSize'> = {},
): Uint8Array {
  const base = options.base ?? 0x08008000;
  const region = { start: base, size: options.regionSize ?? 480 * 1024 };
  const stamped = stampImage(SparseImage.fromBytes(base, bytes), region, {
    version: options.version ?? '0.1.0',
  });
  return stamped.read(base, bytes.length, 0xff);
}
