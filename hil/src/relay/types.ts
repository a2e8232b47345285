/**
 * One door to a relay board, whatever drives it: close or open a numbered channel. A rig
 * maps its lines (BOOT0, NRST, power) to channels; a new kind of relay is a new driver and
 * nothing else.
 */
export interface RelayDriver {
  /** What it is, for logs and errors ("USB-HID relay 16c0:05df serial ABCDE"). */
  readonly description: string;
  /** How many channels it has (channels are numbered from 1). */
  readonly channelCount: number;
  /** Close (`on`) or open a channel. */
  set(channel: number, on: boolean): Promise<void>;
  /** The channel's state as the board reports it, or as last set where it cannot tell. */
  get(channel: number): Promise<boolean>;
  /** Release the device (channels keep their state where the hardware does). */
  close(): Promise<void>;
}

import { HilError } from '../errors.js';

export function checkChannel(
  driver: { description: string; channelCount: number },
  channel: number,
): void {
  if (!Number.isInteger(channel) || channel < 1 || channel > driver.channelCount) {
    throw new HilError(
      'RELAY_CHANNEL',
      `${driver.description} has channels 1 to ${driver.channelCount}, not ${channel}: fix relay.channels in the rig config.`,
      { field: 'relay.channels' },
    );
  }
}
