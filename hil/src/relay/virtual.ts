/**
 * A relay wired to a virtual board's pins, the same way a real one is wired on the bench:
 * the boot0 channel ties BOOT0 to 3V3, the nrst channel pulls NRST to ground (the chip
 * restarts when it is let go), the power channel opens the supply (wired through the
 * normally-closed contact, so an idle rig keeps the board powered).
 */
import type { VirtualBoard } from '@stm32dfu/virtual-board';
import type { ChannelMap } from '../config.js';
import { checkChannel, type RelayDriver } from './types.js';

export class VirtualRelay implements RelayDriver {
  readonly description = 'virtual relay';
  readonly channelCount = 8;
  readonly #board: VirtualBoard;
  readonly #channels: ChannelMap;
  readonly #states = new Map<number, boolean>();
  /** Every switch, in order: what the rig did to the pins. */
  readonly log: { channel: number; on: boolean; t: number }[] = [];

  constructor(board: VirtualBoard, channels: ChannelMap) {
    this.#board = board;
    this.#channels = channels;
  }

  async set(channel: number, on: boolean): Promise<void> {
    checkChannel(this, channel);
    const was = this.#states.get(channel) ?? false;
    this.#states.set(channel, on);
    this.log.push({ channel, on, t: this.#board.clock.now() });
    if (channel === this.#channels.boot0) this.#board.setBoot0(on);
    else if (channel === this.#channels.nrst) {
      if (was && !on) this.#board.reset();
    } else if (channel === this.#channels.power) this.#board.power(!on);
  }

  async get(channel: number): Promise<boolean> {
    checkChannel(this, channel);
    return this.#states.get(channel) ?? false;
  }

  async close(): Promise<void> {}
}
