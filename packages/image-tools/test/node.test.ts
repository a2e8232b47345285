import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageError, SparseImage } from '../src/index.ts';
import { readImageFile, writeImageFile } from '../src/node.ts';
import { missingTools, run, tempDir } from './helpers.ts';

const dir = tempDir('image-tools-node-');
afterAll(() => dir.cleanup());

/** Two segments with a gap, as a linker leaves between the vector table and the code. */
const image = SparseImage.fromPieces([
  { address: 0x08008000, data: Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff) },
  { address: 0x08008200, data: Uint8Array.from({ length: 64 }, (_, i) => 255 - i) },
]);

async function rejection(promise: Promise<unknown>): Promise<ImageError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof ImageError) return e;
    throw new Error(`expected an ImageError, got ${String(e)}`);
  }
  throw new Error('expected an ImageError, but the call succeeded');
}

describe('writeImageFile and readImageFile round-trip through real files', () => {
  it.each(['ihex', 'srec', 'elf', 'dfuse'] as const)('%s keeps every segment', async (format) => {
    const path = join(dir.path, `app.${format}`);
    const written = await writeImageFile(path, image, format);
    expect(written.size).toBe(readFileSync(path).length);
    const read = await readImageFile(path);
    expect(read.format).toBe(format);
    expect(read.image.equals(image)).toBe(true);
    expect(read.path).toBe(path);
  });

  it('binary fills the gap with the fill byte and reports its base', async () => {
    const path = join(dir.path, 'app.bin');
    const written = await writeImageFile(path, image, 'binary', { fill: 0x00 });
    expect(written.base).toBe(0x08008000);
    expect(written.size).toBe(0x240);
    const read = await readImageFile(path, { base: written.base! });
    expect(read.image.segments).toHaveLength(1);
    expect(read.image.byteAt(0x08008150)).toBe(0x00);
    expect(read.image.crop(0x08008200, 0x08008240).equals(image.crop(0x08008200, 0x08008240))).toBe(
      true,
    );
  });

  it('binary with an explicit start pads in front of the image', async () => {
    const path = join(dir.path, 'padded.bin');
    const written = await writeImageFile(path, image, 'binary', { start: 0x08007ff0 });
    expect(written.base).toBe(0x08007ff0);
    expect([...readFileSync(path).subarray(0, 16)]).toEqual(new Array(16).fill(0xff));
  });

  it('dfu writes the binary with a suffix carrying the given ids, which dfu-suffix accepts', async () => {
    const path = join(dir.path, 'app-suffixed.bin');
    await writeImageFile(path, image, 'dfu', { vendorId: 0x1209, productId: 0x0001 });
    const read = await readImageFile(path, { base: 0x08008000 });
    expect(read.format).toBe('dfu');
    expect(read.dfu).toMatchObject({ vendorId: 0x1209, productId: 0x0001, dfuVersion: 0x0100 });
    if (missingTools(['dfu-suffix']).length > 0) return;
    const out = run('dfu-suffix', ['-c', path]);
    expect(out).toMatch(/Vendor ID:\s*0x1209/i);
    expect(out).toMatch(/Product ID:\s*0x0001/i);
  });

  it('dfuse writes the suffix ids and the target name', async () => {
    const path = join(dir.path, 'named.dfu');
    await writeImageFile(path, image, 'dfuse', {
      vendorId: 0x1209,
      productId: 0x0001,
      targetName: 'application',
    });
    const read = await readImageFile(path);
    expect(read.dfu).toMatchObject({ vendorId: 0x1209, productId: 0x0001 });
    expect(read.targets?.[0]?.name).toBe('application');
  });
});

describe('readImageFile refusals', () => {
  it('a parse error names the file by its base name and the line', async () => {
    const path = join(dir.path, 'broken.hex');
    writeFileSync(path, ':020000040800F2\n:10000000ZZ\n:00000001FF\n');
    const e = await rejection(readImageFile(path));
    expect(e.code).toBe('HEX_SYNTAX');
    expect(e.message).toMatch(/^broken\.hex line 2/);
    expect(e.details.file).toBe('broken.hex');
  });

  it('a raw binary without a base names the file and asks for the address', async () => {
    const path = join(dir.path, 'nobase.bin');
    writeFileSync(path, new Uint8Array([1, 2, 3, 4]));
    const e = await rejection(readImageFile(path));
    expect(e.code).toBe('BASE_REQUIRED');
    expect(e.message).toContain('nobase.bin');
  });

  it('a missing file is FILE_UNREADABLE naming the whole path', async () => {
    const path = join(dir.path, 'nowhere', 'app.hex');
    const e = await rejection(readImageFile(path));
    expect(e.code).toBe('FILE_UNREADABLE');
    expect(e.details).toMatchObject({ path, errno: 'ENOENT' });
    expect(e.message).toContain(path);
    expect(e.message).toContain('no such file');
  });

  it('a directory is FILE_UNREADABLE saying so', async () => {
    const path = join(dir.path, 'firmware.hex');
    mkdirSync(path);
    const e = await rejection(readImageFile(path));
    expect(e.code).toBe('FILE_UNREADABLE');
    expect(e.message).toContain('directory');
  });

  it('a path through a regular file is FILE_UNREADABLE, not a crash', async () => {
    const file = join(dir.path, 'plain.txt');
    writeFileSync(file, 'x');
    const e = await rejection(readImageFile(join(file, 'app.hex')));
    expect(e.code).toBe('FILE_UNREADABLE');
    expect(e.details.errno).toBe('ENOTDIR');
  });

  it('a file over the size limit is refused before it is read', async () => {
    const path = join(dir.path, 'big.bin');
    writeFileSync(path, new Uint8Array(2048));
    const e = await rejection(readImageFile(path, { base: 0x08000000, maxBytes: 1024 }));
    expect(e.code).toBe('FILE_UNREADABLE');
    expect(e.message).toContain('2048 bytes');
  });

  it.skipIf(process.getuid?.() === 0)(
    'an unreadable file is FILE_UNREADABLE with permission advice',
    async () => {
      const path = join(dir.path, 'secret.hex');
      writeFileSync(path, ':00000001FF\n');
      chmodSync(path, 0o000);
      const e = await rejection(readImageFile(path));
      expect(e.code).toBe('FILE_UNREADABLE');
      expect(e.message).toContain('permission denied');
    },
  );
});

describe('writeImageFile refusals', () => {
  it('a missing directory is FILE_UNWRITABLE naming the path', async () => {
    const path = join(dir.path, 'no-such-dir', 'out.hex');
    const e = await rejection(writeImageFile(path, image, 'ihex'));
    expect(e.code).toBe('FILE_UNWRITABLE');
    expect(e.details).toMatchObject({ path, errno: 'ENOENT' });
    expect(e.message).toContain(path);
  });

  it('an image the writer refuses leaves no file behind', async () => {
    const path = join(dir.path, 'narrow.s19');
    const e = await rejection(writeImageFile(path, image, 'srec', { addressBytes: 2 }));
    expect(e.code).toBe('ADDRESS_RANGE');
    expect(existsSync(path)).toBe(false);
  });
});

describe('the main entry stays free of Node built-ins (the web flasher bundles it)', () => {
  const srcDir = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
  const builtins = new Set(builtinModules);

  /** Every module reachable from `entry` through relative imports, and every bare import. */
  function importGraph(entry: string): { files: Set<string>; bare: Set<string> } {
    const files = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
      if (files.has(file)) return;
      files.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        else bare.add(spec);
      }
    };
    visit(join(srcDir, entry));
    return { files, bare };
  }

  it('index.ts reaches no node: module and no built-in', () => {
    const { files, bare } = importGraph('index.ts');
    expect(files.size).toBeGreaterThan(10);
    expect(files.has(join(srcDir, 'node.ts'))).toBe(false);
    const offending = [...bare].filter((s) => s.startsWith('node:') || builtins.has(s));
    expect(offending).toEqual([]);
  });

  it('node.ts is where the built-ins are, and the main build excludes it', () => {
    expect([...importGraph('node.ts').bare].some((s) => s.startsWith('node:'))).toBe(true);
    const build = JSON.parse(readFileSync(join(srcDir, '../tsconfig.build.json'), 'utf8'));
    expect(build.compilerOptions.types).toEqual([]);
    expect(build.exclude).toContain('src/node.ts');
  });
});
