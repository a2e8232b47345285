/** stm32dfu detach: send a running application into the bootloader, found again by serial. */
import { DfuDevice, detach } from '@stm32dfu/protocol';
import { openOneBoard } from '../boards.js';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { EXIT, type ExitStatus } from '../errors.js';

export async function run(
  _args: unknown[],
  options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  const handle = await openOneBoard(options, output);
  try {
    const device = await handle.device();
    const runtime = await DfuDevice.open(device, { clock: handle.clock });
    const was = runtime.mode;
    const dfu = was === 'dfu' ? runtime : await detach(runtime, { usb: handle.usb });
    const serialNumber = dfu.serialNumber ?? null;
    await dfu.release();
    output.result(
      {
        command: 'detach',
        ok: true,
        exitStatus: EXIT.OK,
        board: handle.label,
        wasRunning: was !== 'dfu',
        serialNumber,
      },
      () =>
        was === 'dfu'
          ? `${handle.label}: already in the bootloader (serial ${serialNumber})`
          : `${handle.label}: the application detached; the bootloader is up (serial ${serialNumber})`,
    );
    return EXIT.OK;
  } finally {
    await handle.close();
  }
}
