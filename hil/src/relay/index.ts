import type { RelayConfig } from '../config.js';
import { HilError } from '../errors.js';
import { openCh340Relay } from './ch340.js';
import { CommandRelay, GpioRelay } from './command.js';
import { openHidRelay } from './hid.js';
import type { RelayDriver } from './types.js';

/** The driver a rig config names (the virtual relay needs a board: see `createVirtualRig`). */
export async function openRelay(config: RelayConfig): Promise<RelayDriver> {
  switch (config.driver) {
    case 'hid':
      return openHidRelay(config);
    case 'ch340':
      return openCh340Relay(config.path, config.baud);
    case 'gpio':
      return new GpioRelay(config);
    case 'command':
      return new CommandRelay(config.on, config.off);
    case 'virtual':
      throw new HilError(
        'UNSUPPORTED',
        'relay.driver "virtual" drives a virtual board: run with --rig virtual instead of a config file.',
        { field: 'relay.driver' },
      );
  }
}
