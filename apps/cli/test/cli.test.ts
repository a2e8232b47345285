/**
 * The stm32dfu command as a user runs it: the built CLI in a child process, against virtual
 * boards kept in --sim files. Each test checks what the user would: the exit status, what
 * was printed (every --json line against the schema), and what the board holds afterwards.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBinary, SparseImage, stampImage, verifyStamp } from '@stm32dfu/image-tools';
import { syntheticApplication } from '@stm32dfu/image-tools/testing';
import { getLayout } from '@stm32dfu/layout';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/errors.ts';
import { JsonLineSchema } from '../src/json-events.ts';
import { readSimFile } from '../src/sim-file.ts';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const LAYOUT = getLayout('blackpill-f411');
const APP_BASE = LAYOUT.partitions.application.start;
const FLASH_BASE = LAYOUT.chip.flash.base;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stm32dfu-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[], options: { cwd?: string } = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? dir,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
    timeout: 60_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Every stdout line parsed and checked against the --json schema; the last is the result. */
function jsonLines(run: Run): Record<string, unknown>[] {
  const lines = run.stdout.split('\n').filter((l) => l !== '');
  expect(lines.length, run.stderr).toBeGreaterThan(0);
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const line of parsed)
    expect(JsonLineSchema.safeParse(line).success, JSON.stringify(line)).toBe(true);
  expect(parsed.at(-1)?.type).toBe('result');
  return parsed;
}

/** A stamped application of `size` bytes (image-tools' testing), version 1.2.3. */
function makeApp(size: number, seed: number): Uint8Array {
  return syntheticApplication(size, { seed, version: '1.2.3' });
}

function writeApp(name: string, size = 20 * 1024, seed = 1): string {
  const path = join(dir, name);
  writeFileSync(path, makeApp(size, seed));
  return path;
}

function flashOf(sim: string): Uint8Array {
  return readSimFile(sim, { board: 'blackpill-f411' }).flash;
}

function appIn(sim: string, length: number): Uint8Array {
  return flashOf(sim).subarray(APP_BASE - FLASH_BASE, APP_BASE - FLASH_BASE + length);
}

describe('stm32dfu flash --sim', () => {
  it('flashes a raw binary onto a new board, verifies it and starts it', () => {
    const app = writeApp('app.bin');
    const sim = join(dir, 'board.sim');
    const r = cli(['flash', app, '--sim', sim]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/verified \(crc\), application started/);
    expect(Buffer.from(appIn(sim, 20 * 1024)).equals(readFileSync(app))).toBe(true);
    const info = cli(['info', '--sim', sim, '--json']);
    expect(jsonLines(info).at(-1)).toMatchObject({ mode: 'application' });
  });

  it('re-flashing the same image skips every sector; a changed sector is the only one rewritten', () => {
    const sim = join(dir, 'board.sim');
    const first = writeApp('a.bin', 64 * 1024, 1);
    expect(cli(['flash', first, '--sim', sim]).status).toBe(0);
    const again = jsonLines(cli(['flash', first, '--sim', sim, '--json'])).at(-1) as {
      boards: { plan: { writeBytes: number; skippedBytes: number } }[];
    };
    expect(again.boards[0]!.plan.writeBytes).toBe(0);
    const changed = makeApp(64 * 1024, 1);
    changed.fill(0x5a, 0x8000, 0x8100); // inside sector 4 (0x08010000, 64 kB)...
    const restamped = stampImage(SparseImage.fromBytes(APP_BASE, changed), LAYOUT, {
      version: '1.2.4',
    });
    const second = join(dir, 'b.bin');
    writeFileSync(second, restamped.read(APP_BASE, changed.length, 0xff));
    const result = jsonLines(cli(['flash', second, '--sim', sim, '--json'])).at(-1) as {
      boards: { plan: { sectors: { start: number; action: string }[] } }[];
    };
    // ...and the stamp in sector 2 changes with it: those two sectors, nothing else.
    const rewritten = result.boards[0]!.plan.sectors.filter((s) => s.action !== 'skip').map(
      (s) => s.start,
    );
    expect(rewritten).toEqual([APP_BASE, APP_BASE + 0x4000 + 0x4000]);
    expect(
      Buffer.from(appIn(sim, 64 * 1024)).equals(
        Buffer.from(restamped.read(APP_BASE, 64 * 1024, 0xff)),
      ),
    ).toBe(true);
  });

  it('stamps an unstamped image unless --no-stamp, which refuses it with exit status 8', () => {
    const raw = makeApp(8192, 3);
    raw.fill(0, 0x1c, 0x2c); // no stamp
    const path = join(dir, 'raw.bin');
    writeFileSync(path, raw);
    const sim = join(dir, 'board.sim');
    const refused = cli(['flash', path, '--sim', sim, '--no-stamp']);
    expect(refused.status).toBe(EXIT.INVALID_IMAGE);
    expect(refused.stderr).toMatch(/not stamped/);
    const stamped = cli(['flash', path, '--sim', sim, '--app-version', '2.0.1']);
    expect(stamped.status, stamped.stderr).toBe(0);
    const check = verifyStamp(readBinary(appIn(sim, 8192), { base: APP_BASE }), LAYOUT);
    expect(check.verdict).toBe('valid');
    expect(check.stamp.version).toBe(0x02000001);
  });

  it('--stay leaves the board in the bootloader; --dry-run prints the plan and changes nothing', () => {
    const sim = join(dir, 'board.sim');
    const app = writeApp('app.bin');
    const dry = cli(['flash', app, '--sim', sim, '--dry-run']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/Flash plan for "Internal Flash"/);
    expect(dry.stdout).toMatch(/0x08008000 +16 kB +blank +write/); // a new board is erased
    expect(
      flashOf(sim)
        .subarray(APP_BASE - FLASH_BASE)
        .every((b) => b === 0xff),
    ).toBe(true);
    const stay = cli(['flash', app, '--sim', sim, '--stay', '--json']);
    expect(stay.status).toBe(0);
    expect(jsonLines(stay).at(-1)).toMatchObject({ boards: [{ started: false }] });
    // The next command is the next power-on: the stamped application boots.
    expect(jsonLines(cli(['sim', 'status', '--sim', sim, '--json'])).at(-1)).toMatchObject({
      mode: 'application',
      bootVerdict: 'jump',
    });
  });

  it('--json: progress events for every phase, one result, logs only on stderr', () => {
    const lines = jsonLines(
      cli(['flash', writeApp('app.bin'), '--sim', join(dir, 'board.sim'), '--json']),
    );
    const phases = new Set(lines.filter((l) => l.type === 'progress').map((l) => l.phase));
    expect([...phases].sort()).toEqual(['erase', 'read', 'verify', 'write']);
    expect(lines.filter((l) => l.type === 'result')).toHaveLength(1);
  });

  it('refuses an image that reaches into the bootloader, naming the address, with nothing written', () => {
    const sim = join(dir, 'board.sim');
    const path = join(dir, 'low.bin');
    writeFileSync(path, new Uint8Array(4096).fill(0x11));
    const r = cli(['flash', path, '--address', '0x08004000', '--sim', sim]);
    expect(r.status).toBe(EXIT.INVALID_IMAGE);
    expect(r.stderr).toMatch(/0x08004000/);
    expect(existsSync(sim)).toBe(true);
    expect(
      flashOf(sim)
        .subarray(APP_BASE - FLASH_BASE)
        .every((b) => b === 0xff),
    ).toBe(true);
  });

  it('flashes four boards at once; one loses power mid-download, the other three succeed', () => {
    const app = writeApp('app.bin', 128 * 1024, 7);
    const sims = [1, 2, 3, 4].map((n) => join(dir, `board${n}.sim`));
    for (const s of sims) expect(cli(['sim', 'reset', '--sim', s]).status).toBe(0);
    expect(cli(['sim', 'power-cut', '--after-ops', '200', '--sim', sims[2]!]).status).toBe(0);
    const r = cli(['flash', app, ...sims.flatMap((s) => ['--sim', s]), '--json']);
    expect(r.status).toBe(EXIT.TRANSFER_FAILED);
    const lines = jsonLines(r);
    const result = lines.at(-1) as { ok: boolean; boards: { board: string; ok: boolean }[] };
    expect(result.ok).toBe(false);
    expect(result.boards.map((b) => b.ok)).toEqual([true, true, false, true]);
    expect(lines.filter((l) => l.type === 'board')).toHaveLength(4);
    for (const [i, s] of sims.entries()) {
      const written = Buffer.from(appIn(s, 128 * 1024)).equals(readFileSync(app));
      expect(written, s).toBe(i !== 2);
    }
    // The board that lost power comes back in its bootloader, and a second flash succeeds.
    const status = jsonLines(cli(['sim', 'status', '--sim', sims[2]!, '--json'])).at(-1);
    expect(status).toMatchObject({ mode: 'bootloader' });
    expect(cli(['flash', app, '--sim', sims[2]!]).status).toBe(0);
  });
});

describe('stm32dfu read, verify, erase, detach, reset --sim', () => {
  function flashed(): { sim: string; app: string } {
    const sim = join(dir, 'board.sim');
    const app = writeApp('app.bin');
    expect(cli(['flash', app, '--sim', sim]).status).toBe(0);
    return { sim, app };
  }

  it('read writes the range in the format its extension names', () => {
    const { sim, app } = flashed();
    const out = join(dir, 'out.bin');
    const r = cli(['read', out, '--range', '0x08008000:20k', '--sim', sim]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(out).equals(readFileSync(app))).toBe(true);
    const hex = join(dir, 'out.hex');
    expect(cli(['read', hex, '--range', '0x08008000:1024', '--sim', sim]).status).toBe(0);
    expect(readFileSync(hex, 'utf8')).toMatch(/^:02000004080[08]/);
    expect(cli(['read', join(dir, 'out.xyz'), '--sim', sim]).status).toBe(EXIT.USAGE);
  });

  it('verify says equal, then different after the board changed (exit status 7)', () => {
    const { sim, app } = flashed();
    expect(cli(['verify', app, '--sim', sim]).status).toBe(0);
    const other = writeApp('other.bin', 20 * 1024, 9);
    const r = cli(['verify', other, '--sim', sim, '--json']);
    expect(r.status).toBe(EXIT.VERIFY_FAILED);
    const result = jsonLines(r).at(-1) as { ok: boolean; differingSectors: { start: number }[] };
    expect(result.ok).toBe(false);
    expect(result.differingSectors.map((s) => s.start)).toEqual([APP_BASE, APP_BASE + 0x4000]);
  });

  it('erase --sectors erases those; the bootloader sectors are refused (exit status 9)', () => {
    const { sim } = flashed();
    expect(cli(['erase', '--sectors', '0', '--sim', sim]).status).toBe(EXIT.REFUSED_BY_DEVICE);
    const r = cli(['erase', '--sectors', '2', '--sim', sim]);
    expect(r.status, r.stderr).toBe(0);
    expect(appIn(sim, 16 * 1024).every((b) => b === 0xff)).toBe(true);
  });

  it('info in the bootloader: the memory map with partitions, and an application whose CRC fails', () => {
    const { sim } = flashed(); // 20 kB: sectors 2 and 3
    expect(cli(['erase', '--sectors', '3', '--sim', sim]).status).toBe(0);
    // The stamp no longer checks, so the next power-on stays in the bootloader.
    const info = jsonLines(cli(['info', '--sim', sim, '--json'])).at(-1) as {
      mode: string;
      memory: { sectors: { start: number; partition: string; access: string }[] };
      application: { stamped: boolean; crcGood: boolean; version: string };
    };
    expect(info.mode).toBe('bootloader');
    expect(info.memory.sectors[0]).toMatchObject({
      start: FLASH_BASE,
      partition: 'bootloader',
      access: 'r--',
    });
    expect(info.memory.sectors[2]).toMatchObject({
      start: APP_BASE,
      partition: 'application',
      access: 'rew',
    });
    expect(info.application).toMatchObject({ stamped: true, crcGood: false, version: '1.2.3' });
    const human = cli(['info', '--sim', sim]);
    expect(human.stdout).toMatch(/application: version 1\.2\.3, 20480 bytes, CRC BAD/);
  });

  it('detach sends the running application into the bootloader with the same serial', () => {
    const { sim } = flashed();
    const r = cli(['detach', '--sim', sim, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(jsonLines(r).at(-1)).toMatchObject({ wasRunning: true });
  });

  it('reset starts the application again; sim reset --boot0 answers as ST ROM', () => {
    const { sim } = flashed();
    expect(jsonLines(cli(['reset', '--sim', sim, '--json'])).at(-1)).toMatchObject({
      mode: 'application',
    });
    expect(cli(['sim', 'reset', '--boot0', '--sim', sim]).status).toBe(0);
    const list = jsonLines(cli(['list', '--sim', sim, '--json'])).at(-1) as {
      devices: { vendorId: number; kind: string }[];
    };
    expect(list.devices[0]).toMatchObject({ vendorId: 0x0483, kind: 'st-rom' });
  });
});

describe('stm32dfu convert, stamp, layout', () => {
  it('converts a binary to Intel HEX and a DfuSe file with the given ids', () => {
    const app = writeApp('app.bin', 4096);
    expect(cli(['convert', app, join(dir, 'app.hex')]).status).toBe(0);
    expect(readFileSync(join(dir, 'app.hex'), 'utf8')).toMatch(/^:020000040800F2/);
    expect(
      cli(['convert', app, join(dir, 'app.dfu'), '--vid', '0x1209', '--pid', '0x0001']).status,
    ).toBe(0);
    const dfu = readFileSync(join(dir, 'app.dfu'));
    expect(dfu.subarray(0, 5).toString()).toBe('DfuSe');
    expect(dfu.readUInt16LE(dfu.length - 16 + 2)).toBe(0x0001); // suffix idProduct (DFU 1.1 B.1)
    expect(dfu.readUInt16LE(dfu.length - 16 + 4)).toBe(0x1209); // idVendor
  });

  it('stamp writes an image the bootloader accepts', () => {
    const raw = makeApp(4096, 5);
    raw.fill(0, 0x1c, 0x2c);
    writeFileSync(join(dir, 'raw.bin'), raw);
    const r = cli([
      'stamp',
      join(dir, 'raw.bin'),
      join(dir, 'stamped.bin'),
      '--app-version',
      '3.1.4',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const check = verifyStamp(
      readBinary(readFileSync(join(dir, 'stamped.bin')), { base: APP_BASE }),
      LAYOUT,
    );
    expect(check.verdict).toBe('valid');
  });

  it('layout prints the memory map, the DfuSe string and the linker fragment', () => {
    expect(cli(['layout']).stdout).toMatch(/0x08008000/);
    expect(cli(['layout', '--dfuse']).stdout.trim()).toBe(
      '@Internal Flash  /0x08000000/02*016Ka,02*016Kg,01*064Kg,03*128Kg',
    );
    expect(cli(['layout', '--ld']).stdout).toMatch(/MEMORY/);
  });
});

describe('project file and usage errors', () => {
  it('stm32dfu.json supplies the image and the board; a wrong key is refused by name', () => {
    const app = writeApp('app.bin');
    writeFileSync(
      join(dir, 'stm32dfu.json'),
      JSON.stringify({ image: 'app.bin', sim: 'board.sim', stay: true }),
    );
    const r = cli(['flash', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(jsonLines(r).at(-1)).toMatchObject({ boards: [{ started: false }] });
    expect(Buffer.from(appIn(join(dir, 'board.sim'), 20 * 1024)).equals(readFileSync(app))).toBe(
      true,
    );
    writeFileSync(join(dir, 'stm32dfu.json'), JSON.stringify({ image: 'app.bin', verfiy: false }));
    const bad = cli(['flash']);
    expect(bad.status).toBe(EXIT.USAGE);
    expect(bad.stderr).toMatch(/stm32dfu\.json: unknown key "verfiy"/);
  });

  it('an unknown command and a missing image are usage errors (exit status 2)', () => {
    expect(cli(['fly']).status).toBe(EXIT.USAGE);
    const r = cli(['flash', join(dir, 'missing.bin'), '--sim', join(dir, 'b.sim')]);
    expect(r.status).toBe(EXIT.INVALID_IMAGE);
    expect(r.stderr).toMatch(/missing\.bin: no such file/);
  });
});
