import {
  type BoardLayout,
  type ErasePlan,
  erasePlan,
  type Region,
  type RegionName,
  regionOf,
  type Sector,
} from '@stm32dfu/layout';
import { hex, ImageError } from './errors.js';
import { type ImageLike, SparseImage } from './sparse-image.js';
import { type StampCheck, verifyStamp } from './stamp.js';

/**
 * How `validateImage` checks an image: the region it targets, whether to check the vector table,
 * the file name for messages.
 */
export interface ValidateOptions {
  /** Where the image will be written (default `application`). */
  readonly region?: RegionName;
  /** Check the vector table at the region start (default true). */
  readonly vectorTable?: boolean;
  /** File name for messages. */
  readonly file?: string;
}

/**
 * The first two vector-table words at the region start: the initial stack pointer and the reset
 * handler address.
 */
export interface VectorTableInfo {
  readonly address: number;
  readonly initialSp: number;
  readonly resetHandler: number;
}

/**
 * What `validateImage` found: where the image lands, what must be erased, the vector table and
 * stamp, and warnings worth showing.
 */
export interface ValidationReport {
  readonly region: Region;
  readonly start: number;
  readonly end: number;
  /** Bytes present. */
  readonly size: number;
  /** Erase units touched, and their datasheet erase time. */
  readonly erase: ErasePlan;
  readonly sectors: readonly Sector[];
  readonly vectorTable?: VectorTableInfo;
  /** For the application region: what the bootloader's stamp check will say. */
  readonly stamp?: StampCheck;
  /** Things that do not stop a flash but deserve a line in the output. */
  readonly warnings: readonly string[];
}

function u32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0
  );
}

/**
 * Check an image against a board's memory before flashing: it fits the region, it has
 * no byte in the bootloader's sectors (for the application), and its vector table is
 * sane (initial SP in SRAM, SP == end of SRAM allowed; reset handler in the region with
 * the Thumb bit set). Throws `ImageError`; overlaps were already refused by the reader.
 */
export function validateImage(
  image: ImageLike,
  layout: BoardLayout,
  options: ValidateOptions = {},
): ValidationReport {
  const img = SparseImage.from(image);
  const file = options.file ?? 'image';
  const regionName = options.region ?? 'application';
  const region = regionOf(layout, regionName);
  if (img.isEmpty) {
    throw new ImageError('EMPTY_IMAGE', `${file} holds no bytes; there is nothing to flash.`, {
      file,
    });
  }
  const bl = layout.partitions.bootloader;
  if (regionName === 'application') {
    const inBootloader = img.crop(bl.start, bl.end);
    if (!inBootloader.isEmpty) {
      throw new ImageError(
        'IN_BOOTLOADER',
        `${file} has bytes at ${hex(inBootloader.start)}–${hex(inBootloader.end - 1)}, inside the bootloader ` +
          `(${hex(bl.start)}–${hex(bl.end - 1)}, sectors ${bl.sectors.map((s) => s.number).join(', ')}). ` +
          `Link the application at ${hex(region.start)} with memory-application.ld.`,
        { file, address: inBootloader.start },
      );
    }
  }
  if (img.start < region.start || img.end > region.end) {
    const address = img.start < region.start ? img.start : Math.max(img.start, region.end);
    throw new ImageError(
      'OUTSIDE_REGION',
      `${file} spans ${hex(img.start)}–${hex(img.end - 1)}, outside the ${region.name} region ` +
        `(${hex(region.start)}–${hex(region.end - 1)}); first byte outside at ${hex(address)}.`,
      { file, address },
    );
  }
  const warnings: string[] = [];
  let vectorTable: VectorTableInfo | undefined;
  if (options.vectorTable !== false) {
    vectorTable = checkVectorTable(img, layout, region, file);
    if (!img.covers(vectorTable.resetHandler & ~1, 2)) {
      warnings.push(
        `The reset handler ${hex(vectorTable.resetHandler)} points at bytes this image does not contain.`,
      );
    }
  }
  let stamp: StampCheck | undefined;
  if (regionName === 'application') {
    stamp = verifyStamp(img, layout);
    if (stamp.verdict !== 'valid') {
      warnings.push(`${stamp.message} The bootloader will not start it; stamp it first.`);
    }
  }
  const erase = erasePlan(layout, img.ranges(), regionName);
  return {
    region,
    start: img.start,
    end: img.end,
    size: img.size,
    erase,
    sectors: erase.sectors,
    ...(vectorTable && { vectorTable }),
    ...(stamp && { stamp }),
    warnings,
  };
}

function checkVectorTable(
  img: SparseImage,
  layout: BoardLayout,
  region: Region,
  file: string,
): VectorTableInfo {
  const address = region.start;
  if (!img.covers(address, 8)) {
    throw new ImageError(
      'BAD_VECTOR_TABLE',
      `${file} has no vector table at ${hex(address)} (the start of the ${region.name} region): ` +
        `the image starts at ${hex(img.start)}. Link it at ${hex(address)}, or skip the check for a partial image.`,
      { file, address },
    );
  }
  const words = img.read(address, 8);
  const initialSp = u32(words, 0);
  const resetHandler = u32(words, 4);
  // The stack grows down and is pre-decremented, so SP == end of SRAM is the usual value.
  const ram = layout.chip.sram.find((r) => initialSp > r.start && initialSp <= r.start + r.size);
  if (!ram || initialSp % 4 !== 0) {
    const srams = layout.chip.sram
      .map((r) => `${r.name} ${hex(r.start)}–${hex(r.start + r.size)}`)
      .join(', ');
    throw new ImageError(
      'BAD_VECTOR_TABLE',
      `${file} at ${hex(address)}: initial stack pointer ${hex(initialSp)} is not a word-aligned address ` +
        `in SRAM (${srams}); this is not a Cortex-M vector table, or the image is linked for another address.`,
      { file, address },
    );
  }
  const target = resetHandler & ~1;
  if ((resetHandler & 1) === 0 || target < region.start || target >= region.end) {
    throw new ImageError(
      'BAD_VECTOR_TABLE',
      `${file} at ${hex(address + 4)}: reset handler ${hex(resetHandler)} ` +
        ((resetHandler & 1) === 0
          ? 'lacks the Thumb bit (bit 0); Cortex-M executes Thumb code only.'
          : `is outside the ${region.name} region (${hex(region.start)}–${hex(region.end - 1)}).`),
      { file, address: address + 4 },
    );
  }
  return { address, initialSp, resetHandler };
}
