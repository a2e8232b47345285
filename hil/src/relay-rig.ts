/** What every rig does the same way: its lines through the relay channels of its config. */
import type { BoardLayout } from '@stm32dfu/layout';
import type { Clock, UsbLike } from '@stm32dfu/protocol';
import { type RigConfig, type RigSigning, readRigSigning } from './config.js';
import { HilError } from './errors.js';
import type { RelayDriver } from './relay/types.js';
import type { CliRun, PowerCutUnit, Rig, RigProbe, ToolRun } from './rig.js';

export abstract class RelayRig implements Rig {
  abstract readonly kind: 'virtual' | 'hardware';
  abstract readonly serialNumber: string;
  abstract readonly powerCutUnit: PowerCutUnit;
  readonly name: string;
  readonly layout: BoardLayout;
  readonly clock: Clock;
  readonly usb: UsbLike;
  readonly config: RigConfig;
  readonly relay: RelayDriver;
  readonly signing: RigSigning | undefined;
  abstract readonly probe: RigProbe | undefined;

  constructor(init: {
    config: RigConfig;
    layout: BoardLayout;
    clock: Clock;
    usb: UsbLike;
    relay: RelayDriver;
  }) {
    this.name = init.config.name;
    this.config = init.config;
    this.layout = init.layout;
    this.clock = init.clock;
    this.usb = init.usb;
    this.relay = init.relay;
    this.signing = readRigSigning(init.config, `rig ${init.config.name}`);
  }

  get canCutPower(): boolean {
    return this.config.relay.channels.power !== undefined;
  }

  async setBoot0(high: boolean): Promise<void> {
    await this.relay.set(this.config.relay.channels.boot0, high);
  }

  async pulseReset(): Promise<void> {
    const { nrst } = this.config.relay.channels;
    await this.relay.set(nrst, true);
    await this.clock.sleep(this.config.timings.resetPulseMs);
    await this.relay.set(nrst, false);
  }

  async setPower(on: boolean): Promise<void> {
    const { power } = this.config.relay.channels;
    if (power === undefined) {
      throw new HilError(
        'UNSUPPORTED',
        `Rig ${this.name} has no power channel: wire the board's supply through a relay and set relay.channels.power.`,
        { field: 'relay.channels.power' },
      );
    }
    // Closed opens the supply (the normally-closed contact feeds the board).
    await this.relay.set(power, !on);
  }

  abstract armPowerCut(point: number): { cancel(): void };
  abstract applicationEvidence(timeoutMs: number): Promise<string>;
  abstract cli(args: readonly string[]): Promise<CliRun>;
  abstract dfuUtil(args: readonly string[]): Promise<ToolRun | undefined>;

  async close(): Promise<void> {
    await this.relay.close();
  }
}
