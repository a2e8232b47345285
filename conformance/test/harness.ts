/**
 * Runs real commands (the unmodified dfu-util) against a virtual board through
 * scripts/with-virtual-usb, and reads back what they left: the exit status, what they
 * printed, the board's report (mode, device, events) and the flash file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getLayout } from '@stm32dfu/layout';
import { describe } from 'vitest';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const WITH_VIRTUAL_USB = join(ROOT, 'scripts/with-virtual-usb');
export const FIRMWARE = join(ROOT, 'firmware/build/blackpill-f411');
export const APP_BIN = join(FIRMWARE, 'app/app.bin');
export const BOOTLOADER_BIN = join(FIRMWARE, 'src/port/stm32f4/bootloader.bin');
export const STANDIN = join(ROOT, 'firmware/build/host/virtual-usb/libusb-1.0.so.0');
export const LAYOUT = getLayout('blackpill-f411');
export const FLASH_BASE = LAYOUT.chip.flash.base;
export const APP_BASE = LAYOUT.partitions.application.start;
/** The application's base as dfu-util's `-s` takes it. */
export const APP_ADDRESS = `0x${APP_BASE.toString(16).padStart(8, '0')}`;

/** Why dfu-util cannot run here, or undefined when it can. */
export function missingTools(): string | undefined {
  const probe = spawnSync('dfu-util', ['--version'], { encoding: 'utf8' });
  if (probe.error) return 'dfu-util is not installed (Debian: apt-get install dfu-util)';
  for (const [path, what] of [
    [STANDIN, 'the libusb stand-in (needs libusb-1.0-0-dev; bash firmware/scripts/build.sh)'],
    [APP_BIN, 'the example application (bash firmware/scripts/build.sh)'],
    [
      join(ROOT, 'packages/virtual-board/dist/virtual-usb-cli.js'),
      'the virtual board (pnpm turbo run build)',
    ],
  ] as const) {
    if (!existsSync(path)) return `${what} is not built: ${path} is missing`;
  }
  return undefined;
}

/**
 * `describe` for the dfu-util suites, or `describe.skip` (with a warning) when a tool they need
 * is missing; with `CI` set a missing tool fails the run instead.
 */
export function dfuUtilSuite(): typeof describe | typeof describe.skip {
  const missing = missingTools();
  if (missing && process.env.CI)
    throw new Error(`dfu-util conformance tests cannot run: ${missing}`);
  if (missing) console.warn(`skipping the dfu-util conformance tests: ${missing}`);
  return missing ? describe.skip : describe;
}

export interface BoardReport {
  exitCode: number;
  commandMs: number;
  mode: 'bootloader' | 'application' | 'rom' | 'off';
  device: {
    vendorId: number;
    productId: number;
    serialNumber: string | null;
    interfaces: { interface: number; alternate: number; protocol: number; name: string | null }[];
  } | null;
  events: { t: number; type: string; [key: string]: unknown }[];
}

export interface RunResult {
  status: number;
  output: string;
  report: BoardReport;
}

/** A directory for one test's flash file and outputs, removed by `dispose`. */
export class Workspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'stm32dfu-conformance-'));
  readonly flash = join(this.dir, 'board.bin');

  path(name: string): string {
    return join(this.dir, name);
  }

  /** One power-on of the board with `command` run against it (env: faults). */
  run(command: readonly string[], env: Record<string, string> = {}): RunResult {
    const reportFile = this.path('report.json');
    rmSync(reportFile, { force: true });
    const r = spawnSync(WITH_VIRTUAL_USB, [this.flash, '--report', reportFile, '--', ...command], {
      encoding: 'utf8',
      cwd: this.dir,
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (!existsSync(reportFile)) {
      throw new Error(`with-virtual-usb left no report (status ${r.status}):\n${output}`);
    }
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as BoardReport;
    return { status: r.status ?? -1, output, report };
  }

  /** `dfu-util ARGS` against the board. */
  dfuUtil(args: readonly string[], env: Record<string, string> = {}): RunResult {
    return this.run(['dfu-util', ...args], env);
  }

  /** Several dfu-util command lines in one power-on (a shell runs them in turn). */
  shell(script: string, env: Record<string, string> = {}): RunResult {
    return this.run(['sh', '-c', script], env);
  }

  /** The board's whole flash as saved after the last run. */
  flashImage(): Uint8Array {
    return new Uint8Array(readFileSync(this.flash));
  }

  /** `length` bytes of the saved flash at `address`. */
  read(address: number, length: number): Uint8Array {
    return this.flashImage().subarray(address - FLASH_BASE, address - FLASH_BASE + length);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function appImage(): Uint8Array {
  return new Uint8Array(readFileSync(APP_BIN));
}

/** The bootloader's 32 kB as a new board has them: the image, then erased flash. */
export function bootloaderSectors(): Uint8Array {
  const out = new Uint8Array(LAYOUT.partitions.bootloader.size).fill(0xff);
  out.set(readFileSync(BOOTLOADER_BIN));
  return out;
}

/** Whether the board, at the end of a run, presents our application's runtime interface. */
export function runsApplication(report: BoardReport): boolean {
  return (
    report.mode === 'application' &&
    report.device?.interfaces.length === 1 &&
    report.device.interfaces[0]?.protocol === 1
  );
}

/** Whether it presents our bootloader in DFU mode (interface protocol 2). */
export function inBootloader(report: BoardReport): boolean {
  return (
    report.mode === 'bootloader' &&
    report.device !== null &&
    report.device.vendorId === LAYOUT.board.usbIdentity.vendorId &&
    report.device.interfaces.every((i) => i.protocol === 2)
  );
}
