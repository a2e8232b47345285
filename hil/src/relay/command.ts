/**
 * Relays switched by running programs: libgpiod's tools on a Linux GPIO chip, or any command
 * (uhubctl for a hub port's power, usbrelay, a PDU's CLI) with `{channel}` in its argv.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { HilError } from '../errors.js';
import { checkChannel, type RelayDriver } from './types.js';

/** Runs argv to completion; injected so tests see exactly what would run. */
export type CommandRunner = (argv: readonly string[]) => Promise<void>;

export const runCommand: CommandRunner = (argv) =>
  new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { timeout: 10_000 }, (error, _stdout, stderr) =>
      error
        ? reject(
            new HilError(
              'RELAY_IO',
              `\`${argv.join(' ')}\` failed (${error.code ?? error.message})${stderr ? `: ${stderr.trim()}` : ''}. Check relay.on/relay.off in the rig config.`,
              { cause: error },
            ),
          )
        : resolve(),
    );
  });

export class CommandRelay implements RelayDriver {
  readonly description: string;
  readonly channelCount = 8;
  readonly #on: readonly string[];
  readonly #off: readonly string[];
  readonly #run: CommandRunner;
  readonly #states = new Map<number, boolean>();

  constructor(on: readonly string[], off: readonly string[], run: CommandRunner = runCommand) {
    this.#on = on;
    this.#off = off;
    this.#run = run;
    this.description = `command relay (${on[0]})`;
  }

  async set(channel: number, on: boolean): Promise<void> {
    checkChannel(this, channel);
    await this.#run(
      (on ? this.#on : this.#off).map((a) => a.replaceAll('{channel}', String(channel))),
    );
    this.#states.set(channel, on);
  }

  async get(channel: number): Promise<boolean> {
    checkChannel(this, channel);
    return this.#states.get(channel) ?? false;
  }

  async close(): Promise<void> {}
}

/** Starts a program that holds a line until it is killed; injected for tests. */
export type LineHolder = (argv: readonly string[]) => { stop(): Promise<void> };

/**
 * libgpiod 1.6 (Debian bookworm's `gpiod`): a line keeps its value only while the process
 * that set it holds it, so each level is a `gpioset --mode=signal` left running until the
 * next change of that line.
 */
export const holdLine: LineHolder = (argv) => {
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  child.on('error', () => {});
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
};

export class GpioRelay implements RelayDriver {
  readonly description: string;
  readonly channelCount: number;
  readonly #chip: string;
  readonly #lines: readonly number[];
  readonly #activeLow: boolean;
  readonly #hold: LineHolder;
  readonly #held = new Map<number, { stop(): Promise<void> }>();
  readonly #states = new Map<number, boolean>();

  constructor(
    options: { chip: string; lines: readonly number[]; activeLow?: boolean },
    hold: LineHolder = holdLine,
  ) {
    this.#chip = options.chip;
    this.#lines = options.lines;
    this.#activeLow = options.activeLow ?? false;
    this.#hold = hold;
    this.channelCount = options.lines.length;
    this.description = `GPIO relay ${options.chip} lines ${options.lines.join(',')}`;
  }

  async set(channel: number, on: boolean): Promise<void> {
    checkChannel(this, channel);
    const line = this.#lines[channel - 1]!;
    await this.#held.get(line)?.stop();
    const value = on !== this.#activeLow ? 1 : 0;
    this.#held.set(line, this.#hold(['gpioset', '--mode=signal', this.#chip, `${line}=${value}`]));
    this.#states.set(channel, on);
  }

  async get(channel: number): Promise<boolean> {
    checkChannel(this, channel);
    return this.#states.get(channel) ?? false;
  }

  async close(): Promise<void> {
    for (const h of this.#held.values()) await h.stop();
    this.#held.clear();
  }
}
