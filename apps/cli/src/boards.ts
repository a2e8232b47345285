/**
 * The boards a device command works on: virtual boards from `--sim FILE` (whole state in
 * the file, virtual clock), or real boards over USB through @stm32dfu/transport-node. Both
 * give the same thing to the commands: a WebUSB-shaped bus and device, and a clock; the
 * code below that (the protocol) is the same.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Clock, UsbDeviceLike, UsbLike } from '@stm32dfu/protocol';
import type { NodeVirtualBoard } from '@stm32dfu/virtual-board/node';
import { CliError, EXIT } from './errors.js';
import type { Output } from './output.js';
import { otpField, otpOf, readSimFile, type SimState, writeSimFile } from './sim-file.js';

export interface SelectionOptions {
  readonly sim?: string | readonly string[];
  readonly board?: string;
  readonly device?: string;
  readonly serial?: string | readonly string[];
  readonly path?: string;
  /** Seconds to wait for a board to appear (true: 10). */
  readonly wait?: number | boolean;
  readonly all?: boolean;
}

export interface BoardHandle {
  /** How the board is named in output: "sim:<file>" or "usb:<serial>". */
  readonly label: string;
  readonly usb: UsbLike;
  readonly clock: Clock;
  /** The virtual board, for `--sim`. */
  readonly sim?: NodeVirtualBoard;
  /** The board's device now, waiting for it to appear (enumeration, `--wait`). */
  device(): Promise<UsbDeviceLike>;
  /** Let the board run on and keep its state (`--sim`: the file is written). */
  close(): Promise<void>;
}

/** Virtual time a sim board runs before a command: boot decision, stamp check, enumeration. */
const SIM_SETTLE_BEFORE_MS = 1000;
/** ... and after: the bootloader's 1 s idle leave, the application's start and enumeration. */
const SIM_SETTLE_AFTER_MS = 3000;

export function listOf(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** The bootloader image a new virtual board gets, when the firmware is built here. */
function bootloaderImage(board: string): Uint8Array | undefined {
  const path = fileURLToPath(
    new URL(`../../../firmware/build/${board}/src/port/stm32f4/bootloader.bin`, import.meta.url),
  );
  return existsSync(path) ? new Uint8Array(readFileSync(path)) : undefined;
}

export async function openSimBoard(
  path: string,
  boardId: string | undefined,
  output: Output,
): Promise<BoardHandle> {
  const { createVirtualBoard } = await import('@stm32dfu/virtual-board/node');
  const defaultBoard = boardId ?? 'blackpill-f411';
  const file = readSimFile(path, {
    board: defaultBoard,
    bootloader: bootloaderImage(defaultBoard),
  });
  if (boardId !== undefined && boardId !== file.state.board) {
    throw new CliError(
      'SIM_BOARD',
      `${path} is a ${file.state.board}, not a ${boardId}: drop --board, or use another file.`,
      EXIT.USAGE,
    );
  }
  const otp = otpOf(file.state);
  const board = await createVirtualBoard({
    board: file.state.board,
    flash: file.flash,
    boot0: file.state.boot0,
    powered: false,
    ...(file.state.signing ? { signing: file.state.signing } : {}),
    ...(otp ? { otp } : {}),
  });
  board.power(true);
  await board.clock.sleep(SIM_SETTLE_BEFORE_MS);
  // The power cut is for this command only; the lock and the OTP area stay with the board.
  const state: SimState = {
    board: file.state.board,
    boot0: file.state.boot0,
    ...(file.state.signing ? { signing: file.state.signing } : {}),
  };
  if (file.state.powerCutAfterOps !== undefined) {
    board.faults.cutPowerAfterFlashOps(file.state.powerCutAfterOps);
    output.debug(
      `${path}: power will be cut after ${file.state.powerCutAfterOps} flash operations`,
    );
  }
  const label = `sim:${path}`;
  return {
    label,
    usb: board.usb,
    clock: board.clock,
    sim: board,
    async device() {
      for (let waited = 0; waited <= 30_000; waited += 10) {
        if (board.device) return board.device;
        await board.clock.sleep(10);
      }
      throw new CliError(
        'NO_DEVICE',
        `${label}: the virtual board is not on the bus (it is ${board.mode}); ` +
          (board.mode === 'off'
            ? 'power it again with `stm32dfu sim reset`.'
            : 'try `stm32dfu sim status`.'),
        EXIT.NO_DEVICE,
      );
    },
    async close() {
      await board.clock.sleep(SIM_SETTLE_AFTER_MS);
      writeSimFile(path, { ...state, ...otpField(board.otpImage()) }, board.flashImage());
    },
  };
}

/** Every board the options select; at least one, or a CliError that says what was seen. */
export async function openBoards(
  options: SelectionOptions,
  output: Output,
): Promise<BoardHandle[]> {
  const sims = listOf(options.sim);
  if (sims.length > 0) {
    if (options.device || options.path || listOf(options.serial).length > 0) {
      throw new CliError(
        'USAGE',
        '--sim selects virtual boards; --device, --serial and --path select USB boards: use one kind.',
        EXIT.USAGE,
      );
    }
    const handles: BoardHandle[] = [];
    for (const path of sims) handles.push(await openSimBoard(path, options.board, output));
    return handles;
  }
  const { openUsbBoards } = await import('./usb-boards.js');
  return openUsbBoards(options, output);
}

/** Open exactly one board: several selected is an error for single-board commands. */
export async function openOneBoard(
  options: SelectionOptions,
  output: Output,
): Promise<BoardHandle> {
  if (listOf(options.sim).length > 1 || listOf(options.serial).length > 1 || options.all) {
    throw new CliError(
      'USAGE',
      'This command works on one board: give one --sim or --serial (flash takes several).',
      EXIT.USAGE,
    );
  }
  const boards = await openBoards(options, output);
  return boards[0]!;
}
