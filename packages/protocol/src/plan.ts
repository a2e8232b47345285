import {
  type DfuseLayout,
  type DfuseSector,
  type FlashTimings,
  formatSize,
  hex,
} from '@stm32dfu/layout';
import { AddressError } from './errors.js';
import { contentOf, type FlashImage, type ImageSegment, normalizeImage } from './image.js';

/** How sectors were compared with the device before planning. */
export type CompareMethod = 'crc' | 'read-back' | 'off';

/** One sector a download touches, what will be done to it and how many bytes it takes. */
export interface PlannedSector {
  readonly start: number;
  readonly size: number;
  readonly end: number;
  /**
   * `erase` = erase, then write; `write` = the sector is already blank, write only;
   * `skip` = the device already holds exactly this content.
   */
  readonly action: 'erase' | 'write' | 'skip';
  /** Image bytes inside the sector (the rest of the sector ends up erased, 0xFF). */
  readonly imageBytes: number;
  /** Bytes sent to the device for this sector (0xFF-only blocks are not sent). */
  readonly writeBytes: number;
}

/** One DNLOAD data block: `address` is where its first byte lands. */
export interface PlannedBlock {
  readonly address: number;
  readonly data: Uint8Array;
}

/**
 * How long a plan should take, ms: erase and programming from the datasheet, USB transfer from the
 * throughput given.
 */
export interface FlashEstimate {
  readonly eraseMs: number;
  readonly programMs: number;
  /** USB time, when a throughput was given. */
  readonly transferMs?: number;
  readonly totalMs: number;
}

/**
 * What a download will do, sector by sector and block by block, and what it costs in bytes and
 * time; `--dry-run` prints it.
 */
export interface FlashPlan {
  /** The device memory (DfuSe alt setting name) the plan is for. */
  readonly memory: string;
  readonly sectors: readonly PlannedSector[];
  /** Blocks to write, in the order they are sent (the held-back first block is last). */
  readonly blocks: readonly PlannedBlock[];
  /** The block at the start of the writable region, sent last, or undefined. */
  readonly heldBackBlock: number | undefined;
  readonly compare: CompareMethod;
  readonly eraseBytes: number;
  readonly writeBytes: number;
  readonly skippedBytes: number;
  readonly imageBytes: number;
  readonly estimate?: FlashEstimate;
}

/**
 * What `planFlash` needs beyond the image: the device's layout and transfer size, what the device
 * already holds, and the numbers for the estimate.
 */
export interface PlanInput {
  readonly layout: DfuseLayout;
  readonly transferSize: number;
  /** Sector starts whose device content already equals the plan's content. */
  readonly unchanged?: ReadonlySet<number>;
  /** Sector starts the device reports fully erased (0xFF): written without an erase. */
  readonly blank?: ReadonlySet<number>;
  readonly compare?: CompareMethod;
  readonly timings?: FlashTimings;
  /** Sustained USB throughput for the estimate, bytes per millisecond. */
  readonly bytesPerMs?: number;
}

/** The layout's sector holding `address`, or undefined (sectors are listed in address order). */
export function findSector(layout: DfuseLayout, address: number): DfuseSector | undefined {
  const sectors = layout.sectors;
  let lo = 0;
  let hi = sectors.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = sectors[mid]!;
    if (address < s.start) hi = mid - 1;
    else if (address >= s.end) lo = mid + 1;
    else return s;
  }
  return undefined;
}

/**
 * The sectors an image touches, checked before anything is sent: every byte must fall in a
 * sector the device announces as erasable and writable.
 */
export function touchedSectors(
  layout: DfuseLayout,
  segments: readonly ImageSegment[],
): DfuseSector[] {
  const touched = new Map<number, DfuseSector>();
  for (const seg of segments) {
    let address = seg.address;
    const end = seg.address + seg.data.length;
    while (address < end) {
      const sector = findSector(layout, address);
      if (!sector) {
        throw new AddressError(
          address,
          `The image has data at ${hex(address)}, outside the device's "${layout.name}" memory ` +
            `(${describeLayout(layout)}). Check the image's load address.`,
        );
      }
      if (!sector.writable || !sector.erasable) {
        throw new AddressError(
          address,
          `The image has data at ${hex(address)}, in the ${formatSize(sector.size)} sector at ${hex(sector.start)} ` +
            `that the device lists as ${sector.writable ? 'not erasable' : 'read-only'}. ` +
            'Nothing was written. Application images must start at the first writable sector.',
        );
      }
      touched.set(sector.start, sector);
      address = sector.end;
    }
  }
  return [...touched.values()].sort((a, b) => a.start - b.start);
}

function describeLayout(layout: DfuseLayout): string {
  return layout.segments
    .map((s) => {
      const size = s.groups.reduce((n, g) => n + g.count * g.size, 0);
      return `${hex(s.address)}–${hex(s.address + size - 1)}`;
    })
    .join(', ');
}

/** The lowest writable address: the application base on our bootloader, flash base on ST's ROM. */
export function firstWritableAddress(layout: DfuseLayout): number | undefined {
  return layout.sectors.find((s) => s.writable)?.start;
}

/** Bytes up to and including the last one that is not 0xFF. */
function usedLength(bytes: Uint8Array): number {
  for (let i = bytes.length - 1; i >= 0; i--) if (bytes[i] !== 0xff) return i + 1;
  return 0;
}

/** The bytes each chunk is cut to: the transfer size, rounded down to whole words. */
export function chunkSizeFor(transferSize: number): number {
  return Math.max(4, transferSize - (transferSize % 4));
}

/**
 * Plan a download without talking to the device. Sectors in `unchanged` are skipped, those
 * in `blank` are written without an erase; every other touched sector is erased whole and gets the image bytes, so bytes of a partly
 * covered sector that are not in the image end up erased (0xFF). Blocks holding only 0xFF
 * are not sent: the erase already produced them.
 */
export function planFlash(image: FlashImage, input: PlanInput): FlashPlan {
  const segments = normalizeImage(image);
  const sectors = touchedSectors(input.layout, segments);
  const chunkSize = chunkSizeFor(input.transferSize);
  const firstWritable = firstWritableAddress(input.layout);
  const planned: PlannedSector[] = [];
  const blocks: PlannedBlock[] = [];
  let held: PlannedBlock | undefined;
  let eraseBytes = 0;
  let writeBytes = 0;
  let skippedBytes = 0;
  let imageBytes = 0;
  let programWords = 0;
  for (const sector of sectors) {
    const content = contentOf(segments, sector.start, sector.size);
    imageBytes += content.imageBytes;
    if (input.unchanged?.has(sector.start)) {
      planned.push({
        ...pick(sector),
        action: 'skip',
        imageBytes: content.imageBytes,
        writeBytes: 0,
      });
      skippedBytes += sector.size;
      continue;
    }
    let sectorWrite = 0;
    for (let offset = 0; offset < sector.size; offset += chunkSize) {
      const chunk = content.bytes.subarray(offset, Math.min(offset + chunkSize, sector.size));
      const used = usedLength(chunk);
      if (used === 0) continue;
      // Trailing 0xFF is already in the erased sector: send whole words up to the last data byte.
      const data = chunk.subarray(0, Math.min(chunk.length, Math.ceil(used / 4) * 4));
      const block = { address: sector.start + offset, data };
      // Contract 6: the vector table and stamp go last, so a cut leaves no bootable half-image.
      if (block.address === firstWritable) held = block;
      else blocks.push(block);
      sectorWrite += data.length;
      programWords += Math.ceil(data.length / 4);
    }
    const blank = input.blank?.has(sector.start) ?? false;
    planned.push({
      ...pick(sector),
      action: blank ? 'write' : 'erase',
      imageBytes: content.imageBytes,
      writeBytes: sectorWrite,
    });
    if (!blank) eraseBytes += sector.size;
    writeBytes += sectorWrite;
  }
  if (held) blocks.push(held);
  const plan: FlashPlan = {
    memory: input.layout.name,
    sectors: planned,
    blocks,
    heldBackBlock: held?.address,
    compare: input.compare ?? 'off',
    eraseBytes,
    writeBytes,
    skippedBytes,
    imageBytes,
  };
  if (!input.timings) return plan;
  let eraseMs = 0;
  for (const s of planned) {
    if (s.action === 'erase') eraseMs += input.timings.eraseMs[s.size]?.typ ?? 0;
  }
  const programMs = (programWords * input.timings.programUs.typ) / 1000;
  const transferMs = input.bytesPerMs ? writeBytes / input.bytesPerMs : undefined;
  const estimate: FlashEstimate = {
    eraseMs,
    programMs,
    totalMs: eraseMs + programMs + (transferMs ?? 0),
    ...(transferMs === undefined ? {} : { transferMs }),
  };
  return { ...plan, estimate };
}

function pick(s: DfuseSector): { start: number; size: number; end: number } {
  return { start: s.start, size: s.size, end: s.end };
}

/** The plan as lines for people (the CLI's `--dry-run`). */
export function formatPlan(plan: FlashPlan): string {
  const lines = [`Flash plan for "${plan.memory}" (compare: ${plan.compare})`];
  for (const s of plan.sectors) {
    const what =
      s.action === 'skip'
        ? 'skip   (unchanged)'
        : `${s.action === 'erase' ? 'erase' : 'blank'}  write ${formatSize(s.writeBytes).padStart(7)}`;
    lines.push(
      `  ${hex(s.start)} ${formatSize(s.size).padStart(7)}  ${what}  image ${formatSize(s.imageBytes)}`,
    );
  }
  lines.push(
    `  erase ${formatSize(plan.eraseBytes)}, write ${formatSize(plan.writeBytes)} in ${plan.blocks.length} blocks, ` +
      `skip ${formatSize(plan.skippedBytes)}`,
  );
  if (plan.heldBackBlock !== undefined) {
    lines.push(`  the block at ${hex(plan.heldBackBlock)} (vector table) is written last`);
  }
  if (plan.estimate) {
    const e = plan.estimate;
    const usb = e.transferMs === undefined ? '' : `, USB ${Math.round(e.transferMs)} ms`;
    lines.push(
      `  estimated ${(e.totalMs / 1000).toFixed(1)} s (erase ${Math.round(e.eraseMs)} ms, program ${Math.round(e.programMs)} ms${usb})`,
    );
  }
  return lines.join('\n');
}
