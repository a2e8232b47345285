/**
 * A rig: one board, the relay on its BOOT0 and NRST lines (optionally its power), its USB
 * bus and optionally its console. Scenarios are written against `Rig` alone and never know
 * whether the board is real or virtual.
 */
import { execFile } from 'node:child_process';
import type { BoardLayout } from '@stm32dfu/layout';
import type { Clock, UsbLike } from '@stm32dfu/protocol';
import type { RigConfig, RigSigning } from './config.js';
import type { RelayDriver } from './relay/types.js';

/** The output of one `stm32dfu` command run against the rig's board. */
export interface CliRun {
  readonly argv: readonly string[];
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The `--json` result line, when the command printed one. */
  readonly result: Record<string, unknown> | undefined;
}

export interface ToolRun {
  readonly argv: readonly string[];
  readonly status: number;
  readonly output: string;
}

/**
 * What a debug probe would read off the board without the bootloader's help. The virtual rig
 * has one (the model's memory); a bench without a probe has none, and scenarios fall back to
 * what the board shows on USB.
 */
export interface RigProbe {
  /** Bytes of flash at `address`. */
  readFlash(address: number, length: number): Uint8Array;
  /** The chip's one-time-programmable area (the anti-rollback counter is its last 64 bytes). */
  readOtp(): Uint8Array;
  /** Flash and OTP operations (erases, program slices) done so far: `armPowerCut`'s unit. */
  flashOperations(): number;
}

/** Where a power cut falls: after n flash operations (virtual), or n ms into a download. */
export type PowerCutUnit = 'flash-ops' | 'ms';

export interface Rig {
  readonly name: string;
  readonly kind: 'virtual' | 'hardware';
  readonly layout: BoardLayout;
  /** The board's USB serial (its UID): the same in our bootloader and the application. */
  readonly serialNumber: string;
  readonly clock: Clock;
  readonly usb: UsbLike;
  readonly config: RigConfig;
  readonly relay: RelayDriver;
  /**
   * The board's signing policy from the rig config, keys read: undefined when the config
   * declares none (the board installs any stamped image; the signed scenarios are skipped).
   */
  readonly signing: RigSigning | undefined;
  /** A debug probe's view of the board, where the rig has one. */
  readonly probe: RigProbe | undefined;

  /** BOOT0 tied high (ST's ROM at the next reset) or left low. */
  setBoot0(high: boolean): Promise<void>;
  /** NRST held low for the reset pulse, then let go. */
  pulseReset(): Promise<void>;
  /** Whether the rig can switch the board's supply (a power channel is wired). */
  readonly canCutPower: boolean;
  setPower(on: boolean): Promise<void>;
  /** How `armPowerCut` counts. */
  readonly powerCutUnit: PowerCutUnit;
  /** The supply drops at `point` (in `powerCutUnit`) from now; `cancel` disarms it. */
  armPowerCut(point: number): { cancel(): void };

  /**
   * Evidence the application runs, within `timeoutMs`: its console banner on a rig with a
   * UART, else what the application shows on USB.
   */
  applicationEvidence(timeoutMs: number): Promise<string>;
  /** Run `stm32dfu <args>` against this board (the rig adds the selection and `--json`). */
  cli(args: readonly string[]): Promise<CliRun>;
  /** Run dfu-util against this board, or undefined when it is not installed. */
  dfuUtil(args: readonly string[]): Promise<ToolRun | undefined>;
  /** Release the relay, the bus and the lock. */
  close(): Promise<void>;
}

export const CLI_BIN =
  process.env.STM32DFU_CLI ?? new URL('../../apps/cli/dist/bin.js', import.meta.url).pathname;

/** Run a program to completion, never throwing for a non-zero status. */
export function runProgram(
  argv: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      {
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const status =
          error === null
            ? 0
            : typeof error.code === 'number'
              ? error.code
              : error.killed
                ? 124
                : 127;
        resolve({
          status,
          stdout: String(stdout),
          stderr: String(stderr) || (error && status === 127 ? error.message : ''),
        });
      },
    );
  });
}

export async function runCli(argv: readonly string[]): Promise<CliRun> {
  const full = [process.execPath, CLI_BIN, ...argv];
  const r = await runProgram(full);
  let result: Record<string, unknown> | undefined;
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const value = JSON.parse(line) as Record<string, unknown>;
      if (value.type === 'result') result = value;
    } catch {
      // not a JSON line
    }
  }
  return {
    argv: ['stm32dfu', ...argv],
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    result,
  };
}

/** Whether a program is on PATH (`--version` runs). */
export async function installed(program: string): Promise<boolean> {
  const r = await runProgram([program, '--version'], { timeoutMs: 10_000 });
  return r.status !== 127;
}
