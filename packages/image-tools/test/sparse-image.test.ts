import { getLayout } from '@stm32dfu/layout';
import { describe, expect, it } from 'vitest';
import { SparseImage } from '../src/index.ts';
import { bytesOf, expectImageError } from './helpers.ts';

describe('SparseImage', () => {
  it('sorts pieces and joins adjacent ones into one segment', () => {
    const img = SparseImage.fromPieces([
      { address: 0x1004, data: bytesOf(5, 6) },
      { address: 0x1000, data: bytesOf(1, 2, 3, 4) },
      { address: 0x2000, data: bytesOf(9) },
    ]);
    expect(img.segments.map((s) => [s.address, [...s.data]])).toEqual([
      [0x1000, [1, 2, 3, 4, 5, 6]],
      [0x2000, [9]],
    ]);
    expect(img.start).toBe(0x1000);
    expect(img.end).toBe(0x2001);
    expect(img.size).toBe(7);
    expect(img.span).toBe(0x1001);
  });

  it('refuses overlapping pieces and names both sources and the address', () => {
    const e = expectImageError(
      () =>
        SparseImage.fromPieces([
          {
            address: 0x100,
            data: new Uint8Array(16),
            source: { file: 'a.hex', line: 3, lastLine: 4 },
          },
          { address: 0x108, data: new Uint8Array(16), source: { file: 'a.hex', line: 9 } },
        ]),
      'OVERLAP',
    );
    expect(e.message).toContain('a.hex line 9');
    expect(e.message).toContain('lines 3–4');
    expect(e.message).toContain('0x00000108–0x0000010F');
    expect(e.details).toMatchObject({ file: 'a.hex', line: 9, address: 0x108 });
  });

  it('merges overlaps when asked: last-wins and first-wins', () => {
    const pieces = [
      { address: 0, data: bytesOf(1, 1, 1, 1) },
      { address: 2, data: bytesOf(2, 2, 2) },
    ];
    expect([...SparseImage.fromPieces(pieces, { overlap: 'last-wins' }).segments[0]!.data]).toEqual(
      [1, 1, 2, 2, 2],
    );
    expect([
      ...SparseImage.fromPieces(pieces, { overlap: 'first-wins' }).segments[0]!.data,
    ]).toEqual([1, 1, 1, 1, 2]);
    const a = SparseImage.fromBytes(0, bytesOf(1, 2));
    expectImageError(() => a.merge(SparseImage.fromBytes(1, bytesOf(7))), 'OVERLAP');
    expect([
      ...a.merge(SparseImage.fromBytes(1, bytesOf(7)), { overlap: 'last-wins' }).read(0, 2),
    ]).toEqual([1, 7]);
  });

  it('refuses pieces beyond the 32-bit address space', () => {
    const e = expectImageError(
      () =>
        SparseImage.fromPieces([
          { address: 0xfffffffe, data: new Uint8Array(4), source: { file: 'x.hex', line: 2 } },
        ]),
      'ADDRESS_RANGE',
    );
    expect(e.message).toContain('x.hex line 2');
    expect(e.message).toContain('0xFFFFFFFE');
  });

  it('reads ranges with 0xFF in the gaps, crops and fills', () => {
    const img = SparseImage.fromPieces([
      { address: 10, data: bytesOf(1, 2) },
      { address: 14, data: bytesOf(3) },
    ]);
    expect([...img.read(9, 7)]).toEqual([0xff, 1, 2, 0xff, 0xff, 3, 0xff]);
    expect([...img.fillGaps().segments[0]!.data]).toEqual([1, 2, 0xff, 0xff, 3]);
    expect([...img.fillGaps(0).segments[0]!.data]).toEqual([1, 2, 0, 0, 3]);
    expect(img.crop(11, 15).segments.map((s) => [s.address, [...s.data]])).toEqual([
      [11, [2]],
      [14, [3]],
    ]);
    expect(img.byteAt(14)).toBe(3);
    expect(img.byteAt(12)).toBeUndefined();
    expect(img.covers(10, 2)).toBe(true);
    expect(img.covers(10, 3)).toBe(false);
  });

  it('splits into aligned transfer chunks numbered from the base', () => {
    const img = SparseImage.fromPieces([
      { address: 0x08008000 + 10, data: new Uint8Array(20).fill(1) },
      { address: 0x08008000 + 100, data: new Uint8Array(3).fill(2) },
    ]);
    const chunks = [...img.chunks(16, { base: 0x08008000 })];
    expect(chunks.map((c) => [c.index, c.address - 0x08008000, c.data.length])).toEqual([
      [0, 10, 6],
      [1, 16, 14],
      [6, 100, 3],
    ]);
    const padded = [...img.chunks(16, { base: 0x08008000, pad: true })];
    expect(padded.map((c) => [c.index, c.data.length])).toEqual([
      [0, 16],
      [1, 16],
      [6, 16],
    ]);
    expect(padded[0]!.data[0]).toBe(0xff);
    expect(padded[0]!.data[10]).toBe(1);
  });

  it('fills gaps inside one chunk and emits each chunk once', () => {
    const img = SparseImage.fromPieces([
      { address: 0, data: bytesOf(1) },
      { address: 4, data: bytesOf(2) },
    ]);
    const chunks = [...img.chunks(8)];
    expect(chunks).toHaveLength(1);
    expect([...chunks[0]!.data]).toEqual([1, 0xff, 0xff, 0xff, 2]);
  });

  it('iterates by Black Pill sector and refuses bytes outside the sectors', () => {
    const layout = getLayout('blackpill-f411');
    const img = SparseImage.fromPieces([
      { address: 0x08008000, data: new Uint8Array(0x4000 + 8) },
      { address: 0x08020000, data: new Uint8Array(4) },
    ]);
    const slices = [...img.bySector(layout.partitions.application.sectors)];
    expect(slices.map((s) => [s.sector.number, s.image.size])).toEqual([
      [2, 0x4000],
      [3, 8],
      [5, 4],
    ]);
    const e = expectImageError(
      () => [
        ...SparseImage.fromBytes(0x08000000, bytesOf(1)).bySector(
          layout.partitions.application.sectors,
        ),
      ],
      'OUTSIDE_REGION',
    );
    expect(e.details.address).toBe(0x08000000);
    // A segment that starts inside and runs past the last sector: the first byte past it.
    const tail = SparseImage.fromBytes(0x0807fffe, new Uint8Array(4));
    const e2 = expectImageError(
      () => [...tail.bySector(layout.partitions.application.sectors)],
      'OUTSIDE_REGION',
    );
    expect(e2.details.address).toBe(0x08080000);
  });

  it('compares by content', () => {
    const a = SparseImage.fromPieces([{ address: 0, data: bytesOf(1, 2) }]);
    expect(
      a.equals({
        segments: [
          { address: 0, data: bytesOf(1) },
          { address: 1, data: bytesOf(2) },
        ],
      }),
    ).toBe(true);
    expect(a.equals(SparseImage.fromBytes(0, bytesOf(1, 3)))).toBe(false);
    expect(a.patch(1, bytesOf(9)).read(0, 2)).toEqual(bytesOf(1, 9));
  });
});
