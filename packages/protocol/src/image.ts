import { hex } from '@stm32dfu/layout';
import { DfuError } from './errors.js';

/** Anything with sparse-image segments (architecture contract 3), e.g. image-tools' SparseImage. */
export interface FlashImage {
  readonly segments: readonly { readonly address: number; readonly data: Uint8Array }[];
}

/** A contiguous run of image bytes at a flash address. */
export interface ImageSegment {
  readonly address: number;
  readonly data: Uint8Array;
}

/** Address-sorted, non-empty, non-overlapping segments; refuses anything else with `IMAGE`. */
export function normalizeImage(image: FlashImage): ImageSegment[] {
  const segments: ImageSegment[] = [];
  for (const [i, seg] of image.segments.entries()) {
    if (
      !Number.isInteger(seg.address) ||
      seg.address < 0 ||
      seg.address + seg.data.length > 0x1_0000_0000
    ) {
      throw new DfuError(
        'IMAGE',
        `Image segment ${i} at ${String(seg.address)} (${seg.data.length} bytes) is not inside the 32-bit address space; ` +
          'check how the image was built or converted.',
      );
    }
    if (seg.data.length > 0) segments.push({ address: seg.address, data: seg.data });
  }
  segments.sort((a, b) => a.address - b.address);
  for (let i = 1; i < segments.length; i++) {
    const prev = segments[i - 1]!;
    const cur = segments[i]!;
    if (cur.address < prev.address + prev.data.length) {
      throw new DfuError(
        'IMAGE',
        `Image segments overlap at ${hex(cur.address)} (the previous one runs to ${hex(prev.address + prev.data.length - 1)}); ` +
          'merge or fix the input files.',
      );
    }
  }
  if (segments.length === 0) {
    throw new DfuError(
      'IMAGE',
      'The image is empty: there is nothing to flash. Check the input file.',
    );
  }
  return segments;
}

/**
 * What flash holds in `[start, start + size)` after the image is written into erased
 * sectors: the image's bytes, 0xFF everywhere else. Also counts the image bytes inside.
 */
export function contentOf(
  segments: readonly ImageSegment[],
  start: number,
  size: number,
): { bytes: Uint8Array; imageBytes: number } {
  const bytes = new Uint8Array(size).fill(0xff);
  let imageBytes = 0;
  const end = start + size;
  for (const seg of segments) {
    const segEnd = seg.address + seg.data.length;
    if (segEnd <= start || seg.address >= end) continue;
    const from = Math.max(start, seg.address);
    const to = Math.min(end, segEnd);
    bytes.set(seg.data.subarray(from - seg.address, to - seg.address), from - start);
    imageBytes += to - from;
  }
  return { bytes, imageBytes };
}
