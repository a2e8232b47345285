/**
 * Pack every public package with `pnpm pack` and install the tarballs into a new project in
 * the system's temporary directory: no workspace, no links, no `@stm32dfu/source` condition,
 * only what a registry would hand out. The project's sources are consumers/project/, the
 * package READMEs' examples and one generated file that imports every entry point.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type Manifest, publicPackages, readManifest, repoRoot, tarballName } from './packages.ts';
import { readmeExample } from './readme.ts';

export interface PackedPackage {
  readonly name: string;
  /** `packages/<dir>` */
  readonly path: string;
  readonly tarball: string;
  /** package.json as packed (workspace: ranges replaced, publishConfig applied). */
  readonly manifest: Manifest;
}

export interface Consumer {
  readonly project: string;
  readonly packages: readonly PackedPackage[];
  /** Entry points (`@stm32dfu/x`, `@stm32dfu/x/node`, …) from the packed `exports`. */
  readonly entryPoints: readonly string[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    consumer: Consumer;
  }
}

/** The environment without what pnpm passes to the scripts it runs for the workspace. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|pnpm_config_)/i.test(k)) env[k] = v;
  }
  return { ...env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' };
}

function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: cleanEnv() });
  if (r.status !== 0) {
    throw new Error(
      `\`${command} ${args.join(' ')}\` in ${cwd} failed (${r.error ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`,
    );
  }
  return r.stdout;
}

function entryPointsOf(m: Manifest): string[] {
  return Object.keys(m.exports ?? {})
    .filter((key) => !key.includes('*') && key !== './package.json')
    .map((key) => (key === '.' ? m.name : `${m.name}/${key.slice(2)}`));
}

/** Versions of the tools the consumer project installs: the ones this workspace uses. */
function installedVersion(name: string): string {
  const here = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(here, 'utf8')) as { version: string }).version;
}

export default function setup(project: TestProject): () => void {
  const root = mkdtempSync(join(tmpdir(), 'stm32dfu-consumer-'));
  const tarballs = join(root, 'tarballs');
  const dir = join(root, 'project');
  mkdirSync(tarballs);

  const packages: PackedPackage[] = publicPackages().map((p) => {
    run('pnpm', ['pack', '--pack-destination', tarballs], p.dir);
    const tarball = join(tarballs, tarballName(p.manifest));
    const unpacked = join(root, 'unpacked', p.path);
    mkdirSync(unpacked, { recursive: true });
    run('tar', ['xzf', tarball, '-C', unpacked, 'package/package.json'], root);
    return {
      name: p.manifest.name,
      path: p.path,
      tarball,
      manifest: readManifest(join(unpacked, 'package')),
    };
  });

  cpSync(new URL('../project', import.meta.url).pathname, dir, { recursive: true });
  const fromTarballs = Object.fromEntries(packages.map((p) => [p.name, `file:${p.tarball}`]));
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify(
      {
        name: 'stm32dfu-consumer',
        private: true,
        type: 'module',
        dependencies: fromTarballs,
        devDependencies: {
          '@types/node': installedVersion('@types/node'),
          typescript: installedVersion('typescript'),
          vite: readManifest(join(repoRoot, 'packages/virtual-board')).devDependencies?.vite,
        },
        // The packages depend on each other by version: take those from the tarballs too.
        pnpm: { overrides: fromTarballs },
      },
      null,
      2,
    )}\n`,
  );

  const entryPoints = packages.flatMap((p) => entryPointsOf(p.manifest));
  writeFileSync(
    join(dir, 'src', 'entries.ts'),
    [
      '// Every entry point of every installed package; an untyped one is an `any` here.',
      'type IsAny<T> = 0 extends 1 & T ? true : false;',
      ...entryPoints.map((e, i) => `import * as e${i} from '${e}';`),
      ...entryPoints.map((_, i) => `export const typed${i}: IsAny<typeof e${i}> = false;`),
      '',
    ].join('\n'),
  );

  mkdirSync(join(dir, 'readme'));
  for (const p of publicPackages()) {
    const example = readmeExample(p.dir);
    if (example)
      writeFileSync(join(dir, 'readme', `${p.path.slice('packages/'.length)}.ts`), example);
  }

  run('pnpm', ['install', '--prefer-offline', '--no-frozen-lockfile', '--reporter=silent'], dir);

  project.provide('consumer', { project: dir, packages, entryPoints });
  return () => {
    if (!process.env.STM32DFU_KEEP_CONSUMER) rmSync(root, { recursive: true, force: true });
  };
}
