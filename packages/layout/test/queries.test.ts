import { describe, expect, it } from 'vitest';
import {
  checkAlignment,
  checkRange,
  erasePlan,
  getChip,
  getLayout,
  LayoutError,
  sectorAt,
} from '../src/index.ts';

const f411 = getLayout('blackpill-f411');
const KB = 1024;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof LayoutError) return e.code;
    throw e;
  }
  return undefined;
}

describe('sectorAt', () => {
  it('finds the sector containing an address, at both edges', () => {
    expect(sectorAt(f411, 0x08000000).index).toBe(0);
    expect(sectorAt(f411, 0x08007fff).index).toBe(1);
    expect(sectorAt(f411, 0x08008000).index).toBe(2);
    expect(sectorAt(f411, 0x0801ffff).index).toBe(4);
    expect(sectorAt(f411, 0x0807ffff).index).toBe(7);
  });

  it('works on page-based flash', () => {
    const g4 = getChip('stm32g431xb').flash;
    expect(sectorAt(g4, 0x08000800 + 5).index).toBe(1);
  });

  it('refuses addresses outside flash, naming the address', () => {
    expect(() => sectorAt(f411, 0x08080000)).toThrowError(/0x08080000 is outside flash/);
    expect(codeOf(() => sectorAt(f411, 0x07ffffff))).toBe('ADDRESS_OUTSIDE_FLASH');
  });
});

describe('erasePlan', () => {
  it('the 100 kB at the application start needs sectors 2, 3, 4, 5', () => {
    const plan = erasePlan(f411, [{ start: 0x08008000, end: 0x08008000 + 100 * KB }]);
    expect(plan.sectors.map((s) => s.index)).toEqual([2, 3, 4, 5]);
    expect(plan.bytes).toBe(16 * KB + 16 * KB + 64 * KB + 128 * KB);
    expect(plan.estimatedMs).toEqual({ typ: 250 + 250 + 550 + 1000, max: 500 + 500 + 1100 + 2000 });
  });

  it('merges ranges that share sectors and keeps address order', () => {
    const plan = erasePlan(f411, [
      { start: 0x08060000, end: 0x08060010 },
      { start: 0x08008000, end: 0x08008004 },
      { start: 0x0800bff0, end: 0x0800c010 },
    ]);
    expect(plan.sectors.map((s) => s.index)).toEqual([2, 3, 7]);
  });

  it('the whole application region erases in about 4.05 s on the F411 datasheet', () => {
    const plan = erasePlan(f411, [{ start: 0x08008000, end: 0x08080000 }]);
    expect(plan.sectors).toHaveLength(6);
    expect(plan.estimatedMs!.typ).toBe(4050);
  });

  it('a range touching the bootloader is refused before anything is planned', () => {
    expect(codeOf(() => erasePlan(f411, [{ start: 0x08007ffc, end: 0x08008100 }]))).toBe(
      'RANGE_IN_BOOTLOADER',
    );
  });

  it('the whole flash may be planned when asked for explicitly (ST ROM bootloader)', () => {
    const plan = erasePlan(f411, [{ start: 0x08000000, end: 0x08004000 }], 'flash');
    expect(plan.sectors.map((s) => s.index)).toEqual([0]);
  });

  it('an empty range plans nothing', () => {
    expect(erasePlan(f411, [{ start: 0x08010000, end: 0x08010000 }]).sectors).toEqual([]);
  });
});

describe('checkRange', () => {
  it('accepts the whole application region', () => {
    expect(() => checkRange(f411, { start: 0x08008000, end: 0x08080000 })).not.toThrow();
  });

  it('names the first address past the end of flash', () => {
    try {
      checkRange(f411, { start: 0x0807ff00, end: 0x08080100 });
      expect.unreachable();
    } catch (e) {
      expect((e as LayoutError).code).toBe('RANGE_OUTSIDE_FLASH');
      expect((e as LayoutError).details.address).toBe(0x08080000);
    }
  });

  it('says what went wrong when an image reaches into the bootloader', () => {
    expect(() => checkRange(f411, { start: 0x08000000, end: 0x08000100 })).toThrowError(
      /reaches into the bootloader partition .* Application images start at 0x08008000/,
    );
  });

  it('refuses a bootloader-region write past the bootloader', () => {
    expect(
      codeOf(() => checkRange(f411, { start: 0x08007f00, end: 0x08008100 }, 'bootloader')),
    ).toBe('RANGE_OUTSIDE_REGION');
  });

  it('refuses malformed ranges', () => {
    expect(codeOf(() => checkRange(f411, { start: 0x08009000, end: 0x08008000 }))).toBe(
      'INVALID_RANGE',
    );
    expect(codeOf(() => checkRange(f411, { start: 0.5, end: 2 }))).toBe('INVALID_RANGE');
  });
});

describe('checkAlignment', () => {
  it('refuses an unaligned address, naming it', () => {
    expect(() => checkAlignment(0x08008002, 4)).toThrowError(/0x08008002 is not aligned to 4 B/);
    expect(() => checkAlignment(0x08008000, 512)).not.toThrow();
  });
});
