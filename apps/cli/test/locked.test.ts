/**
 * A locked virtual board from the command line (docs/signed-firmware.md): `sim lock` gives a
 * --sim file keys and a policy, its anti-rollback counter lives in the file's OTP area across
 * commands, `info` shows them, `flash` sends a signed image and refuses before sending
 * anything an image the board would refuse, and `read` says the board is locked. Each test
 * checks what a user would: the exit status, the message, and what the board holds.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticApplication } from '@stm32dfu/image-tools/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/errors.ts';
import { JsonLineSchema, SecuritySchema } from '../src/json-events.ts';
import { readSimFile } from '../src/sim-file.ts';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const TRAILER_AT = 0x5000; // a 20 kB application: the trailer follows it

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stm32dfu-locked-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
    timeout: 60_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(run: Run): Run {
  expect(run.status, run.stderr).toBe(0);
  return run;
}

/** The --json result line, every line checked against the schema. */
function result(run: Run): Record<string, unknown> {
  const lines = run.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const line of lines) expect(JsonLineSchema.safeParse(line).success).toBe(true);
  return lines.at(-1)!;
}

/** Key pairs `prod` (the board's) and `other`; prod's key id. */
function keys(): string {
  const r = ok(cli('keygen', 'prod', '--json'));
  ok(cli('keygen', 'other'));
  return (result(r) as { keyId: string }).keyId;
}

/** A 20 kB stamped application, version 1.0.<seed>. */
function app(name: string, seed: number): string {
  writeFileSync(join(dir, name), syntheticApplication(20 * 1024, { seed, version: `1.0.${seed}` }));
  return name;
}

function signed(name: string, counter: number, key = 'prod.key', ...more: string[]): string {
  const out = name.replace('.bin', `.c${counter}.bin`);
  ok(cli('sign', name, out, '--key', key, '--counter', String(counter), ...more));
  return out;
}

/** The sim file's flash and OTP, to show a refused command changed nothing. */
function boardState(sim: string): { flash: Buffer; otp: string | undefined } {
  const file = readSimFile(join(dir, sim), { board: 'blackpill-f411' });
  return { flash: Buffer.from(file.flash), otp: file.state.otp };
}

function lockedSim(...flags: string[]): string {
  ok(cli('sim', 'lock', '--sim', 'board.sim', '--public-key', 'prod.pub', ...flags));
  return 'board.sim';
}

/** `info --detach --json`: a running application answers no security request, its bootloader does. */
function security(sim: string) {
  const info = result(ok(cli('info', '--sim', sim, '--detach', '--json'))) as {
    mode: string;
    security?: unknown;
  };
  expect(info.mode).toBe('bootloader');
  return SecuritySchema.parse(info.security);
}

describe('a locked --sim board', () => {
  it('sim lock keeps the keys and policy; a signed image installs; info shows the counter raised', () => {
    const keyId = keys();
    const sim = lockedSim('--lock-upload');
    const status = result(ok(cli('sim', 'status', '--sim', sim, '--json')));
    expect(status.signing).toEqual({
      keyIds: [keyId],
      required: true,
      verifyAtBoot: false,
      lockUpload: true,
      counter: 0,
      capacity: 512,
    });

    const image = signed(app('app.bin', 1), 3);
    const flashed = ok(cli('flash', image, '--sim', sim, '--public-key', 'prod.pub'));
    expect(flashed.stdout).toMatch(/verified \(crc\), application started/);
    expect(flashed.stderr + flashed.stdout).toMatch(
      /signature, key id, board id and security counter check/,
    );

    expect(security(sim)).toMatchObject({
      signaturesRequired: true,
      verifyAtBoot: false,
      uploadLocked: true,
      keyIds: [keyId],
      counter: 3,
      counterCapacity: 512,
    });
    const text = ok(cli('info', '--sim', sim, '--detach')).stdout;
    expect(text).toMatch(`signatures: required, key ${keyId}; board id b7a4da45`);
    expect(text).toMatch('upload locked');
    expect(text).toMatch('security counter 3 of 512');
    expect(text).toMatch('application: not readable');
    expect(text).toMatch('the application was started again');
    // The counter lives in the file's OTP area, so every later command sees it.
    expect(result(ok(cli('sim', 'status', '--sim', sim, '--json'))).signing).toMatchObject({
      counter: 3,
    });
  });

  it('info on an unlocked board says signatures are not required', () => {
    const info = result(ok(cli('info', '--sim', 'open.sim', '--json'))) as { security: unknown };
    expect(SecuritySchema.parse(info.security)).toMatchObject({
      signaturesRequired: false,
      uploadLocked: false,
      keyIds: [],
    });
    expect(ok(cli('info', '--sim', 'open.sim')).stdout).toMatch('signatures: not required');
  });

  it.each([
    ['unsigned', () => app('app.bin', 2), /app\.bin: signature: .* the image is not signed/],
    [
      'signed with a key the board does not hold',
      () => signed(app('app.bin', 2), 5, 'other.key'),
      /app\.c5\.bin: key id: .*signed with a key it does not hold \(key id [0-9a-f]{8}\); it holds key [0-9a-f]{8}/,
    ],
    [
      'signed for another board',
      () => signed(app('app.bin', 2), 5, 'prod.key', '--board', 'netduinoplus2'),
      /app\.c5\.bin: board id: .*signed for another board \(board id [0-9a-f]{8}\), and this board's id is b7a4da45/,
    ],
    [
      'rolled back below the board’s counter',
      () => signed(app('app.bin', 2), 2),
      /app\.c2\.bin: security counter: .*its security counter 2 is below the board's 4.*--counter 4/,
    ],
    [
      'above the counter’s capacity',
      () => signed(app('app.bin', 2), 513),
      /security counter: .*its security counter 513 is above the most the board can count \(512\)/,
    ],
  ])('flash refuses an image %s before sending anything', (_name, make, message) => {
    keys();
    const sim = lockedSim();
    ok(cli('flash', signed(app('first.bin', 1), 4), '--sim', sim));
    const image = make();
    const before = boardState(sim);
    const run = cli('flash', image, '--sim', sim, '--json');
    expect(run.status, run.stderr).toBe(EXIT.IMAGE_REFUSED);
    const error = (result(run) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('IMAGE_REFUSED');
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/would refuse it, so nothing was sent/);
    expect(error.message).toMatch(/`stm32dfu sign /);
    const after = boardState(sim);
    expect(after.flash.equals(before.flash)).toBe(true);
    expect(after.otp).toBe(before.otp);
    // Sent into the bootloader to ask, then started again: the old application runs on.
    expect(result(ok(cli('info', '--sim', sim, '--json'))).mode).toBe('application');
  });

  it('a signature that does not check: refused here with the public key, else by the board', () => {
    keys();
    const sim = lockedSim();
    const image = signed(app('app.bin', 1), 1);
    const bytes = readFileSync(join(dir, image));
    bytes[TRAILER_AT + 100] = bytes[TRAILER_AT + 100]! ^ 0x01; // in the Ed25519 signature
    writeFileSync(join(dir, 'forged.bin'), bytes);

    // The public key in the project file: the host checks the signature and sends nothing.
    writeFileSync(join(dir, 'stm32dfu.json'), JSON.stringify({ publicKey: 'prod.pub' }));
    const before = boardState(sim);
    const here = cli('flash', 'forged.bin', '--sim', sim);
    expect(here.status).toBe(EXIT.IMAGE_REFUSED);
    expect(here.stderr).toMatch(
      /forged\.bin: Ed25519 signature: sim:board\.sim would refuse it, so nothing was sent: its signature does not check with key/,
    );
    expect(boardState(sim).flash.equals(before.flash)).toBe(true);

    // Without it only the board can tell: its refusal is reported with its verdict.
    rmSync(join(dir, 'stm32dfu.json'));
    const there = cli('flash', 'forged.bin', '--sim', sim);
    expect(there.status).toBe(EXIT.IMAGE_REFUSED);
    expect(there.stderr).toMatch(
      /The board refused the image: its signature does not check with key [0-9a-f]{8}.*verdict bad-signature/,
    );
    expect(security(sim)).toMatchObject({ counter: 0 });
  });

  it('read is refused on a board with upload lock-down, saying it is locked', () => {
    keys();
    const sim = lockedSim('--lock-upload');
    const run = cli('read', 'out.bin', '--sim', sim);
    expect(run.status).toBe(EXIT.REFUSED_BY_DEVICE);
    expect(run.stderr).toMatch(/the board is locked \(upload lock-down\).*no UPLOAD/);
    expect(run.stderr).toMatch(/stm32dfu verify/);
  });

  it('sim lock refuses a missing or non-Ed25519 public key', () => {
    const none = cli('sim', 'lock', '--sim', 'b.sim');
    expect(none.status).toBe(EXIT.USAGE);
    expect(none.stderr).toMatch(/needs 1 to 4 --public-key/);
    writeFileSync(join(dir, 'junk.pub'), 'not a key');
    const junk = cli('sim', 'lock', '--sim', 'b.sim', '--public-key', 'junk.pub');
    expect(junk.status).toBe(EXIT.USAGE);
    expect(junk.stderr).toMatch(/junk\.pub: not an Ed25519 public key/);
  });
});
