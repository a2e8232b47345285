/**
 * What a user of the packages does, written once for Node and the browser: build an
 * application image as a toolchain would emit it (Intel HEX), parse it, flash it onto a
 * virtual board with the DFU protocol and read it back.
 */
import {
  readImage,
  SparseImage,
  type StampCheck,
  stampImage,
  verifyStamp,
  writeIntelHex,
} from '@stm32dfu/image-tools';
import { getLayout } from '@stm32dfu/layout';
import { DfuDevice, download, upload } from '@stm32dfu/protocol';
import type { UsbDeviceLike } from '@stm32dfu/usb-device';
import type { VirtualBoard } from '@stm32dfu/virtual-board';

export const BOARD = 'blackpill-f411';
const APP_SIZE = 20 * 1024;

/** A stamped application for the board, as an Intel HEX file's text. */
export function applicationHex(): string {
  const layout = getLayout(BOARD);
  const base = layout.partitions.application.start;
  const code = new Uint8Array(APP_SIZE);
  for (let i = 0; i < code.length; i++) code[i] = (i * 31 + (i >> 9)) & 0xff;
  const view = new DataView(code.buffer);
  view.setUint32(0, 0x20020000, true); // initial SP: top of SRAM
  view.setUint32(4, base + 0x101, true); // reset handler, Thumb
  code.fill(0, 0x1c, 0x2c); // vector slots 7–10, where the stamp goes
  return writeIntelHex(stampImage(SparseImage.fromBytes(base, code), layout, { version: '1.2.3' }));
}

export interface RoundTrip {
  readonly format: string;
  readonly address: number;
  readonly bytes: number;
  readonly verified: string;
  /** Where the bytes read back first differ from the image, or -1. */
  readonly firstDifference: number;
  readonly stampReadBack: StampCheck['verdict'];
  readonly boardEvents: number;
}

async function bootloaderDevice(board: VirtualBoard): Promise<UsbDeviceLike> {
  for (let waited = 0; waited < 5000; waited += 10) {
    if (board.device && board.mode === 'bootloader') return board.device;
    await board.clock.sleep(10);
  }
  throw new Error(`the board did not enumerate in its bootloader (it is in ${board.mode})`);
}

/** Parse `hex`, flash it onto `board` and read the same range back. */
export async function flashAndReadBack(board: VirtualBoard, hex: string): Promise<RoundTrip> {
  const { image, format } = readImage(hex);
  const dfu = await DfuDevice.open(await bootloaderDevice(board), { clock: board.clock });
  const result = await download(dfu, image);
  const address = image.start;
  const copy = SparseImage.from(await upload(dfu, [{ address, length: image.end - image.start }]));
  const expected = image.read(address, image.end - image.start);
  const actual = copy.read(address, image.end - image.start);
  return {
    format,
    address,
    bytes: actual.length,
    verified: result.verified,
    firstDifference: expected.findIndex((b, i) => actual[i] !== b),
    stampReadBack: verifyStamp(copy, getLayout(BOARD)).verdict,
    boardEvents: board.events.length,
  };
}
