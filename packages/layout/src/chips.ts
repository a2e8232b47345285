import { formatSize, hex, LayoutError } from './errors.js';

const KB = 1024;

/** `count` consecutive erase units of `size` bytes. */
export interface SectorRun {
  readonly count: number;
  readonly size: number;
}

/** A named block of the chip's address space (an SRAM bank), start address and size in bytes. */
export interface MemoryRange {
  readonly name: string;
  readonly start: number;
  readonly size: number;
}

/** Typical and worst-case duration of one flash operation (datasheet values). */
export interface Duration {
  readonly typ: number;
  readonly max: number;
}

/**
 * Datasheet program and erase times for a chip's flash; the virtual board's delays and the
 * flash-time estimates come from them.
 */
export interface FlashTimings {
  /** Programming one `programUnit` (e.g. one 32-bit word at x32 parallelism), microseconds. */
  readonly programUs: Duration;
  /** Erase time per erase-unit size in bytes, milliseconds. */
  readonly eraseMs: Readonly<Record<number, Duration>>;
  /** Mass erase, milliseconds. */
  readonly massEraseMs: Duration;
}

/**
 * Where a chip's flash is and how it is erased and programmed: base address, size in bytes, erase
 * units, program unit and banks.
 */
export interface FlashGeometry {
  readonly base: number;
  readonly size: number;
  /** F2/F4/F7/H7 erase by sector of mixed sizes; F0/F1/F3/L4/G4 by page of one size. */
  readonly eraseUnit: 'sector' | 'page';
  readonly geometry: readonly SectorRun[];
  /** Smallest programmable unit in bytes (writes must be aligned to it). */
  readonly programUnit: number;
  /** Number of banks; sectors are split equally and numbered within their bank. */
  readonly banks: 1 | 2;
}

/**
 * One supported STM32 part: flash geometry, SRAM, system addresses and datasheet limits, what
 * partitions, erase plans and the generated firmware header are computed from.
 */
export interface ChipDefinition {
  readonly id: string;
  readonly name: string;
  readonly family: string;
  readonly core: 'cortex-m3' | 'cortex-m4' | 'cortex-m7';
  readonly flash: FlashGeometry;
  readonly sram: readonly MemoryRange[];
  /** 96-bit unique device id. */
  readonly uidAddress: number;
  /** Flash size register (kB, 16 bits). */
  readonly flashSizeAddress: number;
  /**
   * One-time-programmable bytes the flash interface programs like flash (bits only cleared),
   * without their lock bytes; absent on parts the firmware does not model. The bootloader keeps
   * its anti-rollback counter at the end of it (docs/signed-firmware.md).
   */
  readonly otp?: MemoryRange;
  /** ST's ROM bootloader (system memory). */
  readonly systemMemory: number;
  /** Datasheet timings, where we model the part (virtual board, bwPollTimeout). */
  readonly timings?: FlashTimings;
  /** Clock limits from the datasheet, for checking board definitions. */
  readonly clocks?: ClockLimits;
  /** GPIO port letters the chip has (largest package), e.g. "ABCDEH". */
  readonly gpioPorts?: string;
  /** STM32F4 RCC/PWR/flash-interface limits, for planning the clock tree (`planClockTree`). */
  readonly clockTree?: F4ClockTreeLimits;
}

/**
 * What an STM32F4's PLL, regulator, flash interface and buses allow at 2.7–3.6 V. The PLL
 * ranges (VCO input 1–2 MHz, output 100–432 MHz, N 50–432, P 2/4/6/8, Q 2–15) are the same
 * on every F4 we support and live in the planner.
 */
export interface F4ClockTreeLimits {
  /**
   * Highest HCLK for 0, 1, 2, ... flash wait states at 2.7–3.6 V: entry i is the top of the
   * range that needs i wait states.
   */
  readonly flashWaitStateMaxHz: readonly number[];
  readonly apb1MaxHz: number;
  readonly apb2MaxHz: number;
  /**
   * Highest HCLK the regulator's reset voltage scale allows. Above it the bootloader selects
   * scale 1 (PWR_CR.VOS = 0b11) before starting the PLL.
   */
  readonly resetScaleMaxHz: number;
  /** Above this HCLK the chip needs over-drive, which the STM32F4 port does not enable. */
  readonly overDriveAboveHz?: number;
  /** Reference manual sections the numbers come from. */
  readonly source: string;
}

/**
 * Datasheet clock ranges (HSE crystal, SYSCLK), in Hz, that a board definition's clocks are checked
 * against.
 */
export interface ClockLimits {
  /** HSE crystal range, Hz. */
  readonly hseMinHz: number;
  readonly hseMaxHz: number;
  readonly sysclkMaxHz: number;
  /** Where the numbers come from, e.g. "DS10314 §6.3.7". */
  readonly source: string;
}

const MHZ = 1_000_000;

function clockLimits(hseMaxMhz: number, sysclkMaxMhz: number, source: string): ClockLimits {
  return { hseMinHz: 4 * MHZ, hseMaxHz: hseMaxMhz * MHZ, sysclkMaxHz: sysclkMaxMhz * MHZ, source };
}

/** One erase unit (a sector on F4, a page on F1/L4/G4). */
export interface Sector {
  /** Index in the whole flash, from 0. */
  readonly index: number;
  /** Bank (0 or 1) and number within the bank, as the flash controller's SNB/PNB wants it. */
  readonly bank: number;
  readonly number: number;
  readonly start: number;
  readonly size: number;
  /** One past the last byte. */
  readonly end: number;
}

// RM0383 §3.3 table 4 / DS10314 table 45 (x32 parallelism, 2.7–3.6 V).
const F4_X32_TIMINGS: FlashTimings = {
  programUs: { typ: 16, max: 100 },
  eraseMs: {
    [16 * KB]: { typ: 250, max: 500 },
    [64 * KB]: { typ: 550, max: 1100 },
    [128 * KB]: { typ: 1000, max: 2000 },
  },
  massEraseMs: { typ: 4000, max: 8000 },
};

const mhzList = (...mhz: number[]) => mhz.map((m) => m * MHZ);

// RM0383 §3.4.1 table 5 (wait states), §5.1.4 (VOS: reset is scale 2, up to 84 MHz),
// §6.2 (APB1 ≤ 50 MHz, APB2 ≤ 100 MHz).
const F411_CLOCK_TREE: F4ClockTreeLimits = {
  flashWaitStateMaxHz: mhzList(30, 64, 90, 100),
  apb1MaxHz: 50 * MHZ,
  apb2MaxHz: 100 * MHZ,
  resetScaleMaxHz: 84 * MHZ,
  source: 'RM0383 §3.4.1 table 5, §5.1.4, §6.2',
};

// RM0368 §3.4 table 6 (wait states), §5.1.3 (VOS: reset is scale 2, which covers 84 MHz;
// the F401 has no scale 1), §6.2 (APB1 ≤ 42 MHz, APB2 ≤ 84 MHz).
const F401_CLOCK_TREE: F4ClockTreeLimits = {
  flashWaitStateMaxHz: mhzList(30, 60, 84),
  apb1MaxHz: 42 * MHZ,
  apb2MaxHz: 84 * MHZ,
  resetScaleMaxHz: 84 * MHZ,
  source: 'RM0368 §3.4 table 6, §5.1.3, §6.2',
};

// RM0090 §3.5.1 table 10 (30 MHz per wait state), §5.4.1 (PWR_CR.VOS resets to scale 1),
// §7.2 (APB1 ≤ 42 MHz, APB2 ≤ 84 MHz).
const F405_CLOCK_TREE: F4ClockTreeLimits = {
  flashWaitStateMaxHz: mhzList(30, 60, 90, 120, 150, 168),
  apb1MaxHz: 42 * MHZ,
  apb2MaxHz: 84 * MHZ,
  resetScaleMaxHz: 168 * MHZ,
  source: 'RM0090 §3.5.1 table 10, §5.4.1, §7.2',
};

// RM0390 §3.4.1 table 5 (30 MHz per wait state), §5.1.4 (VOS resets to scale 1; above
// 168 MHz needs over-drive), §6.2 (APB1 ≤ 45 MHz, APB2 ≤ 90 MHz).
const F446_CLOCK_TREE: F4ClockTreeLimits = {
  flashWaitStateMaxHz: mhzList(30, 60, 90, 120, 150, 180),
  apb1MaxHz: 45 * MHZ,
  apb2MaxHz: 90 * MHZ,
  resetScaleMaxHz: 168 * MHZ,
  overDriveAboveHz: 168 * MHZ,
  source: 'RM0390 §3.4.1 table 5, §5.1.4, §6.2',
};

// RM0383 §3.6 / RM0090 §3.8: 512 OTP bytes in 16 blocks of 32, then 16 lock bytes.
const F4_FLASH_SIZES = {
  uidAddress: 0x1fff7a10,
  flashSizeAddress: 0x1fff7a22,
  otp: { name: 'OTP', start: 0x1fff7800, size: 512 },
} as const;

function f4Flash(runs: readonly SectorRun[]): FlashGeometry {
  return {
    base: 0x08000000,
    size: runs.reduce((sum, r) => sum + r.count * r.size, 0),
    eraseUnit: 'sector',
    geometry: runs,
    programUnit: 4,
    banks: 1,
  };
}

function pagedFlash(
  pageSize: number,
  pages: number,
  programUnit: number,
  banks: 1 | 2 = 1,
): FlashGeometry {
  return {
    base: 0x08000000,
    size: pageSize * pages,
    eraseUnit: 'page',
    geometry: [{ count: pages, size: pageSize }],
    programUnit,
    banks,
  };
}

const CHIP_LIST = [
  {
    id: 'stm32f411xe',
    name: 'STM32F411xE',
    family: 'STM32F4',
    core: 'cortex-m4',
    flash: f4Flash([
      { count: 4, size: 16 * KB },
      { count: 1, size: 64 * KB },
      { count: 3, size: 128 * KB },
    ]),
    sram: [{ name: 'SRAM', start: 0x20000000, size: 128 * KB }],
    ...F4_FLASH_SIZES,
    systemMemory: 0x1fff0000,
    clocks: clockLimits(
      26,
      100,
      'datasheet DS10314 (STM32F411xC/xE), HSE oscillator characteristics table',
    ),
    gpioPorts: 'ABCDEH',
    clockTree: F411_CLOCK_TREE,
    timings: F4_X32_TIMINGS,
  },
  {
    id: 'stm32f405xg',
    name: 'STM32F405xG',
    family: 'STM32F4',
    core: 'cortex-m4',
    flash: f4Flash([
      { count: 4, size: 16 * KB },
      { count: 1, size: 64 * KB },
      { count: 7, size: 128 * KB },
    ]),
    // SRAM1 (112 kB) and SRAM2 (16 kB) are contiguous; CCM is data-only, no DMA.
    sram: [
      { name: 'SRAM', start: 0x20000000, size: 128 * KB },
      { name: 'CCM', start: 0x10000000, size: 64 * KB },
    ],
    ...F4_FLASH_SIZES,
    systemMemory: 0x1fff0000,
    clocks: clockLimits(
      26,
      168,
      'datasheet DS8626 (STM32F405xx), HSE oscillator characteristics table',
    ),
    gpioPorts: 'ABCDEFGHI',
    clockTree: F405_CLOCK_TREE,
    timings: F4_X32_TIMINGS,
  },
  {
    id: 'stm32f401xc',
    name: 'STM32F401xC',
    family: 'STM32F4',
    core: 'cortex-m4',
    flash: f4Flash([
      { count: 4, size: 16 * KB },
      { count: 1, size: 64 * KB },
      { count: 1, size: 128 * KB },
    ]),
    sram: [{ name: 'SRAM', start: 0x20000000, size: 64 * KB }],
    ...F4_FLASH_SIZES,
    systemMemory: 0x1fff0000,
    clocks: clockLimits(
      26,
      84,
      'datasheet DS9716 (STM32F401xB/xC), HSE oscillator characteristics table',
    ),
    gpioPorts: 'ABCDEH',
    clockTree: F401_CLOCK_TREE,
    timings: F4_X32_TIMINGS,
  },
  {
    id: 'stm32f401xe',
    name: 'STM32F401xE',
    family: 'STM32F4',
    core: 'cortex-m4',
    flash: f4Flash([
      { count: 4, size: 16 * KB },
      { count: 1, size: 64 * KB },
      { count: 3, size: 128 * KB },
    ]),
    sram: [{ name: 'SRAM', start: 0x20000000, size: 96 * KB }],
    ...F4_FLASH_SIZES,
    systemMemory: 0x1fff0000,
    clocks: clockLimits(
      26,
      84,
      'datasheet DS10086 (STM32F401xD/xE), HSE oscillator characteristics table',
    ),
    gpioPorts: 'ABCDEH',
    clockTree: F401_CLOCK_TREE,
    timings: F4_X32_TIMINGS,
  },
  {
    id: 'stm32f446xe',
    name: 'STM32F446xE',
    family: 'STM32F4',
    core: 'cortex-m4',
    flash: f4Flash([
      { count: 4, size: 16 * KB },
      { count: 1, size: 64 * KB },
      { count: 3, size: 128 * KB },
    ]),
    sram: [{ name: 'SRAM', start: 0x20000000, size: 128 * KB }],
    ...F4_FLASH_SIZES,
    systemMemory: 0x1fff0000,
    clocks: clockLimits(
      26,
      180,
      'datasheet DS10693 (STM32F446xC/xE), HSE oscillator characteristics table',
    ),
    gpioPorts: 'ABCDEFGH',
    clockTree: F446_CLOCK_TREE,
    timings: F4_X32_TIMINGS,
  },
  {
    // Medium density: 1 kB pages, half-word programming (RM0008 §3.3.3).
    id: 'stm32f103xb',
    name: 'STM32F103xB',
    family: 'STM32F1',
    core: 'cortex-m3',
    flash: pagedFlash(1 * KB, 128, 2),
    sram: [{ name: 'SRAM', start: 0x20000000, size: 20 * KB }],
    uidAddress: 0x1ffff7e8,
    flashSizeAddress: 0x1ffff7e0,
    systemMemory: 0x1ffff000,
    clocks: clockLimits(
      16,
      72,
      'datasheet DS5319 (STM32F103x8/xB), HSE oscillator characteristics table',
    ),
    gpioPorts: 'ABCDE',
  },
  {
    // High density: 2 kB pages.
    id: 'stm32f103xe',
    name: 'STM32F103xE',
    family: 'STM32F1',
    core: 'cortex-m3',
    flash: pagedFlash(2 * KB, 256, 2),
    sram: [{ name: 'SRAM', start: 0x20000000, size: 64 * KB }],
    uidAddress: 0x1ffff7e8,
    flashSizeAddress: 0x1ffff7e0,
    systemMemory: 0x1ffff000,
    clocks: clockLimits(
      16,
      72,
      'datasheet DS5792 (STM32F103xC/xD/xE), HSE oscillator characteristics table',
    ),
    gpioPorts: 'ABCDEFG',
  },
  {
    // Dual bank, 2 kB pages, 64-bit double-word programming (RM0351 §3.3).
    id: 'stm32l476xg',
    name: 'STM32L476xG',
    family: 'STM32L4',
    core: 'cortex-m4',
    flash: pagedFlash(2 * KB, 512, 8, 2),
    sram: [
      { name: 'SRAM1', start: 0x20000000, size: 96 * KB },
      { name: 'SRAM2', start: 0x10000000, size: 32 * KB },
    ],
    uidAddress: 0x1fff7590,
    flashSizeAddress: 0x1fff75e0,
    systemMemory: 0x1fff0000,
    clocks: clockLimits(
      48,
      80,
      'datasheet DS10198 (STM32L476xx), HSE oscillator characteristics table',
    ),
    gpioPorts: 'ABCDEFGH',
  },
  {
    // Category 2, 2 kB pages (RM0440 §5.3).
    id: 'stm32g431xb',
    name: 'STM32G431xB',
    family: 'STM32G4',
    core: 'cortex-m4',
    flash: pagedFlash(2 * KB, 64, 8),
    sram: [
      { name: 'SRAM1', start: 0x20000000, size: 16 * KB },
      { name: 'SRAM2', start: 0x20004000, size: 6 * KB },
      { name: 'CCM', start: 0x10000000, size: 10 * KB },
    ],
    uidAddress: 0x1fff7590,
    flashSizeAddress: 0x1fff75e0,
    systemMemory: 0x1fff0000,
    clocks: clockLimits(
      48,
      170,
      'datasheet DS12589 (STM32G431xx), HSE oscillator characteristics table',
    ),
    gpioPorts: 'ABCDEFG',
  },
  {
    // Two banks of 8 × 128 kB sectors, 256-bit flash words (RM0433 §4.3).
    id: 'stm32h743xi',
    name: 'STM32H743xI',
    family: 'STM32H7',
    core: 'cortex-m7',
    flash: {
      base: 0x08000000,
      size: 2048 * KB,
      eraseUnit: 'sector',
      geometry: [{ count: 16, size: 128 * KB }],
      programUnit: 32,
      banks: 2,
    },
    sram: [
      { name: 'DTCM', start: 0x20000000, size: 128 * KB },
      { name: 'AXI SRAM', start: 0x24000000, size: 512 * KB },
      { name: 'SRAM1-3', start: 0x30000000, size: 288 * KB },
      { name: 'SRAM4', start: 0x38000000, size: 64 * KB },
    ],
    uidAddress: 0x1ff1e800,
    flashSizeAddress: 0x1ff1e880,
    systemMemory: 0x1ff09800,
    clocks: clockLimits(
      50,
      480,
      'datasheet DS12110 (STM32H742/743/753), HSE oscillator characteristics table',
    ),
    gpioPorts: 'ABCDEFGHIJK',
  },
] as const satisfies readonly ChipDefinition[];

/** Ids of the supported chips, e.g. `stm32f411xe` (the part with its flash-size letter). */
export type ChipId = (typeof CHIP_LIST)[number]['id'];

/** The supported chips by id. */
export const chips: Readonly<Record<ChipId, ChipDefinition>> = Object.freeze(
  Object.fromEntries(CHIP_LIST.map((c) => [c.id, c])) as unknown as Record<ChipId, ChipDefinition>,
);

/** Ids of the supported chips, in the order help texts and error messages list them. */
export const chipIds: readonly ChipId[] = CHIP_LIST.map((c) => c.id);

/** Look a chip up by id (case-insensitive); throws `UNKNOWN_CHIP` naming the known ones. */
export function getChip(id: string): ChipDefinition {
  const chip = (chips as Record<string, ChipDefinition>)[id.toLowerCase()];
  if (!chip) {
    throw new LayoutError(
      'UNKNOWN_CHIP',
      `Unknown chip "${id}". Known chips: ${chipIds.join(', ')}.`,
      { value: id },
    );
  }
  return chip;
}

const sectorCache = new WeakMap<FlashGeometry, readonly Sector[]>();

/** Every erase unit of a flash, in address order. */
export function sectorsOf(flash: FlashGeometry): readonly Sector[] {
  const cached = sectorCache.get(flash);
  if (cached) return cached;
  const total = flash.geometry.reduce((n, r) => n + r.count, 0);
  const perBank = total / flash.banks;
  const out: Sector[] = [];
  let start = flash.base;
  for (const run of flash.geometry) {
    for (let i = 0; i < run.count; i++) {
      const index = out.length;
      out.push(
        Object.freeze({
          index,
          bank: Math.floor(index / perBank),
          number: index % perBank,
          start,
          size: run.size,
          end: start + run.size,
        }),
      );
      start += run.size;
    }
  }
  const frozen = Object.freeze(out);
  sectorCache.set(flash, frozen);
  return frozen;
}

/**
 * Check a chip definition is self-consistent: geometry adds up to the size, banks split
 * evenly, timings exist for every sector size. Used by tests and for user-supplied chips.
 */
export function validateChip(chip: ChipDefinition): void {
  const fail = (msg: string) => {
    throw new LayoutError('INVALID_CHIP', `Chip "${chip.id}": ${msg}`, { value: chip.id });
  };
  const sum = chip.flash.geometry.reduce((s, r) => s + r.count * r.size, 0);
  if (sum !== chip.flash.size) {
    fail(`sectors add up to ${formatSize(sum)} but flash size is ${formatSize(chip.flash.size)}.`);
  }
  const count = chip.flash.geometry.reduce((n, r) => n + r.count, 0);
  if (count % chip.flash.banks !== 0)
    fail(`${count} sectors do not split into ${chip.flash.banks} banks.`);
  for (const run of chip.flash.geometry) {
    if (run.count <= 0 || run.size <= 0 || run.size % chip.flash.programUnit !== 0) {
      fail(`bad sector run ${run.count} × ${run.size} B.`);
    }
    if (chip.timings && !chip.timings.eraseMs[run.size]) {
      fail(`no erase timing for ${formatSize(run.size)} sectors.`);
    }
  }
  if (chip.flash.base % 4 !== 0) fail(`flash base ${hex(chip.flash.base)} is not word aligned.`);
  if (chip.sram.length === 0) fail('no SRAM range.');
}
