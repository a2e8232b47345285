import type { Sector } from '@stm32dfu/layout';
import { hex, ImageError } from './errors.js';

/** One contiguous run of bytes at an address (architecture contract 3). */
export interface Segment {
  readonly address: number;
  readonly data: Uint8Array;
}

/** Anything with the contract-3 shape: what the protocol accepts as a flash image. */
export interface ImageLike {
  readonly segments: readonly Segment[];
}

/** Where a piece came from, so an overlap can name both sides. */
export interface PieceSource {
  readonly file?: string;
  /** First line of the piece (text formats). */
  readonly line?: number;
  /** Last line of the piece when it spans several records. */
  readonly lastLine?: number;
  /** Byte offset of the piece in the file (binary formats). */
  readonly offset?: number;
  /** A name: an ELF section list, a DfuSe element, an argument. */
  readonly label?: string;
}

export interface ImagePiece extends Segment {
  readonly source?: PieceSource;
}

/**
 * What to do when two pieces claim the same byte: refuse (the default; a linker script or
 * a concatenation mistake), or let the later or the earlier piece win.
 */
export type OverlapPolicy = 'error' | 'last-wins' | 'first-wins';

/** Options for building an image from pieces: what to do when two pieces write the same byte. */
export interface BuildOptions {
  readonly overlap?: OverlapPolicy;
}

/** An address range in bytes, `end` exclusive. */
export interface AddressSpan {
  readonly start: number;
  /** One past the last byte. */
  readonly end: number;
}

/** One transfer-size block of an image, as `chunks()` yields it for a DFU download. */
export interface ImageChunk {
  readonly address: number;
  /** Chunk number counted from the base: DfuSe sends it as `wBlockNum - 2`. */
  readonly index: number;
  readonly data: Uint8Array;
}

/** How `chunks()` aligns, pads and fills blocks. */
export interface ChunkOptions {
  /** Chunks are aligned to `base + k * size`; defaults to the image start. */
  readonly base?: number;
  /** Pad every chunk to its full size (default: only fill gaps between the chunk's first and last byte). */
  readonly pad?: boolean;
  /** Byte used for gaps and padding (default 0xFF, erased flash). */
  readonly fill?: number;
}

/** The part of an image that falls in one erase unit, as `bySector()` yields it. */
export interface SectorSlice {
  readonly sector: Sector;
  /** The part of the image inside the sector. */
  readonly image: SparseImage;
}

const ADDRESS_LIMIT = 0x1_0000_0000;

/** `app.hex line 12–30`, `app.elf section .data`, `piece 3`. */
export function describeSource(source: PieceSource | undefined, index: number): string {
  if (!source) return `piece ${index + 1}`;
  const file = source.file ?? 'input';
  if (source.line !== undefined) {
    const lines =
      source.lastLine !== undefined && source.lastLine !== source.line
        ? `lines ${source.line}–${source.lastLine}`
        : `line ${source.line}`;
    return `${file} ${lines}`;
  }
  if (source.label !== undefined) return `${file} ${source.label}`;
  if (source.offset !== undefined) return `${file} offset ${hex(source.offset, 1)}`;
  return file;
}

function checkPiece(piece: ImagePiece, index: number): void {
  const { address, data } = piece;
  if (!Number.isInteger(address) || address < 0 || address + data.length > ADDRESS_LIMIT) {
    throw new ImageError(
      'ADDRESS_RANGE',
      `${describeSource(piece.source, index)}: ${data.length} bytes at ${hex(address)} do not fit ` +
        `the 32-bit address space; check the base address or the extended address records.`,
      {
        ...(piece.source?.file !== undefined && { file: piece.source.file }),
        ...(piece.source?.line !== undefined && { line: piece.source.line }),
        address,
      },
    );
  }
}

function overlapError(pieces: readonly ImagePiece[], a: number, b: number): never {
  // Name the later piece (in input order) as the offender: that is where the reader stops.
  const [first, second] = a < b ? [a, b] : [b, a];
  const p1 = pieces[first]!;
  const p2 = pieces[second]!;
  const start = Math.max(p1.address, p2.address);
  const end = Math.min(p1.address + p1.data.length, p2.address + p2.data.length);
  const src = p2.source;
  throw new ImageError(
    'OVERLAP',
    `${describeSource(src, second)}: bytes ${hex(start)}–${hex(end - 1)} overlap ` +
      `${describeSource(p1.source, first)} (${hex(p1.address)}–${hex(p1.address + p1.data.length - 1)}); ` +
      `remove one of them, or merge with overlap 'last-wins' or 'first-wins'.`,
    {
      ...(src?.file !== undefined && { file: src.file }),
      ...(src?.line !== undefined && { line: src.line }),
      ...(src?.offset !== undefined && { offset: src.offset }),
      address: start,
    },
  );
}

/**
 * An image as flash sees it: address-sorted, non-overlapping, coalesced segments. Every
 * reader produces one; every writer takes one. Instances are immutable; segment data may
 * be shared between images made from one another, so do not write into it.
 */
export class SparseImage implements ImageLike {
  readonly segments: readonly Segment[];

  private constructor(segments: readonly Segment[]) {
    this.segments = Object.freeze(segments);
  }

  /** An image with no bytes. */
  static empty(): SparseImage {
    return new SparseImage([]);
  }

  /** One contiguous run. */
  static fromBytes(address: number, data: Uint8Array): SparseImage {
    return SparseImage.fromPieces([{ address, data }]);
  }

  /** Copy anything with the contract-3 `segments` shape. */
  static from(image: ImageLike): SparseImage {
    if (image instanceof SparseImage) return image;
    return SparseImage.fromPieces(image.segments);
  }

  /**
   * Build from pieces in any order. Adjacent pieces are joined; overlapping pieces are an
   * `OVERLAP` error naming both sources unless `overlap` says which wins.
   */
  static fromPieces(pieces: readonly ImagePiece[], options: BuildOptions = {}): SparseImage {
    const policy = options.overlap ?? 'error';
    const order: number[] = [];
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      checkPiece(p, i);
      if (p.data.length > 0) order.push(i);
    }
    order.sort((a, b) => pieces[a]!.address - pieces[b]!.address || a - b);

    // Sweep in address order, grouping pieces that touch or overlap into one run.
    const runs: { start: number; end: number; members: number[] }[] = [];
    let maxEndIndex = -1;
    for (const i of order) {
      const p = pieces[i]!;
      const end = p.address + p.data.length;
      const run = runs[runs.length - 1];
      if (run && p.address <= run.end) {
        if (p.address < run.end && policy === 'error') overlapError(pieces, maxEndIndex, i);
        run.members.push(i);
        if (end > run.end) {
          run.end = end;
          maxEndIndex = i;
        }
      } else {
        runs.push({ start: p.address, end, members: [i] });
        maxEndIndex = i;
      }
    }

    const segments: Segment[] = runs.map((run) => {
      if (run.members.length === 1) {
        const only = pieces[run.members[0]!]!;
        return { address: only.address, data: only.data.slice() };
      }
      const data = new Uint8Array(run.end - run.start);
      // Later writes win, so order the members by priority.
      const members = [...run.members].sort((a, b) => (policy === 'first-wins' ? b - a : a - b));
      for (const m of members) {
        const p = pieces[m]!;
        data.set(p.data, p.address - run.start);
      }
      return { address: run.start, data };
    });
    return new SparseImage(segments);
  }

  /** Adopt already canonical segments without copying (readers that built them in order). */
  static adopt(segments: readonly Segment[]): SparseImage {
    for (let i = 1; i < segments.length; i++) {
      const prev = segments[i - 1]!;
      if (prev.address + prev.data.length >= segments[i]!.address) {
        return SparseImage.fromPieces(segments);
      }
    }
    return new SparseImage(segments.filter((s) => s.data.length > 0));
  }

  get isEmpty(): boolean {
    return this.segments.length === 0;
  }

  /** First address, or 0 for an empty image. */
  get start(): number {
    return this.segments[0]?.address ?? 0;
  }

  /** One past the last byte, or 0 for an empty image. */
  get end(): number {
    const last = this.segments[this.segments.length - 1];
    return last ? last.address + last.data.length : 0;
  }

  /** Bytes actually present (gaps not counted). */
  get size(): number {
    let n = 0;
    for (const s of this.segments) n += s.data.length;
    return n;
  }

  /** `end - start`: bytes from the first to the last, gaps included. */
  get span(): number {
    return this.end - this.start;
  }

  /** Half-open ranges of present bytes, e.g. for `erasePlan`. */
  ranges(): AddressSpan[] {
    return this.segments.map((s) => ({ start: s.address, end: s.address + s.data.length }));
  }

  /** Index of the segment containing `address`, or -1. */
  private segmentIndexAt(address: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segments[mid]!;
      if (address < s.address) hi = mid - 1;
      else if (address >= s.address + s.data.length) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** The byte at `address`, or `undefined` where the image has none (a gap). */
  byteAt(address: number): number | undefined {
    const i = this.segmentIndexAt(address);
    if (i < 0) return undefined;
    const s = this.segments[i]!;
    return s.data[address - s.address];
  }

  /** Whether every byte of `[address, address + length)` is present. */
  covers(address: number, length: number): boolean {
    if (length === 0) return true;
    const i = this.segmentIndexAt(address);
    if (i < 0) return false;
    const s = this.segments[i]!;
    return address + length <= s.address + s.data.length;
  }

  /** `length` bytes from `address`, gaps read as `fill` (0xFF, erased flash). */
  read(address: number, length: number, fill = 0xff): Uint8Array {
    const out = new Uint8Array(length).fill(fill);
    const end = address + length;
    for (const s of this.segments) {
      const sEnd = s.address + s.data.length;
      if (sEnd <= address) continue;
      if (s.address >= end) break;
      const from = Math.max(address, s.address);
      const to = Math.min(end, sEnd);
      out.set(s.data.subarray(from - s.address, to - s.address), from - address);
    }
    return out;
  }

  /** The part of the image inside `[start, end)`. Shares bytes with this image. */
  crop(start: number, end: number): SparseImage {
    const out: Segment[] = [];
    for (const s of this.segments) {
      const sEnd = s.address + s.data.length;
      if (sEnd <= start || s.address >= end) continue;
      const from = Math.max(start, s.address);
      const to = Math.min(end, sEnd);
      out.push({ address: from, data: s.data.subarray(from - s.address, to - s.address) });
    }
    return new SparseImage(out);
  }

  /**
   * One segment from `start` to `end` (the image's own by default) with every gap filled
   * with `fill` (0xFF, erased flash).
   */
  fillGaps(fill = 0xff, range?: AddressSpan): SparseImage {
    const start = range?.start ?? this.start;
    const end = range?.end ?? this.end;
    if (end <= start) return SparseImage.empty();
    return new SparseImage([{ address: start, data: this.read(start, end - start, fill) }]);
  }

  /** Both images together; overlapping bytes are an error unless a policy is given. */
  merge(other: ImageLike, options: BuildOptions = {}): SparseImage {
    const mine = this.segments.map((s) => ({ ...s, source: { label: 'first image' } }));
    const theirs = other.segments.map((s) => ({ ...s, source: { label: 'second image' } }));
    return SparseImage.fromPieces([...mine, ...theirs], options);
  }

  /** A copy with `data` written at `address` (replacing what was there). */
  patch(address: number, data: Uint8Array): SparseImage {
    return SparseImage.fromPieces([...this.segments, { address, data }], { overlap: 'last-wins' });
  }

  /** Whether both images have the same bytes at the same addresses. */
  equals(other: ImageLike): boolean {
    const a = this.segments;
    const b = SparseImage.from(other).segments;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x.address !== y.address || x.data.length !== y.data.length) return false;
      for (let j = 0; j < x.data.length; j++) if (x.data[j] !== y.data[j]) return false;
    }
    return true;
  }

  /**
   * Transfer-size chunks aligned to `base + k * size`, only where the image has bytes. With
   * DfuSe, set the address pointer to `base` and send chunk `index` as block `index + 2`.
   */
  *chunks(size: number, options: ChunkOptions = {}): Generator<ImageChunk> {
    if (!Number.isInteger(size) || size <= 0) {
      throw new ImageError('INVALID_ARGUMENT', `Chunk size ${size} must be a positive integer.`);
    }
    const base = options.base ?? this.start;
    const fill = options.fill ?? 0xff;
    if (this.segments.length > 0 && base > this.start) {
      throw new ImageError(
        'INVALID_ARGUMENT',
        `Chunk base ${hex(base)} is above the image start ${hex(this.start)}; use a base at or below it.`,
        { address: this.start },
      );
    }
    let lastIndex = -1;
    for (const s of this.segments) {
      const sEnd = s.address + s.data.length;
      let index = Math.floor((s.address - base) / size);
      if (index === lastIndex) index++;
      for (; base + index * size < sEnd; index++) {
        const chunkStart = base + index * size;
        const chunkEnd = chunkStart + size;
        let from = chunkStart;
        let to = chunkEnd;
        if (!options.pad) {
          from = Math.max(chunkStart, this.firstPresentAtOrAfter(chunkStart));
          to = Math.min(chunkEnd, this.lastPresentBefore(chunkEnd) + 1);
        }
        yield { address: from, index, data: this.read(from, to - from, fill) };
        lastIndex = index;
      }
    }
  }

  private firstPresentAtOrAfter(address: number): number {
    for (const s of this.segments) {
      if (s.address + s.data.length > address) return Math.max(address, s.address);
    }
    return address;
  }

  private lastPresentBefore(address: number): number {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i]!;
      if (s.address < address) return Math.min(address, s.address + s.data.length) - 1;
    }
    return address - 1;
  }

  /**
   * The image split by erase unit, for the sectors that hold at least one byte. A byte
   * outside every given sector is an `OUTSIDE_REGION` error, raised before any slice is
   * yielded so a caller never acts on half an image.
   */
  *bySector(sectors: readonly Sector[]): Generator<SectorSlice> {
    const address = this.firstOutside(sectors);
    if (address !== undefined) {
      throw new ImageError(
        'OUTSIDE_REGION',
        `Image byte at ${hex(address)} is in none of the given sectors; check the image base address.`,
        { address },
      );
    }
    for (const sector of sectors) {
      const part = this.crop(sector.start, sector.end);
      if (!part.isEmpty) yield { sector, image: part };
    }
  }

  /** The lowest present address that no sector contains. */
  private firstOutside(sectors: readonly Sector[]): number | undefined {
    for (const s of this.segments) {
      let a = s.address;
      const end = s.address + s.data.length;
      while (a < end) {
        const sector = sectors.find((sec) => a >= sec.start && a < sec.end);
        if (!sector) return a;
        a = sector.end;
      }
    }
    return undefined;
  }
}
