/**
 * stm32dfu reset: a virtual board gets an NRST pulse; a USB board in the bootloader leaves
 * it (its application starts if it has a good one), one running an application gets a USB
 * port reset.
 */
import { DfuDevice } from '@stm32dfu/protocol';
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
    if (handle.sim) {
      handle.sim.reset();
    } else {
      const device = await handle.device();
      const dfu = await DfuDevice.open(device, { clock: handle.clock });
      if (dfu.mode === 'dfu') await dfu.leave({ usb: handle.usb });
      else await device.reset().catch(() => {});
    }
    await handle.clock.sleep(1000);
    const mode = handle.sim?.mode;
    output.result(
      {
        command: 'reset',
        ok: true,
        exitStatus: EXIT.OK,
        board: handle.label,
        ...(mode ? { mode } : {}),
      },
      () => `${handle.label}: reset${mode ? `; now in ${mode} mode` : ''}`,
    );
    return EXIT.OK;
  } finally {
    await handle.close();
  }
}
