/**
 * What a registry would hand out, checked the way the ecosystem checks packages: publint
 * on each tarball, are-the-types-wrong on its declarations, and the manifest fields and
 * files a user of an ESM-only TypeScript package relies on.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { boardIds } from '@stm32dfu/layout';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { describe, expect, inject, it } from 'vitest';
import { readManifest, repoRoot } from './packages.ts';

const { packages } = inject('consumer');
const rootManifest = readManifest(repoRoot);

function filesIn(tarball: string): string[] {
  const r = spawnSync('tar', ['tzf', tarball], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
}

/** Every condition object in `exports`, with its subpath. */
function conditionObjects(exports: Record<string, unknown>): [string, Record<string, unknown>][] {
  return Object.entries(exports).flatMap(([key, value]) =>
    value && typeof value === 'object' ? [[key, value as Record<string, unknown>]] : [],
  );
}

describe.each(packages)('$name as packed', (pkg) => {
  const bytes = new Uint8Array(readFileSync(pkg.tarball));
  const files = filesIn(pkg.tarball);
  const m = pkg.manifest;

  it('passes publint, suggestions included', async () => {
    const { messages } = await publint({
      pack: { tarball: bytes.buffer as ArrayBuffer },
      level: 'suggestion',
      strict: true,
    });
    expect(messages.map((msg) => `${msg.type}: ${formatMessage(msg, m)}`)).toEqual([]);
  });

  it('has types that resolve for Node ESM and bundlers (are-the-types-wrong)', async () => {
    const result = await checkPackage(createPackageFromTarballData(bytes));
    expect(result.types).not.toBe(false);
    const problems = 'problems' in result ? result.problems : [];
    // ESM-only by design (docs/decisions.md): require() and node10 resolution are not offered.
    const relevant = problems.filter(
      (p) => !('resolutionKind' in p) || !['node10', 'node16-cjs'].includes(p.resolutionKind),
    );
    expect(relevant.map((p) => JSON.stringify(p))).toEqual([]);
  });

  it('declares what a user and a registry read: ESM, licence, engines, side effects, repository', () => {
    expect(m.type).toBe('module');
    expect(m.description).toBeTruthy();
    expect(m.license).toBeTruthy();
    expect(m.engines?.node).toBe(rootManifest.engines?.node);
    expect(m.sideEffects).toBe(false);
    expect(m.repository).toMatchObject({ type: 'git', directory: pkg.path });
  });

  it('exports types first and default last, with no workspace-only condition', () => {
    const objects = conditionObjects(m.exports ?? {});
    expect(objects.length).toBeGreaterThan(0);
    for (const [key, conditions] of objects) {
      expect(Object.keys(conditions), key).toEqual(['types', 'default']);
    }
    for (const target of Object.values(m.exports ?? {}).flatMap((v) =>
      typeof v === 'string' ? [] : Object.values(v as Record<string, string>),
    )) {
      expect(files, `exports target ${target}`).toContain(target.replace(/^\.\//, ''));
    }
  });

  it('ships dist, its README and no tests', () => {
    expect(files).toContain('README.md');
    expect(files).toContain('package.json');
    expect(files.filter((f) => /(^|\/)(test|tests|__tests__)\/|\.test\.|\.spec\./.test(f))).toEqual(
      [],
    );
    expect(files.filter((f) => f.endsWith('.tsbuildinfo'))).toEqual([]);
  });

  it('ships the sources its source maps point at', () => {
    const missing = files
      .filter((f) => f.endsWith('.map'))
      .flatMap((f) => {
        const map = JSON.parse(
          spawnSync('tar', ['xzOf', pkg.tarball, `package/${f}`], { encoding: 'utf8' }).stdout,
        ) as { sources: string[] };
        const dir = f.split('/').slice(0, -1);
        return map.sources
          .map((s) => join(...dir, s))
          .filter((s) => !files.includes(s))
          .map((s) => `${f} → ${s}`);
      });
    expect(missing.slice(0, 5)).toEqual([]);
  });

  it('depends on its sibling packages by the version being released', () => {
    for (const [dep, range] of Object.entries(m.dependencies ?? {})) {
      expect(range, dep).not.toMatch(/^workspace:/);
      const sibling = packages.find((p) => p.name === dep);
      if (sibling) expect(range, dep).toBe(sibling.manifest.version);
    }
  });
});

describe('@stm32dfu/virtual-board as packed', () => {
  const board = packages.find((p) => p.name === '@stm32dfu/virtual-board')!;
  it('ships the bootloader core for every board it simulates', () => {
    const wasm = filesIn(board.tarball).filter((f) => f.endsWith('.wasm'));
    expect(wasm.sort()).toEqual(boardIds.map((id) => `dist/wasm/${id}.wasm`).sort());
  });
});
