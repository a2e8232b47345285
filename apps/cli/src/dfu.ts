/** What several commands share: opening a board in DFU mode, images, numbers. */
import { type BoardLayout, getLayout } from '@stm32dfu/layout';
import { DfuDevice, detach } from '@stm32dfu/protocol';
import type { BoardHandle } from './boards.js';
import { CliError, EXIT } from './errors.js';
import type { Output } from './output.js';

/**
 * Open the board's DFU interface. A board running an application with the runtime DFU
 * interface is sent into the bootloader first (DETACH, then found again by serial): no
 * button, no Boot0, no second command.
 */
export async function openDfu(handle: BoardHandle, output: Output): Promise<DfuDevice> {
  const device = await handle.device();
  const dfu = await DfuDevice.open(device, { clock: handle.clock });
  if (dfu.mode === 'dfu') return dfu;
  output.info(
    `${handle.label}: the application is running; sending it into the bootloader (DETACH)`,
  );
  return detach(dfu, { usb: handle.usb });
}

/** The board layout for a device: the sim's own, else the default board (its USB identity). */
export function layoutFor(handle: BoardHandle, boardId: string | undefined): BoardLayout {
  if (handle.sim) return handle.sim.layout;
  return getLayout(boardId ?? 'blackpill-f411');
}

export function parseNumber(text: string | number, what: string): number {
  if (typeof text === 'number') return text;
  const value = /^0x[0-9a-f]+$/i.test(text)
    ? Number.parseInt(text, 16)
    : /^\d+$/.test(text)
      ? Number(text)
      : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffffffff) {
    throw new CliError(
      'USAGE',
      `${what} "${text}" is not a number: give it like 0x08008000 or 32768.`,
      EXIT.USAGE,
    );
  }
  return value;
}

/** "ADDR:LEN" (hex or decimal, LEN may end in k). */
export function parseRange(text: string): { address: number; length: number } {
  const m = /^([^:]+):([^:]+)$/.exec(text);
  if (!m)
    throw new CliError(
      'USAGE',
      `--range "${text}": give ADDRESS:LENGTH, e.g. 0x08008000:16k.`,
      EXIT.USAGE,
    );
  const kilo = /k$/i.test(m[2]!);
  const length = parseNumber(kilo ? m[2]!.slice(0, -1) : m[2]!, 'The length') * (kilo ? 1024 : 1);
  return { address: parseNumber(m[1]!, 'The address'), length };
}

export function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

export function formatSize(bytes: number): string {
  return bytes >= 1024 && bytes % 1024 === 0 ? `${bytes / 1024} kB` : `${bytes} B`;
}
