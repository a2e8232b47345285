import type { BoardLayout } from './boards.js';
import { sectorsOf } from './chips.js';
import { hex, LayoutError } from './errors.js';

/**
 * DfuSe memory-layout strings (ST UM0424 / AN3156): the interface name of each alternate
 * setting, e.g. `@Internal Flash  /0x08000000/04*016Kg,01*064Kg,03*128Kg`.
 * Each group is `count*size[unit]letter`; unit is ' ' (bytes), 'K' or 'M'; the letter's low
 * three bits say readable (1), erasable (2), writable (4): 'a' read-only, 'g' all three.
 */

/** What DFU may do with a group of sectors, the three bits of a DfuSe access letter. */
export interface SectorAccess {
  readonly readable: boolean;
  readonly erasable: boolean;
  readonly writable: boolean;
}

/**
 * `count` consecutive sectors of `size` bytes with the same access, one `count*size letter` group
 * of a layout string.
 */
export interface DfuseSectorGroup extends SectorAccess {
  readonly count: number;
  readonly size: number;
}

/** One `/address/groups` part of a layout string: sector groups laid out from `address`. */
export interface DfuseSegment {
  readonly address: number;
  readonly groups: readonly DfuseSectorGroup[];
}

/** One sector as a device announces it, with its absolute address. */
export interface DfuseSector extends SectorAccess {
  readonly start: number;
  readonly size: number;
  readonly end: number;
}

/** A parsed DfuSe layout string: the memory's name, its segments and every sector it lists. */
export interface DfuseLayout {
  /** The memory's name, trimmed ("Internal Flash", "Option Bytes"). */
  readonly name: string;
  readonly segments: readonly DfuseSegment[];
  /** Every sector, in the order listed. */
  readonly sectors: readonly DfuseSector[];
}

function accessLetter(a: SectorAccess): string {
  const bits = (a.readable ? 1 : 0) | (a.erasable ? 2 : 0) | (a.writable ? 4 : 0);
  return String.fromCharCode(0x60 + bits);
}

function sizeField(size: number): string {
  if (size % (1024 * 1024) === 0) return `${String(size / (1024 * 1024)).padStart(3, '0')}M`;
  if (size % 1024 === 0) return `${String(size / 1024).padStart(3, '0')}K`;
  return `${String(size).padStart(3, '0')} `;
}

/**
 * Write a DfuSe layout string (the alternate setting's interface name) from a memory name and its
 * segments.
 */
export function formatDfuseLayout(
  name: string,
  segments: readonly DfuseSegment[],
  /** ST pads names to a fixed width; the F4 ROM writes "Internal Flash  " (two spaces). */
  nameWidth = name.length + 2,
): string {
  const parts = segments.map((seg) => {
    const groups = seg.groups.map(
      (g) => `${String(g.count).padStart(2, '0')}*${sizeField(g.size)}${accessLetter(g)}`,
    );
    return `/${hex(seg.address).replace('0X', '0x')}/${groups.join(',')}`;
  });
  return `@${name.padEnd(nameWidth, ' ')}${parts.join('')}`;
}

/** How `dfuseLayoutFor` describes a board's flash. */
export interface BoardDfuseOptions {
  /** List the bootloader's sectors read-only (default). Off only for a ROM-bootloader model. */
  readonly protectBootloader?: boolean;
  readonly name?: string;
}

/** The layout string our bootloader announces for a board's internal flash. */
export function dfuseLayoutFor(layout: BoardLayout, options: BoardDfuseOptions = {}): string {
  const protect = options.protectBootloader ?? true;
  const blEnd = layout.partitions.bootloader.end;
  const groups: DfuseSectorGroup[] = [];
  for (const s of sectorsOf(layout.chip.flash)) {
    const writable = !(protect && s.start < blEnd);
    const last = groups[groups.length - 1];
    if (last && last.size === s.size && last.writable === writable) {
      groups[groups.length - 1] = { ...last, count: last.count + 1 };
    } else {
      groups.push({ count: 1, size: s.size, readable: true, erasable: writable, writable });
    }
  }
  return formatDfuseLayout(options.name ?? 'Internal Flash', [
    { address: layout.chip.flash.base, groups },
  ]);
}

/** Parse any DfuSe layout string, ours or another device's (ST's ROM bootloader included). */
export function parseDfuseLayout(text: string): DfuseLayout {
  let pos = 0;
  const fail = (what: string, at = pos): never => {
    throw new LayoutError(
      'MALFORMED_DFUSE_LAYOUT',
      `Malformed DfuSe layout string at character ${at}: ${what}. String: ${JSON.stringify(text)}`,
      { value: text, offset: at },
    );
  };
  if (text[0] !== '@') fail('expected "@" at the start');
  pos = 1;
  const slash = text.indexOf('/', pos);
  if (slash < 0) fail('expected "/" after the memory name');
  const name = text.slice(pos, slash).trim();
  if (!name) fail('empty memory name', 1);
  pos = slash;

  const segments: DfuseSegment[] = [];
  const sectors: DfuseSector[] = [];
  const readNumber = (radix: 10 | 16): number => {
    const start = pos;
    const digits = radix === 16 ? /[0-9a-fA-F]/ : /[0-9]/;
    while (pos < text.length && digits.test(text[pos]!)) pos++;
    if (pos === start) fail(radix === 16 ? 'expected a hex address' : 'expected a number', start);
    return Number.parseInt(text.slice(start, pos), radix);
  };

  while (pos < text.length) {
    if (text[pos] !== '/') fail('expected "/" before an address');
    pos++;
    if (text.slice(pos, pos + 2).toLowerCase() !== '0x') fail('expected "0x" before the address');
    pos += 2;
    const address = readNumber(16);
    if (address > 0xffffffff) fail('address does not fit in 32 bits');
    if (text[pos] !== '/') fail('expected "/" after the address');
    pos++;
    const groups: DfuseSectorGroup[] = [];
    let cursor = address;
    for (;;) {
      const count = readNumber(10);
      if (text[pos] !== '*') fail('expected "*" between count and size');
      pos++;
      let size = readNumber(10);
      const unit = text[pos];
      if (unit === 'K') size *= 1024;
      else if (unit === 'M') size *= 1024 * 1024;
      else if (unit !== ' ' && unit !== 'B')
        fail(`unknown size unit ${JSON.stringify(unit ?? '')}`);
      pos++;
      const letter = text.charCodeAt(pos);
      if (!(letter >= 0x61 && letter <= 0x67)) fail('expected a sector type letter a–g');
      pos++;
      if (count === 0 || size === 0) fail('a sector group must have a count and a size');
      const bits = letter - 0x60;
      const access = {
        readable: (bits & 1) !== 0,
        erasable: (bits & 2) !== 0,
        writable: (bits & 4) !== 0,
      };
      groups.push({ count, size, ...access });
      for (let i = 0; i < count; i++) {
        sectors.push({ start: cursor, size, end: cursor + size, ...access });
        cursor += size;
      }
      if (cursor > 0x1_0000_0000) fail('sectors run past the end of the 32-bit address space');
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      break;
    }
    segments.push({ address, groups });
  }
  if (segments.length === 0) fail('no address segment');
  return { name, segments, sectors };
}
