import { crc32Stm32Words as stm32Crc } from '@stm32dfu/image-tools';
import { dfuseLayoutFor, getLayout } from '@stm32dfu/layout';
import { DFUSE_CMD_CRC } from '../src/index.ts';
import { type DfuInterfaceSpec, dfu, type ScriptStep } from '../src/testing/index.ts';

export const board = getLayout('blackpill-f411');
/** What our bootloader announces: sectors 0–1 read-only. */
export const OUR_LAYOUT = dfuseLayoutFor(board);
export const APP_BASE = board.partitions.application.start;

export const ourSpec: DfuInterfaceSpec = {
  alternates: [OUR_LAYOUT],
  bmAttributes: 0x0b,
  transferSize: 2048,
};
export const OUR_COMMANDS = [0x00, 0x21, 0x41, DFUSE_CMD_CRC];

function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** The exchange of one CRC command answered with `crc`. */
export function crcSteps(
  address: number,
  length: number,
  crc: number,
  pollTimeout = 1,
): ScriptStep[] {
  return [
    ...dfu.command([DFUSE_CMD_CRC, ...u32(address), ...u32(length)], pollTimeout),
    dfu.abort(),
    dfu.upload(1, 12, {
      type: 'data',
      data: Uint8Array.from([...u32(address), ...u32(length), ...u32(crc)]),
    }),
    dfu.abort(),
  ];
}

/** The CRC of a sector that holds `data` at its start and is erased elsewhere. */
export function sectorCrc(data: Uint8Array, size: number): number {
  const bytes = new Uint8Array(size).fill(0xff);
  bytes.set(data);
  return stm32Crc(bytes);
}
