import { parseDfuseLayout } from '@stm32dfu/layout';
import { describe, expect, it } from 'vitest';
import { AddressError, DfuError, formatPlan, planFlash } from '../src/index.ts';
import { APP_BASE, board, OUR_LAYOUT } from './helpers.ts';

const layout = parseDfuseLayout(OUR_LAYOUT);
const ROM_LAYOUT = parseDfuseLayout('@Internal Flash  /0x08000000/04*016Kg,01*064Kg,03*128Kg');

describe('planFlash', () => {
  it('erases each touched sector once, sends the vector-table block last, and skips 0xFF-only blocks', () => {
    const data = new Uint8Array(40 * 1024).fill(0x11);
    data.fill(0xff, 8192, 8192 + 4096); // two whole erased blocks inside sector 2
    const plan = planFlash(
      { segments: [{ address: APP_BASE, data }] },
      { layout, transferSize: 2048 },
    );
    expect(plan.sectors.map((s) => [s.start, s.action])).toEqual([
      [0x08008000, 'erase'],
      [0x0800c000, 'erase'],
      [0x08010000, 'erase'],
    ]);
    expect(plan.eraseBytes).toBe(16384 * 2 + 65536);
    expect(plan.writeBytes).toBe(40 * 1024 - 4096);
    expect(plan.blocks.at(-1)!.address).toBe(APP_BASE);
    expect(plan.heldBackBlock).toBe(APP_BASE);
    expect(plan.blocks.filter((b) => b.address === APP_BASE)).toHaveLength(1);
    expect(plan.blocks.some((b) => b.address === APP_BASE + 8192)).toBe(false);
    const addresses = plan.blocks.slice(0, -1).map((b) => b.address);
    expect(addresses).toEqual([...addresses].sort((a, b) => a - b));
  });

  it('fills the rest of a partly covered sector with 0xFF and trims trailing 0xFF to whole words', () => {
    const plan = planFlash(
      { segments: [{ address: 0x08010000 + 10, data: Uint8Array.of(1, 2, 3) }] },
      { layout, transferSize: 2048 },
    );
    expect(plan.blocks).toHaveLength(1);
    expect([...plan.blocks[0]!.data]).toEqual([
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 0xff, 0xff, 0xff,
    ]);
    expect(plan.sectors[0]).toMatchObject({ start: 0x08010000, size: 65536, imageBytes: 3 });
    expect(plan.heldBackBlock).toBeUndefined();
  });

  it('cuts blocks to the transfer size (small transfers)', () => {
    const plan = planFlash(
      { segments: [{ address: APP_BASE, data: new Uint8Array(256).fill(7) }] },
      { layout, transferSize: 64 },
    );
    expect(plan.blocks.map((b) => b.data.length)).toEqual([64, 64, 64, 64]);
    expect(plan.blocks.map((b) => b.address - APP_BASE)).toEqual([64, 128, 192, 0]);
  });

  it('skips sectors known to be unchanged', () => {
    const data = new Uint8Array(20 * 1024).fill(3);
    const plan = planFlash(
      { segments: [{ address: APP_BASE, data }] },
      { layout, transferSize: 2048, unchanged: new Set([APP_BASE]), compare: 'crc' },
    );
    expect(plan.sectors.map((s) => s.action)).toEqual(['skip', 'erase']);
    expect(plan.skippedBytes).toBe(16384);
    expect(plan.writeBytes).toBe(4096);
  });

  it('writes blank sectors without erasing them', () => {
    const data = new Uint8Array(20 * 1024).fill(3);
    const plan = planFlash(
      { segments: [{ address: APP_BASE, data }] },
      { layout, transferSize: 2048, blank: new Set([0x0800c000]), compare: 'crc' },
    );
    expect(plan.sectors.map((s) => s.action)).toEqual(['erase', 'write']);
    expect(plan.eraseBytes).toBe(16384);
    expect(plan.writeBytes).toBe(20 * 1024);
    expect(formatPlan(plan)).toMatch(/0x0800C000 +16 kB +blank +write +4 kB/);
  });

  it('estimates time from the chip timings and prints a plan for --dry-run', () => {
    const data = new Uint8Array(480 * 1024).fill(0);
    const plan = planFlash(
      { segments: [{ address: APP_BASE, data }] },
      { layout, transferSize: 2048, timings: board.chip.timings!, bytesPerMs: 800 },
    );
    expect(plan.estimate!.eraseMs).toBe(250 * 2 + 550 + 1000 * 3);
    expect(plan.estimate!.programMs).toBeCloseTo((480 * 1024 * 16) / 4 / 1000);
    expect(plan.estimate!.transferMs).toBeCloseTo((480 * 1024) / 800);
    const text = formatPlan(plan);
    expect(text).toContain('0x08008000   16 kB  erase');
    expect(text).toContain('the block at 0x08008000 (vector table) is written last');
    expect(text).toMatch(/estimated \d+\.\d s/);
  });

  it('refuses read-only sectors and addresses outside the layout with AddressError naming the address', () => {
    expect(() =>
      planFlash(
        { segments: [{ address: 0x08004000, data: new Uint8Array(4) }] },
        { layout, transferSize: 2048 },
      ),
    ).toThrow(AddressError);
    try {
      planFlash(
        { segments: [{ address: 0x08080000, data: new Uint8Array(4) }] },
        { layout, transferSize: 2048 },
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AddressError);
      expect((error as AddressError).address).toBe(0x08080000);
      expect((error as Error).message).toContain('0x08080000');
    }
    // ST's ROM lists every sector writable: the same image is fine there.
    expect(
      planFlash(
        { segments: [{ address: 0x08004000, data: new Uint8Array(4) }] },
        { layout: ROM_LAYOUT, transferSize: 2048 },
      ).eraseBytes,
    ).toBe(16384);
  });

  it('refuses overlapping or empty images with IMAGE', () => {
    const overlapping = {
      segments: [
        { address: APP_BASE, data: new Uint8Array(16) },
        { address: APP_BASE + 8, data: new Uint8Array(16) },
      ],
    };
    expect(() => planFlash(overlapping, { layout, transferSize: 2048 })).toThrow(
      expect.objectContaining({ code: 'IMAGE' }),
    );
    expect(() => planFlash({ segments: [] }, { layout, transferSize: 2048 })).toThrow(DfuError);
  });
});
