import type { BoardDefinition } from './boards.js';
import { type ChipDefinition, getChip } from './chips.js';
import { LayoutError } from './errors.js';

/**
 * The STM32F4 clock tree a board runs on: HSE → PLL → SYSCLK (= HCLK, AHB /1) and the
 * 48 MHz OTG_FS clock, with the flash wait states, regulator scale and APB prescalers that
 * SYSCLK needs. Register encodings are left to the firmware; these are the plain numbers.
 */
export interface F4ClockTree {
  readonly hseHz: number;
  readonly sysclkHz: number;
  /** PLLM: HSE / M is the VCO input. */
  readonly pllM: number;
  /** PLLN: VCO input × N is the VCO output. */
  readonly pllN: number;
  /** PLLP: VCO / P is SYSCLK. */
  readonly pllP: 2 | 4 | 6 | 8;
  /** PLLQ: VCO / Q is the USB clock. */
  readonly pllQ: number;
  readonly vcoInputHz: number;
  readonly vcoHz: number;
  /** Always 48 MHz: OTG_FS needs it exactly (RM0383 §6.2.3). */
  readonly usbHz: number;
  /** FLASH_ACR.LATENCY. */
  readonly flashLatency: number;
  /** Whether the bootloader must select regulator scale 1 before starting the PLL. */
  readonly vosScale1: boolean;
  readonly apb1Div: 1 | 2 | 4 | 8 | 16;
  readonly apb2Div: 1 | 2 | 4 | 8 | 16;
  readonly pclk1Hz: number;
  readonly pclk2Hz: number;
}

const MHZ = 1_000_000;
const USB_HZ = 48 * MHZ;
// RM0383 §6.3.2 / RM0090 §7.3.2 RCC_PLLCFGR field ranges and the VCO limits in their notes.
const PLL_M = { min: 2, max: 63 };
const PLL_N = { min: 50, max: 432 };
const PLL_Q = { min: 2, max: 15 };
const PLL_P = [2, 4, 6, 8] as const;
const VCO_INPUT = { min: 1 * MHZ, max: 2 * MHZ };
const VCO_OUTPUT = { min: 100 * MHZ, max: 432 * MHZ };
const APB_DIVIDERS = [1, 2, 4, 8, 16] as const;

const mhz = (hz: number) => `${hz / MHZ} MHz`;

interface PllChoice {
  readonly m: number;
  readonly n: number;
  readonly p: 2 | 4 | 6 | 8;
  readonly q: number;
}

/**
 * Every PLL setting that gives `sysclkHz` exactly, with the one giving exactly 48 MHz for
 * USB first. Among those, the highest VCO input wins (ST recommends 2 MHz to limit jitter,
 * RM0383 §6.3.2), then the lowest VCO (less power); the search is exhaustive and exact.
 */
function searchPll(
  hseHz: number,
  sysclkHz: number,
): { withUsb?: PllChoice; sysclkOnly?: PllChoice } {
  let withUsb: PllChoice | undefined;
  let sysclkOnly: PllChoice | undefined;
  // Ascending M is descending VCO input, so the first hit per P order is the preferred one.
  for (let m = PLL_M.min; m <= PLL_M.max; m++) {
    if (hseHz < VCO_INPUT.min * m || hseHz > VCO_INPUT.max * m) continue;
    for (const p of PLL_P) {
      const vco = sysclkHz * p;
      if (vco < VCO_OUTPUT.min || vco > VCO_OUTPUT.max) continue;
      // VCO = HSE × N / M exactly, so N = VCO × M / HSE must be a whole number in range.
      if ((vco * m) % hseHz !== 0) continue;
      const n = (vco * m) / hseHz;
      if (n < PLL_N.min || n > PLL_N.max) continue;
      sysclkOnly ??= { m, n, p, q: 0 };
      if (vco % USB_HZ !== 0) continue;
      const q = vco / USB_HZ;
      if (q < PLL_Q.min || q > PLL_Q.max) continue;
      if (!withUsb) withUsb = { m, n, p, q };
    }
    if (withUsb) break;
  }
  return { ...(withUsb && { withUsb }), ...(sysclkOnly && { sysclkOnly }) };
}

/**
 * Plan an STM32F4 board's clock tree from its HSE crystal and SYSCLK. Throws
 * `IMPOSSIBLE_CLOCK_TREE` naming the board and the requirement that cannot be met (no
 * crystal, a frequency the PLL cannot make exactly, a SYSCLK above what the chip or the port
 * supports), and `INVALID_BOARD` for a chip that is not an STM32F4.
 */
export function planClockTree(
  board: Pick<BoardDefinition, 'id' | 'chip' | 'hseHz' | 'sysclkHz'>,
  chip: ChipDefinition = getChip(board.chip),
): F4ClockTree {
  const { hseHz, sysclkHz } = board;
  const limits = chip.clockTree;
  const fail = (what: string): never => {
    throw new LayoutError('IMPOSSIBLE_CLOCK_TREE', `Board "${board.id}" (${chip.name}): ${what}`, {
      value: board.id,
    });
  };
  if (!limits) {
    throw new LayoutError(
      'INVALID_BOARD',
      `Board "${board.id}": the clock-tree planner knows STM32F4 chips only, not the ${chip.name}; use an STM32F4 chip or write the board's clock setup by hand.`,
      { value: board.id, field: 'chip' },
    );
  }
  if (hseHz === 0) {
    fail(
      'has no HSE crystal (hseHz is 0), but USB needs an exact 48 MHz that only the PLL fed by a crystal gives; set hseHz to the crystal frequency.',
    );
  }
  const maxHz = Math.min(chip.clocks?.sysclkMaxHz ?? Infinity, limits.overDriveAboveHz ?? Infinity);
  if (sysclkHz > maxHz) {
    const why =
      limits.overDriveAboveHz !== undefined && sysclkHz <= (chip.clocks?.sysclkMaxHz ?? 0)
        ? `above ${mhz(limits.overDriveAboveHz)} the chip needs over-drive, which the STM32F4 port does not enable`
        : `the chip's maximum is ${mhz(chip.clocks?.sysclkMaxHz ?? 0)}`;
    fail(`SYSCLK of ${mhz(sysclkHz)} is too fast: ${why}; set sysclkHz to at most ${mhz(maxHz)}.`);
  }
  const { withUsb, sysclkOnly } = searchPll(hseHz, sysclkHz);
  if (!sysclkOnly) {
    fail(
      `no PLL setting gives exactly ${mhz(sysclkHz)} SYSCLK from an HSE of ${mhz(hseHz)} (VCO input 1–2 MHz, VCO 100–432 MHz, P 2/4/6/8); choose another sysclkHz or crystal.`,
    );
  }
  if (!withUsb) {
    fail(
      `no PLL setting gives exactly 48 MHz for USB from an HSE of ${mhz(hseHz)} with SYSCLK ${mhz(sysclkHz)} (the VCO must be a multiple of both, Q 2–15); choose another sysclkHz or crystal.`,
    );
  }
  const pll = withUsb as PllChoice;
  const flashLatency = limits.flashWaitStateMaxHz.findIndex((top) => sysclkHz <= top);
  if (flashLatency < 0) {
    fail(`SYSCLK of ${mhz(sysclkHz)} is beyond the flash wait-state table (${limits.source}).`);
  }
  // AHB stays /1 (HCLK = SYSCLK); each APB takes the smallest divider within its limit.
  const apbDiv = (maxApbHz: number) => APB_DIVIDERS.find((d) => sysclkHz / d <= maxApbHz) ?? 16;
  const apb1Div = apbDiv(limits.apb1MaxHz);
  const apb2Div = apbDiv(limits.apb2MaxHz);
  const vco = (hseHz * pll.n) / pll.m;
  return Object.freeze({
    hseHz,
    sysclkHz,
    pllM: pll.m,
    pllN: pll.n,
    pllP: pll.p,
    pllQ: pll.q,
    vcoInputHz: hseHz / pll.m,
    vcoHz: vco,
    usbHz: vco / pll.q,
    flashLatency,
    vosScale1: sysclkHz > limits.resetScaleMaxHz,
    apb1Div,
    apb2Div,
    pclk1Hz: sysclkHz / apb1Div,
    pclk2Hz: sysclkHz / apb2Div,
  });
}
