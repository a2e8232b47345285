/** Flash the example application with the CLI, verify it, and see it boot. */
import { bootApplication, waitForState } from '../strategies.js';
import { appFile, cliExpect } from './common.js';
import type { Scenario } from './types.js';

export const flashBoot: Scenario = {
  name: 'flash-verify-boot',
  title: 'flash the example application, verify it, and it boots',
  async run(context) {
    const { rig } = context;
    const app = await appFile(context, '1.0.0');
    await cliExpect(context, ['flash', app.path], 0);
    await waitForState(rig, 'application');
    await cliExpect(context, ['verify', app.path], 0);
    // A reset with BOOT0 low starts it again, and it shows itself.
    await bootApplication(rig);
    context.log(await rig.applicationEvidence(rig.config.timings.enumerateTimeoutMs));
  },
};
