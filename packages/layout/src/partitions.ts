import { type ChipDefinition, type Sector, sectorsOf } from './chips.js';
import { formatSize, hex, LayoutError } from './errors.js';

/**
 * The bootloader's or the application's part of flash: address range in bytes and the erase units
 * it covers.
 */
export interface Partition {
  readonly name: 'bootloader' | 'application';
  readonly start: number;
  readonly size: number;
  /** One past the last byte. */
  readonly end: number;
  /** The erase units the partition is made of, in address order. */
  readonly sectors: readonly Sector[];
}

/**
 * The word the application writes to ask for the bootloader (architecture contract 5).
 * It lives in a small no-init block at the start of SRAM that neither linker script gives
 * to `.data`, `.bss` or the stack, so it survives a system reset (not a power cycle).
 */
export interface BootRequest {
  readonly address: number;
  /** Written to `address`; its bitwise complement is written to `address + 4`. */
  readonly magic: number;
  /** Size of the reserved no-init block, bytes. */
  readonly noInitSize: number;
}

/**
 * How a board's flash is split, and where the application leaves its request to enter the
 * bootloader.
 */
export interface PartitionMap {
  readonly bootloader: Partition;
  readonly application: Partition;
  readonly bootRequest: BootRequest;
}

/** "DFU!" read as a little-endian word would be 0x21554644; this is BOOTLOAD-ish and unlikely in noise. */
export const BOOT_REQUEST_MAGIC = 0xb007_10ad;
/**
 * Bytes reserved at the start of SRAM for the boot request (magic and its complement, with room to
 * spare).
 */
export const NO_INIT_SIZE = 16;

/** Cortex-M4 VTOR needs the table aligned to its size rounded up to a power of two (≥ 128 words). */
const VECTOR_TABLE_ALIGN = 512;

/** How to split the flash: the bootloader's size in bytes, from the flash base. */
export interface PartitionOptions {
  readonly bootloaderSize: number;
}

/**
 * Split a chip's flash into the bootloader (from the flash base) and the application (the
 * rest). Both must start and end on erase-unit boundaries, or erasing one would erase part
 * of the other.
 */
export function definePartitions(chip: ChipDefinition, options: PartitionOptions): PartitionMap {
  const sectors = sectorsOf(chip.flash);
  const blEnd = chip.flash.base + options.bootloaderSize;
  const boundary = sectors.find((s) => s.start === blEnd);
  if (!boundary) {
    throw new LayoutError(
      'UNALIGNED_PARTITION',
      `A ${formatSize(options.bootloaderSize)} bootloader on ${chip.name} ends at ${hex(blEnd)}, ` +
        `which is not the start of a ${chip.flash.eraseUnit}: pick a size that ends on one ` +
        `(e.g. ${sectors
          .slice(1, 4)
          .map((s) => formatSize(s.start - chip.flash.base))
          .join(', ')}).`,
      { address: blEnd },
    );
  }
  if (blEnd % VECTOR_TABLE_ALIGN !== 0) {
    throw new LayoutError(
      'UNALIGNED_PARTITION',
      `The application would start at ${hex(blEnd)}, which VTOR cannot point at (needs ${VECTOR_TABLE_ALIGN}-byte alignment).`,
      { address: blEnd },
    );
  }
  const flashEnd = chip.flash.base + chip.flash.size;
  const part = (name: Partition['name'], start: number, end: number): Partition =>
    Object.freeze({
      name,
      start,
      size: end - start,
      end,
      sectors: sectors.filter((s) => s.start >= start && s.end <= end),
    });
  const ram = chip.sram[0]!;
  return Object.freeze({
    bootloader: part('bootloader', chip.flash.base, blEnd),
    application: part('application', blEnd, flashEnd),
    bootRequest: Object.freeze({
      address: ram.start,
      magic: BOOT_REQUEST_MAGIC,
      noInitSize: NO_INIT_SIZE,
    }),
  });
}
