import { describe, expect, it } from 'vitest';
import { chipIds, getChip, LayoutError, sectorsOf, validateChip } from '../src/index.ts';

const KB = 1024;

/** Sector sizes in kB, the way datasheets list them. */
const sizesKb = (id: string) => sectorsOf(getChip(id).flash).map((s) => s.size / KB);

describe('chip geometry', () => {
  it('STM32F411xE has 4×16, 64, 3×128 kB sectors from 0x08000000', () => {
    expect(sizesKb('stm32f411xe')).toEqual([16, 16, 16, 16, 64, 128, 128, 128]);
    const sectors = sectorsOf(getChip('stm32f411xe').flash);
    expect(sectors[0]!.start).toBe(0x08000000);
    expect(sectors[4]!.start).toBe(0x08010000);
    expect(sectors[7]!.end).toBe(0x08080000);
  });

  it('STM32F405 has 1 MB: 4×16, 64, 7×128 kB', () => {
    expect(sizesKb('stm32f405xg')).toEqual([16, 16, 16, 16, 64, ...Array(7).fill(128)]);
    expect(getChip('stm32f405xg').flash.size).toBe(1024 * KB);
  });

  it('F401xC/xE and F446 follow the F4 sector pattern at their sizes', () => {
    expect(sizesKb('stm32f401xc')).toEqual([16, 16, 16, 16, 64, 128]);
    expect(sizesKb('stm32f401xe')).toEqual([16, 16, 16, 16, 64, 128, 128, 128]);
    expect(sizesKb('stm32f446xe')).toEqual([16, 16, 16, 16, 64, 128, 128, 128]);
  });

  it('F103 erases 1 kB pages (medium density) and 2 kB pages (high density)', () => {
    const xb = sectorsOf(getChip('stm32f103xb').flash);
    expect(xb).toHaveLength(128);
    expect(new Set(xb.map((s) => s.size))).toEqual(new Set([1 * KB]));
    const xe = sectorsOf(getChip('stm32f103xe').flash);
    expect(xe).toHaveLength(256);
    expect(xe[255]!.end).toBe(0x08080000);
    expect(getChip('stm32f103xe').flash.eraseUnit).toBe('page');
  });

  it('L4 and G4 use 2 kB pages; the L476 numbers pages within each bank', () => {
    const l4 = sectorsOf(getChip('stm32l476xg').flash);
    expect(l4).toHaveLength(512);
    expect(l4[256]).toMatchObject({ bank: 1, number: 0, start: 0x08080000, size: 2 * KB });
    expect(sizesKb('stm32g431xb')).toEqual(Array(64).fill(2));
  });

  it('H7 has 128 kB sectors, eight per bank', () => {
    const h7 = sectorsOf(getChip('stm32h743xi').flash);
    expect(h7).toHaveLength(16);
    expect(h7[8]).toMatchObject({ bank: 1, number: 0, start: 0x08100000, size: 128 * KB });
  });

  it('every chip definition is self-consistent', () => {
    for (const id of chipIds) expect(() => validateChip(getChip(id))).not.toThrow();
  });

  it('SRAM ranges are where the reference manuals put them', () => {
    expect(getChip('stm32f411xe').sram).toEqual([
      { name: 'SRAM', start: 0x20000000, size: 128 * KB },
    ]);
    expect(getChip('stm32f405xg').sram.map((r) => r.start)).toEqual([0x20000000, 0x10000000]);
  });

  it('an inconsistent chip is refused with INVALID_CHIP naming it', () => {
    const f411 = getChip('stm32f411xe');
    const broken = { ...f411, id: 'broken', flash: { ...f411.flash, size: 256 * KB } };
    expect(() => validateChip(broken)).toThrowError(/Chip "broken": sectors add up to 512 kB/);
  });

  it('an unknown chip is a typed error that lists the known ones', () => {
    try {
      getChip('stm32f999');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LayoutError);
      expect((e as LayoutError).code).toBe('UNKNOWN_CHIP');
      expect((e as LayoutError).message).toContain('"stm32f999"');
      expect((e as LayoutError).message).toContain('stm32f411xe');
    }
  });
});
