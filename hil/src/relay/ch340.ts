/**
 * CH340 serial relay boards (LCUS-1, -2, -4): 9600 baud, one 4-byte frame per switch,
 * `A0 <channel> <state> <sum>` with state 01 closed / 00 open and sum the low byte of the
 * first three. The boards answer nothing, so `get` reports what was last set.
 */
import { HilError } from '../errors.js';
import { checkChannel, type RelayDriver } from './types.js';

/** The part of a serial port we use; `openSerialPort` backs it with serialport. */
export interface SerialLink {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export function lcusFrame(channel: number, on: boolean): Uint8Array {
  const state = on ? 0x01 : 0x00;
  return Uint8Array.of(0xa0, channel, state, (0xa0 + channel + state) & 0xff);
}

export class Ch340Relay implements RelayDriver {
  readonly description: string;
  readonly channelCount: number;
  readonly #link: SerialLink;
  readonly #states = new Map<number, boolean>();

  constructor(link: SerialLink, options: { channelCount?: number; description?: string } = {}) {
    this.#link = link;
    this.channelCount = options.channelCount ?? 4;
    this.description = options.description ?? 'CH340 serial relay';
  }

  async set(channel: number, on: boolean): Promise<void> {
    checkChannel(this, channel);
    await this.#link.write(lcusFrame(channel, on));
    this.#states.set(channel, on);
  }

  async get(channel: number): Promise<boolean> {
    checkChannel(this, channel);
    return this.#states.get(channel) ?? false;
  }

  close(): Promise<void> {
    return this.#link.close();
  }
}

/** A serial port through serialport: each write is drained before it resolves. */
export async function openSerialPort(path: string, baudRate: number): Promise<SerialLink> {
  const { SerialPort } = await import('serialport');
  const port = await new Promise<InstanceType<typeof SerialPort>>((resolve, reject) => {
    const p = new SerialPort({ path, baudRate }, (error) =>
      error
        ? reject(
            new HilError(
              'RELAY_NOT_FOUND',
              `Cannot open the serial relay ${path} (${error.message}): check relay.path and that you are in the dialout group.`,
              { field: 'relay.path', cause: error },
            ),
          )
        : resolve(p),
    );
  });
  return {
    write(bytes) {
      return new Promise((resolve, reject) => {
        port.write(Buffer.from(bytes), (error) => {
          if (error)
            return reject(new HilError('RELAY_IO', `${path}: write failed: ${error.message}`));
          port.drain((e) =>
            e ? reject(new HilError('RELAY_IO', `${path}: ${e.message}`)) : resolve(),
          );
        });
      });
    },
    close() {
      return new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
    },
  };
}

export async function openCh340Relay(path: string, baud = 9600): Promise<Ch340Relay> {
  return new Ch340Relay(await openSerialPort(path, baud), {
    description: `CH340 serial relay ${path}`,
  });
}
