import { SparseImage } from '@stm32dfu/image-tools';
import { getLayout } from '@stm32dfu/layout';
import type { FlashPlan } from '@stm32dfu/protocol';
import { describe, expect, test } from 'vitest';
import type { Connection } from '../src/board.ts';
import { describePlan, planWithoutComparing } from '../src/install.ts';

const layout = getLayout('blackpill-f411');
const connection = { layout } as Connection;
const image = SparseImage.fromBytes(0x08008000, new Uint8Array(64 * 1024).fill(0x5a));

describe('the preview before Install', () => {
  test('a running application: every touched sector counts as erased and written', () => {
    const plan = planWithoutComparing(image, connection);
    expect(plan.compare).toBe('off');
    expect(plan.sectors.map((s) => [s.start, s.action])).toEqual([
      [0x08008000, 'erase'],
      [0x0800c000, 'erase'],
      [0x08010000, 'erase'],
    ]);
    expect(plan.estimate?.totalMs).toBeGreaterThan(0);
    expect(describePlan(plan)).toMatch(
      /^Planned without comparing \(the application is running; .*\): at most 3 sectors to erase and write; about \d+\.\d s\.$/,
    );
  });

  test('a compared plan names what is rewritten, written blank and skipped', () => {
    const base = planWithoutComparing(image, connection);
    const [a, b, c] = base.sectors;
    const plan: FlashPlan = {
      ...base,
      compare: 'crc',
      sectors: [
        { ...a!, action: 'erase' },
        { ...b!, action: 'skip' },
        { ...c!, action: 'write' },
      ],
    };
    expect(describePlan(plan)).toMatch(
      /^Install will touch: 1 sector to erase and write, 1 sector blank, to write, 1 sector unchanged, skipped; about \d+\.\d s\.$/,
    );
  });
});
