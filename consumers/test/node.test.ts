/** The installed tarballs used from Node: plain ESM, TypeScript (node16 and bundler), a run. */
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';

const { project, entryPoints, packages } = inject('consumer');

function node(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8', timeout: 60_000 });
}

function tsc(config: string) {
  const r = node([
    join(project, 'node_modules/typescript/bin/tsc'),
    '-p',
    config,
    '--pretty',
    'false',
  ]);
  return `${r.stdout}${r.stderr}`.trim();
}

describe('in a project outside the workspace', () => {
  it('installs the packages from their tarballs, not as links into the workspace', () => {
    for (const { name } of packages) {
      const installed = realpathSync(join(project, 'node_modules', name));
      expect(installed.startsWith(`${realpathSync(project)}/node_modules/.pnpm/`), installed).toBe(
        true,
      );
    }
  });

  it('imports every entry point of every package from plain Node ESM', () => {
    const r = node([
      '--input-type=module',
      '-e',
      `const out = {};
       for (const e of ${JSON.stringify(entryPoints)}) out[e] = Object.keys(await import(e)).length;
       console.log(JSON.stringify(out));`,
    ]);
    expect(r.stderr).toBe('');
    const exportsPerEntry = JSON.parse(r.stdout) as Record<string, number>;
    expect(Object.keys(exportsPerEntry)).toEqual(entryPoints);
    for (const [entry, count] of Object.entries(exportsPerEntry)) {
      expect(count, entry).toBeGreaterThan(0);
    }
  });

  it('typechecks with moduleResolution node16, no any from the declarations', () => {
    expect(tsc('tsconfig.node16.json')).toBe('');
  });

  it('typechecks with moduleResolution bundler, README examples included', () => {
    expect(tsc('tsconfig.bundler.json')).toBe('');
  });

  it('parses an image, flashes it onto a virtual board with the protocol and reads it back', () => {
    expect(tsc('tsconfig.node16.json')).toBe('');
    const r = node(['out/node.js']);
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({
      fileFormat: 'ihex',
      roundTrip: {
        format: 'ihex',
        address: 0x08008000,
        bytes: 20 * 1024,
        verified: 'crc',
        firstDifference: -1,
        stampReadBack: 'valid',
      },
      nodeUsb: 'function',
      shippedUdevRulesMatch: true,
    });
    expect(result.roundTrip.boardEvents).toBeGreaterThan(0);
  });
});
