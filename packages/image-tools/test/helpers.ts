import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageError, type ImageErrorCode } from '../src/index.ts';

/** Debian package that provides each external tool the cross-tool tests use. */
export const TOOL_PACKAGES: Record<string, string> = {
  'arm-none-eabi-gcc': 'gcc-arm-none-eabi libnewlib-arm-none-eabi',
  'arm-none-eabi-objcopy': 'binutils-arm-none-eabi',
  srec_cat: 'srecord',
  'dfu-suffix': 'dfu-util',
  'dfuse-pack': 'dfu-util',
};

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Tools that are missing. In CI a missing tool fails the suite (the bootstrap must install
 * it); elsewhere the caller skips with a message naming the apt package.
 */
export function missingTools(names: readonly string[]): string[] {
  const missing = names.filter((n) => !hasTool(n));
  if (missing.length > 0 && process.env.CI) {
    throw new Error(
      `CI is set but ${missing.join(', ')} is missing: apt-get install ${[...new Set(missing.map((m) => TOOL_PACKAGES[m] ?? m))].join(' ')}`,
    );
  }
  return missing;
}

export function run(cmd: string, args: readonly string[], cwd?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function tempDir(prefix = 'image-tools-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Run `fn`, expect an ImageError with `code`, and return it for more checks. */
export function expectImageError(fn: () => unknown, code: ImageErrorCode): ImageError {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ImageError))
      throw new Error(`expected ImageError ${code}, got ${String(e)}`);
    if (e.code !== code)
      throw new Error(`expected ImageError ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected ImageError ${code}, but nothing was thrown`);
}

export function bytesOf(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

export function ascii(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}
