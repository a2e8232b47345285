import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli-main.ts';
import {
  type F4ClockTree,
  generateHeader,
  getBoard,
  getChip,
  getLayout,
  LayoutError,
  planClockTree,
} from '../src/index.ts';

const MHZ = 1_000_000;

function board(chip: string, hseHz: number, sysclkHz: number) {
  return { id: 'my-board', chip: chip as never, hseHz, sysclkHz };
}

function refusal(b: ReturnType<typeof board>): LayoutError {
  try {
    planClockTree(b);
  } catch (e) {
    if (e instanceof LayoutError) return e;
    throw new Error(`expected a LayoutError, got ${String(e)}`);
  }
  throw new Error('expected a refusal, but a clock tree was planned');
}

/** The reference-manual constraints, checked from the plan's register values alone. */
function expectWithinRm(plan: F4ClockTree) {
  const vcoIn = plan.hseHz / plan.pllM;
  const vco = (plan.hseHz * plan.pllN) / plan.pllM;
  expect(vcoIn).toBeGreaterThanOrEqual(1 * MHZ);
  expect(vcoIn).toBeLessThanOrEqual(2 * MHZ);
  expect(vco).toBeGreaterThanOrEqual(100 * MHZ);
  expect(vco).toBeLessThanOrEqual(432 * MHZ);
  expect(plan.pllN).toBeGreaterThanOrEqual(50);
  expect(plan.pllN).toBeLessThanOrEqual(432);
  expect([2, 4, 6, 8]).toContain(plan.pllP);
  expect(plan.pllQ).toBeGreaterThanOrEqual(2);
  expect(plan.pllQ).toBeLessThanOrEqual(15);
  expect(vco / plan.pllP).toBe(plan.sysclkHz);
  expect(vco / plan.pllQ).toBe(48 * MHZ);
}

describe('planClockTree', () => {
  it('blackpill-f411 gets exactly the values its board.h was written and tested with', () => {
    const plan = planClockTree(getBoard('blackpill-f411'));
    expect(plan).toMatchObject({
      pllM: 25,
      pllN: 192,
      pllP: 2,
      pllQ: 4,
      flashLatency: 3,
      vosScale1: true,
      apb1Div: 2,
      apb2Div: 1,
      pclk1Hz: 48 * MHZ,
      pclk2Hz: 96 * MHZ,
    });
    expectWithinRm(plan);
  });

  it('netduinoplus2 (F405, 25 MHz → 168 MHz) matches the RM0090 values in its board notes', () => {
    const plan = planClockTree(getBoard('netduinoplus2'));
    expect(plan).toMatchObject({ pllM: 25, pllN: 336, pllP: 2, pllQ: 7, flashLatency: 5 });
    expect(plan).toMatchObject({ vosScale1: false, apb1Div: 4, apb2Div: 2 });
  });

  it('8 MHz → 84 MHz on an F401: 2 MHz VCO input, 2 wait states (RM0368), no scale 1', () => {
    const plan = planClockTree(board('stm32f401xc', 8 * MHZ, 84 * MHZ));
    expect(plan).toMatchObject({ pllM: 4, pllN: 168, pllP: 4, pllQ: 7, flashLatency: 2 });
    expect(plan).toMatchObject({ vosScale1: false, apb1Div: 2, apb2Div: 1, pclk1Hz: 42 * MHZ });
    expectWithinRm(plan);
  });

  it('8 MHz → 168 MHz on an F405: 5 wait states, APB1 /4 and APB2 /2 (42 and 84 MHz)', () => {
    const plan = planClockTree(board('stm32f405xg', 8 * MHZ, 168 * MHZ));
    expect(plan).toMatchObject({ pllM: 4, pllN: 168, pllP: 2, pllQ: 7, flashLatency: 5 });
    expect(plan).toMatchObject({ vosScale1: false, apb1Div: 4, apb2Div: 2 });
    expectWithinRm(plan);
  });

  it('wait states follow each chip’s own table at the same HCLK (F411 vs F405 at 64 MHz)', () => {
    // RM0383 table 5: up to 64 MHz is 1 WS on the F411; RM0090 table 10: 60–90 MHz is 2 WS.
    expect(planClockTree(board('stm32f411xe', 16 * MHZ, 64 * MHZ)).flashLatency).toBe(1);
    expect(planClockTree(board('stm32f405xg', 16 * MHZ, 64 * MHZ)).flashLatency).toBe(2);
    // The F411 keeps its reset regulator scale 2 up to 84 MHz (RM0383 §5.1.4).
    expect(planClockTree(board('stm32f411xe', 25 * MHZ, 84 * MHZ)).vosScale1).toBe(false);
  });

  it('every plan for common crystals meets the reference-manual constraints', () => {
    for (const hse of [8, 12, 16, 24, 25].map((m) => m * MHZ)) {
      for (const [chip, sys] of [
        ['stm32f401xe', 84],
        ['stm32f411xe', 96],
        ['stm32f405xg', 168],
        ['stm32f446xe', 168],
      ] as const) {
        expectWithinRm(planClockTree(board(chip, hse, sys * MHZ)));
      }
    }
  });

  it('refuses an HSE that cannot give exactly 48 MHz for USB, naming board, HSE and USB', () => {
    const e = refusal(board('stm32f401xc', 7_300_000, 73 * MHZ));
    expect(e.code).toBe('IMPOSSIBLE_CLOCK_TREE');
    expect(e.message).toContain('Board "my-board" (STM32F401xC)');
    expect(e.message).toContain(
      'no PLL setting gives exactly 48 MHz for USB from an HSE of 7.3 MHz',
    );
  });

  it('refuses a SYSCLK the PLL cannot make exactly', () => {
    const e = refusal(board('stm32f401xc', 7_300_000, 84 * MHZ));
    expect(e.code).toBe('IMPOSSIBLE_CLOCK_TREE');
    expect(e.message).toContain(
      'no PLL setting gives exactly 84 MHz SYSCLK from an HSE of 7.3 MHz',
    );
  });

  it('refuses a board without a crystal, a too-fast SYSCLK, and over-drive on the F446', () => {
    expect(refusal(board('stm32f411xe', 0, 96 * MHZ)).message).toContain('no HSE crystal');
    expect(refusal(board('stm32f401xc', 8 * MHZ, 96 * MHZ)).message).toContain(
      "the chip's maximum is 84 MHz",
    );
    expect(refusal(board('stm32f446xe', 8 * MHZ, 180 * MHZ)).message).toContain('over-drive');
  });

  it('refuses a chip outside the STM32F4 family with INVALID_BOARD', () => {
    const e = refusal(board('stm32l476xg', 8 * MHZ, 80 * MHZ));
    expect(e.code).toBe('INVALID_BOARD');
    expect(e.message).toContain('STM32L476xG');
    expect(getChip('stm32l476xg').clockTree).toBeUndefined();
  });
});

describe('the clock tree in the generated header', () => {
  it('carries the plan as macros the C compiler agrees with (blackpill-f411)', () => {
    const header = generateHeader(getLayout('blackpill-f411'));
    const dir = mkdtempSync(join(tmpdir(), 'layout-clock-'));
    writeFileSync(join(dir, 'stm32dfu_layout.h'), header);
    writeFileSync(
      join(dir, 'check.c'),
      [
        '#include "stm32dfu_layout.h"',
        '_Static_assert(STM32DFU_HAS_CLOCK_TREE == 1u, "planned");',
        '_Static_assert(STM32DFU_PLL_M == 25u && STM32DFU_PLL_N == 192u, "M N");',
        '_Static_assert(STM32DFU_PLL_P == 2u && STM32DFU_PLL_Q == 4u, "P Q");',
        '_Static_assert(STM32DFU_FLASH_LATENCY == 3u && STM32DFU_VOS_SCALE1 == 1u, "WS VOS");',
        '_Static_assert(STM32DFU_APB1_DIV == 2u && STM32DFU_APB2_DIV == 1u, "APB");',
        '_Static_assert(STM32DFU_HSE_HZ / STM32DFU_PLL_M * STM32DFU_PLL_N / STM32DFU_PLL_Q == 48000000u, "USB");',
        'int main(void) { return 0; }',
        '',
      ].join('\n'),
    );
    if (spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status !== 0) {
      if (process.env.CI) throw new Error('gcc is missing: install the Debian package gcc');
      console.warn('skipping: gcc not installed (apt-get install gcc)');
      return;
    }
    execFileSync('gcc', ['-std=c11', '-Wall', '-Werror', '-fsyntax-only', join(dir, 'check.c')]);
  });

  it('a non-F4 board says it has no planned clock tree', () => {
    const layout = getLayout({ ...getBoard('blackpill-f411'), id: 'l4', chip: 'stm32l476xg' });
    expect(generateHeader(layout)).toMatch(/STM32DFU_HAS_CLOCK_TREE\s+0u/);
  });

  it('codegen --board-file with an impossible clock tree exits 1 naming the file, writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'layout-clock-cli-'));
    const file = join(dir, 'odd-crystal.json');
    writeFileSync(
      file,
      JSON.stringify({
        id: 'odd-crystal',
        name: 'Odd crystal',
        chip: 'stm32f401xc',
        hseHz: 7_300_000,
        sysclkHz: 73_000_000,
        led: { port: 'C', pin: 13, activeLow: true },
        usb: { dm: 'PA11', dp: 'PA12', vbusSense: false },
        bootloaderSize: 32768,
      }),
    );
    const err: string[] = [];
    const out = join(dir, 'generated');
    const status = runCli(['codegen', '--out', out, '--board-file', file], {
      out: () => {},
      err: (l) => err.push(l),
    });
    expect(status).toBe(1);
    expect(err.join('\n')).toContain(`error [IMPOSSIBLE_CLOCK_TREE]: ${file}: Board "odd-crystal"`);
    expect(err.join('\n')).toContain('48 MHz for USB from an HSE of 7.3 MHz');
    expect(existsSync(out)).toBe(false);
  });
});
