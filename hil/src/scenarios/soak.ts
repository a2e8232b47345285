/** Repeated flash cycles: two versions in turn, each verified and booted. */
import { waitForState } from '../strategies.js';
import { appFile, cliExpect } from './common.js';
import type { Scenario } from './types.js';

export const soak: Scenario = {
  name: 'soak',
  title: 'repeated flash cycles (soak.cycles) all succeed and boot',
  async run(context) {
    const { rig } = context;
    const versions = [await appFile(context, '3.0.0'), await appFile(context, '3.0.1')];
    const cycles = rig.config.soak.cycles;
    for (let i = 0; i < cycles; i++) {
      const app = versions[i % 2]!;
      await cliExpect(context, ['flash', app.path], 0);
      await waitForState(rig, 'application');
    }
    context.log(`${cycles} flash cycles, each verified by CRC and booted`);
  },
};
