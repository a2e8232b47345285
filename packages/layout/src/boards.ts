import { type ChipDefinition, type ChipId, getChip } from './chips.js';
import { LayoutError } from './errors.js';
import { definePartitions, type PartitionMap } from './partitions.js';

/** GPIO port letters across the supported chips; each chip has a subset (`gpioPorts`). */
export type GpioPort = 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I' | 'J' | 'K';

/** A GPIO line on the board (LED, button), as the firmware drives or reads it. */
export interface Pin {
  readonly port: GpioPort;
  readonly pin: number;
  readonly activeLow: boolean;
}

/**
 * What the board announces on USB in both modes: ids, bcdDevice and strings, shared by the
 * bootloader, the application and the host tools that look for it.
 */
export interface UsbIdentity {
  readonly vendorId: number;
  /**
   * The bootloader and the example application enumerate with the same VID:PID and the
   * chip's unique serial number, so a WebUSB permission granted in one mode still holds in
   * the other (Chromium keys permissions on vendor, product and serial).
   */
  readonly productId: number;
  /** bcdDevice in DFU mode (bootloader) and in runtime mode (application). */
  readonly bootloaderBcdDevice: number;
  readonly applicationBcdDevice: number;
  readonly manufacturer: string;
  readonly bootloaderProduct: string;
  readonly applicationProduct: string;
}

/** A board's signing keys and policy (`BoardDefinition.signing`). */
export interface SigningConfig {
  /** Raw Ed25519 public keys, 64 lower-case hex digits each; 1 to 4. */
  readonly keys: readonly string[];
  /** Refuse to install an image without a valid signature by one of `keys`. */
  readonly required: boolean;
  /** Check the signature again at every boot, before starting the application (costs boot time). */
  readonly verifyAtBoot: boolean;
  /**
   * Lock-down: UPLOAD refused and `bitCanUpload` cleared, so firmware cannot be read out; the
   * CRC command then covers whole application sectors only.
   */
  readonly lockUpload: boolean;
  /**
   * On first boot set read protection level 1 and write-protect the bootloader's sectors
   * (irreversible without the mass erase that leaving level 1 causes).
   */
  readonly protectFlash: boolean;
}

/** The serial port the firmware logs to: USART instance, TX/RX pins (e.g. `PA9`) and baud rate. */
export interface UartConfig {
  readonly instance: 'USART1' | 'USART2' | 'USART6';
  readonly tx: string;
  readonly rx: string;
  readonly baud: number;
}

/**
 * One board the firmware builds for: its chip, clocks, pins, USB identity and bootloader size.
 * Built in (`boards`) or read from a board file.
 */
export interface BoardDefinition {
  readonly id: string;
  readonly name: string;
  readonly chip: ChipId;
  /** External crystal, Hz (0 when the board runs from HSI). */
  readonly hseHz: number;
  readonly sysclkHz: number;
  readonly led: Pin;
  readonly button?: Pin;
  readonly usb: { readonly dm: string; readonly dp: string; readonly vbusSense: boolean };
  readonly uart?: UartConfig;
  readonly usbIdentity: UsbIdentity;
  /**
   * Signed firmware (docs/signed-firmware.md): the Ed25519 public keys (raw, 32 bytes as 64 hex
   * digits; up to 4, for rotation) an image may be signed with, and whether the bootloader
   * installs only signed images. Absent: no keys, signatures not required.
   */
  readonly signing?: SigningConfig;
  /** Bootloader partition size in bytes; the application takes the rest of flash. */
  readonly bootloaderSize: number;
  /** Whether the board exists only in QEMU (no USB there). */
  readonly emulated: boolean;
}

/**
 * pid.codes test PID (0x1209:0x0001). It is shared by everyone testing, so a product must
 * set its own ids here; never ST's 0483:df11, which belongs to the ROM bootloader.
 */
export const DEFAULT_USB_IDENTITY: UsbIdentity = {
  vendorId: 0x1209,
  productId: 0x0001,
  bootloaderBcdDevice: 0x0200,
  applicationBcdDevice: 0x0100,
  manufacturer: 'stm32dfu',
  bootloaderProduct: 'stm32dfu bootloader',
  applicationProduct: 'stm32dfu example application',
};

const BOARD_LIST = [
  {
    id: 'blackpill-f411',
    name: 'WeAct Black Pill (STM32F411CE)',
    chip: 'stm32f411xe',
    hseHz: 25_000_000,
    sysclkHz: 96_000_000,
    led: { port: 'C', pin: 13, activeLow: true },
    button: { port: 'A', pin: 0, activeLow: true },
    usb: { dm: 'PA11', dp: 'PA12', vbusSense: false },
    uart: { instance: 'USART1', tx: 'PA9', rx: 'PA10', baud: 115_200 },
    usbIdentity: DEFAULT_USB_IDENTITY,
    bootloaderSize: 32 * 1024,
    emulated: false,
  },
  {
    id: 'netduinoplus2',
    name: 'Netduino Plus 2 (STM32F405RG, QEMU)',
    chip: 'stm32f405xg',
    hseHz: 25_000_000,
    sysclkHz: 168_000_000,
    led: { port: 'A', pin: 10, activeLow: false },
    usb: { dm: 'PA11', dp: 'PA12', vbusSense: false },
    uart: { instance: 'USART1', tx: 'PA9', rx: 'PA10', baud: 115_200 },
    usbIdentity: DEFAULT_USB_IDENTITY,
    bootloaderSize: 32 * 1024,
    emulated: true,
  },
] as const satisfies readonly BoardDefinition[];

/**
 * Ids of the built-in boards, e.g. `blackpill-f411`; the `--board` values of the CLI and the
 * firmware build.
 */
export type BoardId = (typeof BOARD_LIST)[number]['id'];

/** The built-in boards by id. */
export const boards: Readonly<Record<BoardId, BoardDefinition>> = Object.freeze(
  Object.fromEntries(BOARD_LIST.map((b) => [b.id, b])) as unknown as Record<
    BoardId,
    BoardDefinition
  >,
);

/** Ids of the built-in boards, in the order help texts and error messages list them. */
export const boardIds: readonly BoardId[] = BOARD_LIST.map((b) => b.id);

/** The board used when none is named: the Black Pill (STM32F411CE). */
export const DEFAULT_BOARD: BoardId = 'blackpill-f411';

/** Everything about one board's memory: the board, its chip and its partitions. */
export interface BoardLayout {
  readonly board: BoardDefinition;
  readonly chip: ChipDefinition;
  readonly partitions: PartitionMap;
}

/**
 * Look a built-in board up by id (case-insensitive); throws `UNKNOWN_BOARD` naming the known ones.
 */
export function getBoard(id: string): BoardDefinition {
  const board = (boards as Record<string, BoardDefinition>)[id.toLowerCase()];
  if (!board) {
    throw new LayoutError(
      'UNKNOWN_BOARD',
      `Unknown board "${id}". Known boards: ${boardIds.join(', ')}.`,
      { value: id },
    );
  }
  return board;
}

/** Resolve a board id, or a custom board definition, to its full memory layout. */
export function getLayout(board: string | BoardDefinition = DEFAULT_BOARD): BoardLayout {
  const def = typeof board === 'string' ? getBoard(board) : board;
  const chip = getChip(def.chip);
  return Object.freeze({
    board: def,
    chip,
    partitions: definePartitions(chip, { bootloaderSize: def.bootloaderSize }),
  });
}
