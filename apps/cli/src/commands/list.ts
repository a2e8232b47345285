/** stm32dfu list: the DFU-capable boards the selection sees (--sim files, or USB). */
import { DfuDevice } from '@stm32dfu/protocol';
import { openBoards } from '../boards.js';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { EXIT, type ExitStatus } from '../errors.js';

interface ListedBoard {
  readonly board: string;
  readonly vendorId: number;
  readonly productId: number;
  readonly serialNumber: string | null;
  readonly mode: string;
  readonly kind: string;
  readonly version: string;
  readonly alternates: readonly { alternate: number; name: string | null }[];
}

export async function run(
  _args: unknown[],
  options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  if (options.sim === undefined) {
    const { listUsb } = await import('../usb-boards.js');
    return listUsb(options, output);
  }
  const boards = await openBoards(options, output);
  const rows: ListedBoard[] = [];
  for (const handle of boards) {
    try {
      const device = await handle.device();
      const dfu = await DfuDevice.open(device, { clock: handle.clock });
      rows.push({
        board: handle.label,
        vendorId: device.vendorId,
        productId: device.productId,
        serialNumber: device.serialNumber ?? null,
        mode: dfu.mode === 'dfu' ? 'bootloader' : 'application',
        kind: device.vendorId === 0x0483 && device.productId === 0xdf11 ? 'st-rom' : 'stm32dfu',
        version: `${device.deviceVersionMajor}.${device.deviceVersionMinor}${device.deviceVersionSubminor}`,
        alternates: dfu.alternates.map((a) => ({
          alternate: a.alternateSetting,
          name: a.name ?? null,
        })),
      });
      await dfu.release();
    } finally {
      await handle.close();
    }
  }
  output.result({ command: 'list', ok: true, exitStatus: EXIT.OK, devices: rows }, () =>
    rows
      .map(
        (r) =>
          `${r.board}  ${r.vendorId.toString(16).padStart(4, '0')}:${r.productId.toString(16).padStart(4, '0')}  ` +
          `${r.mode.padEnd(11)} serial ${r.serialNumber}  ${r.alternates.map((a) => `alt ${a.alternate} "${a.name}"`).join(', ')}`,
      )
      .join('\n'),
  );
  return EXIT.OK;
}
