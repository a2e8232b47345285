/** The public packages: every package under packages/ whose package.json is not private. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');

export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly description?: string;
  readonly type?: string;
  readonly license?: string;
  readonly sideEffects?: boolean | string[];
  readonly engines?: Record<string, string>;
  readonly repository?: {
    readonly type?: string;
    readonly url?: string;
    readonly directory?: string;
  };
  readonly files?: string[];
  readonly exports?: Record<string, unknown>;
  readonly publishConfig?: Record<string, unknown>;
  readonly bin?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
}

export interface PublicPackage {
  /** `packages/<dir>` */
  readonly path: string;
  readonly dir: string;
  readonly manifest: Manifest;
}

export function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

export function publicPackages(): PublicPackage[] {
  const base = join(repoRoot, 'packages');
  return readdirSync(base)
    .filter((d) => existsSync(join(base, d, 'package.json')))
    .map((d) => ({
      path: `packages/${d}`,
      dir: join(base, d),
      manifest: readManifest(join(base, d)),
    }))
    .filter((p) => !p.manifest.private)
    .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
}

/** `@stm32dfu/layout` → `stm32dfu-layout-0.1.0.tgz`, as pnpm pack names it. */
export function tarballName(m: Manifest): string {
  return `${m.name.replace(/^@/, '').replace('/', '-')}-${m.version}.tgz`;
}
