/** Send a running application into the bootloader with `stm32dfu detach`, as a user would. */
import { check } from '../errors.js';
import { bootApplication, enterBootloader, waitForState } from '../strategies.js';
import { appFile, cliExpect } from './common.js';
import type { Scenario } from './types.js';

export const detachByCli: Scenario = {
  name: 'detach-by-cli',
  title: 'stm32dfu detach takes a running application into the bootloader, same serial',
  async run(context) {
    const { rig } = context;
    const app = await appFile(context, '1.0.0');
    await cliExpect(context, ['flash', app.path], 0);
    await bootApplication(rig);
    const run = await cliExpect(context, ['detach'], 0);
    check(
      run.result?.wasRunning === true,
      `stm32dfu detach did not find the application running: ${run.stdout}`,
    );
    check(
      run.result?.serialNumber === rig.serialNumber,
      `the bootloader came back with serial ${String(run.result?.serialNumber)}, not ${rig.serialNumber}`,
    );
    // The same by the rig's own strategy: DETACH, then the bootloader's identity on USB.
    await bootApplication(rig);
    const dfu = await enterBootloader(rig);
    check(dfu.mode === 'dfu', `after DETACH the board answers in ${dfu.mode} mode, not DFU mode`);
    await dfu.release();
    const device = await waitForState(rig, 'bootloader');
    context.log(`bootloader on USB: "${device.productName}" serial ${device.serialNumber}`);
  },
};
