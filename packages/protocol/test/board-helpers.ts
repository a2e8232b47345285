/** Shared by the tests that drive the virtual board. */
import type { NodeVirtualBoard } from '@stm32dfu/virtual-board/node';
import { DfuDevice, detach } from '../src/index.ts';

const hex8 = (n: number) => `0x${n.toString(16).toUpperCase().padStart(8, '0')}`;
const hex2 = (n: number) => `0x${n.toString(16).toUpperCase().padStart(2, '0')}`;

/** Sleep on the board's clock until it enumerates in `mode`. */
export async function waitForMode(board: NodeVirtualBoard, mode: string, limitMs = 5000) {
  const until = board.clock.now() + limitMs;
  while (board.clock.now() < until) {
    if (board.device && board.mode === mode) return board.device;
    await board.clock.sleep(10);
  }
  throw new Error(`the board did not enumerate in ${mode} mode (it is in ${board.mode})`);
}

export async function openBootloader(
  board: NodeVirtualBoard,
  mode = 'bootloader',
): Promise<DfuDevice> {
  return DfuDevice.open(await waitForMode(board, mode), { clock: board.clock });
}

/** From the running application back to the bootloader with DFU_DETACH. */
export async function backToDfu(board: NodeVirtualBoard): Promise<DfuDevice> {
  const runtime = await DfuDevice.open(await waitForMode(board, 'application'), {
    clock: board.clock,
  });
  return detach(runtime, { usb: board.usb });
}

export const imageOf = (data: Uint8Array, address: number) => ({
  segments: [{ address, data }],
});

/** Addresses of the board's erase (or program) events logged since event `from`. */
export function flashOpsSince(
  board: NodeVirtualBoard,
  type: 'erase' | 'program',
  from: number,
): number[] {
  return board.events.slice(from).flatMap((e) => (e.type === type ? [e.address] : []));
}

/**
 * Where the board's flash first differs from `expected` at `address`, as a sentence, or
 * null when it holds exactly those bytes. (vitest's deep equality of a 480 kB array takes
 * most of a second; this takes microseconds and names the address.)
 */
export function flashDifference(
  board: NodeVirtualBoard,
  address: number,
  expected: Uint8Array,
): string | null {
  const actual = board.readFlash(address, expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      return `flash at ${hex8(address + i)} holds ${hex2(actual[i]!)}, expected ${hex2(expected[i]!)}`;
    }
  }
  return null;
}
