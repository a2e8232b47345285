import type { BoardLayout } from './boards.js';
import { type FlashGeometry, type Sector, sectorsOf } from './chips.js';
import { formatSize, hex, LayoutError } from './errors.js';
import type { Partition } from './partitions.js';

/** A half-open byte range `[start, end)`. */
export interface AddressRange {
  readonly start: number;
  readonly end: number;
}

/** Where a write may land: one partition, or the whole flash (ST's ROM bootloader). */
export type RegionName = 'application' | 'bootloader' | 'flash';

/** An address range a write may land in, `end` one past the last byte. */
export interface Region {
  readonly name: RegionName;
  readonly start: number;
  readonly end: number;
}

function flashOf(target: BoardLayout | FlashGeometry): FlashGeometry {
  return 'chip' in target ? target.chip.flash : target;
}

/** The address range of a board's application, bootloader or whole flash. */
export function regionOf(layout: BoardLayout, name: RegionName): Region {
  if (name === 'flash') {
    const f = layout.chip.flash;
    return { name, start: f.base, end: f.base + f.size };
  }
  const p: Partition = layout.partitions[name];
  return { name, start: p.start, end: p.end };
}

/** The erase unit containing `address`; throws `ADDRESS_OUTSIDE_FLASH`. */
export function sectorAt(target: BoardLayout | FlashGeometry, address: number): Sector {
  const flash = flashOf(target);
  const sectors = sectorsOf(flash);
  // Binary search: page-based parts have hundreds of pages.
  let lo = 0;
  let hi = sectors.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = sectors[mid]!;
    if (address < s.start) hi = mid - 1;
    else if (address >= s.end) lo = mid + 1;
    else return s;
  }
  throw new LayoutError(
    'ADDRESS_OUTSIDE_FLASH',
    `Address ${hex(address)} is outside flash (${hex(flash.base)}–${hex(flash.base + flash.size - 1)}).`,
    { address },
  );
}

function checkRangeShape(range: AddressRange): void {
  if (
    !Number.isInteger(range.start) ||
    !Number.isInteger(range.end) ||
    range.start < 0 ||
    range.end > 0x1_0000_0000 ||
    range.end < range.start
  ) {
    throw new LayoutError(
      'INVALID_RANGE',
      `Invalid address range [${hex(range.start)}, ${hex(range.end)}): start and end must be 32-bit addresses with start ≤ end.`,
      { address: range.start },
    );
  }
}

/**
 * Check that a range lies inside a region. Reaching into the bootloader from the
 * application region is its own error (`RANGE_IN_BOOTLOADER`): it is the mistake that
 * would brick a board, and the message says so.
 */
export function checkRange(
  layout: BoardLayout,
  range: AddressRange,
  regionName: RegionName = 'application',
): void {
  checkRangeShape(range);
  if (range.end === range.start) return;
  const flash = layout.chip.flash;
  const flashEnd = flash.base + flash.size;
  if (range.start < flash.base || range.end > flashEnd) {
    const address = range.start < flash.base ? range.start : Math.max(range.start, flashEnd);
    throw new LayoutError(
      'RANGE_OUTSIDE_FLASH',
      `Range [${hex(range.start)}, ${hex(range.end)}) reaches outside ${layout.chip.name} flash ` +
        `(${hex(flash.base)}–${hex(flashEnd - 1)}), first bad address ${hex(address)}.`,
      { address },
    );
  }
  const region = regionOf(layout, regionName);
  const bl = layout.partitions.bootloader;
  if (regionName === 'application' && range.start < bl.end) {
    throw new LayoutError(
      'RANGE_IN_BOOTLOADER',
      `Range [${hex(range.start)}, ${hex(range.end)}) reaches into the bootloader partition ` +
        `(${hex(bl.start)}–${hex(bl.end - 1)}). Application images start at ${hex(bl.end)}; ` +
        `was the image linked for the bootloader, or without the application linker fragment?`,
      { address: range.start },
    );
  }
  if (range.start < region.start || range.end > region.end) {
    const address = range.start < region.start ? range.start : region.end;
    throw new LayoutError(
      'RANGE_OUTSIDE_REGION',
      `Range [${hex(range.start)}, ${hex(range.end)}) is outside the ${region.name} region ` +
        `(${hex(region.start)}–${hex(region.end - 1)}), first bad address ${hex(address)}.`,
      { address },
    );
  }
}

/** Throws `UNALIGNED_ADDRESS` unless `address` is a multiple of `alignment`. */
export function checkAlignment(address: number, alignment: number, what = 'Address'): void {
  if (address % alignment !== 0) {
    throw new LayoutError(
      'UNALIGNED_ADDRESS',
      `${what} ${hex(address)} is not aligned to ${formatSize(alignment)}.`,
      { address },
    );
  }
}

/** The erase units to erase before writing some ranges, and how long that takes. */
export interface ErasePlan {
  /** The erase units to erase, in address order, each once. */
  readonly sectors: readonly Sector[];
  /** Total bytes erased. */
  readonly bytes: number;
  /** Datasheet estimate, milliseconds, when the chip's timings are known. */
  readonly estimatedMs?: { readonly typ: number; readonly max: number };
}

/**
 * The erase units that must be erased before writing `ranges`, checked against a region
 * first (the application by default), so a plan never includes the bootloader's sectors
 * unless the caller asked for the whole flash.
 */
export function erasePlan(
  layout: BoardLayout,
  ranges: readonly AddressRange[],
  regionName: RegionName = 'application',
): ErasePlan {
  const chosen = new Map<number, Sector>();
  for (const range of ranges) {
    checkRange(layout, range, regionName);
    if (range.end === range.start) continue;
    const first = sectorAt(layout, range.start).index;
    const last = sectorAt(layout, range.end - 1).index;
    const all = sectorsOf(layout.chip.flash);
    for (let i = first; i <= last; i++) chosen.set(i, all[i]!);
  }
  const sectors = [...chosen.values()].sort((a, b) => a.start - b.start);
  const bytes = sectors.reduce((n, s) => n + s.size, 0);
  const timings = layout.chip.timings;
  if (!timings) return { sectors, bytes };
  let typ = 0;
  let max = 0;
  for (const s of sectors) {
    const t = timings.eraseMs[s.size];
    typ += t?.typ ?? 0;
    max += t?.max ?? 0;
  }
  return { sectors, bytes, estimatedMs: { typ, max } };
}
