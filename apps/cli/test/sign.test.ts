/**
 * Signing firmware from the command line (docs/signed-firmware.md): stm32dfu keygen writes a
 * key pair a user can keep, stm32dfu sign writes an image whose signature checks with that
 * key and no other, for that board, with the counter given.
 */
import { spawnSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBinary } from '@stm32dfu/image-tools';
import { checkSignature, rawPublicKey } from '@stm32dfu/image-tools/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/errors.ts';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const REGION = { start: 0x08008000, size: 480 * 1024 };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stm32dfu-sign-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: readonly string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function app(): string {
  const bytes = new Uint8Array(4096).fill(0x33);
  new DataView(bytes.buffer).setUint32(0, 0x20020000, true);
  new DataView(bytes.buffer).setUint32(4, 0x08008101, true);
  bytes.fill(0, 0x1c, 0x2c);
  writeFileSync(join(dir, 'app.bin'), bytes);
  return 'app.bin';
}

const publicKeyOf = (file: string) => rawPublicKey(createPublicKey(readFileSync(join(dir, file))));

describe('stm32dfu keygen and sign', () => {
  it('keygen writes a private key only its owner can read and a public key; refuses to overwrite', () => {
    const r = cli(['keygen', 'release', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim()) as {
      keyId: string;
      publicKey: string;
      privateKey?: string;
    };
    expect(result.privateKey).toBeUndefined();
    expect(statSync(join(dir, 'release.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'release.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(Buffer.from(publicKeyOf('release.pub')).toString('hex')).toBe(result.publicKey);
    expect(result.keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(cli(['keygen', 'release']).status).toBe(EXIT.USAGE);
  });

  it('sign stamps and signs; the signature checks with that key, for that board, with that counter', () => {
    expect(cli(['keygen', 'release']).status).toBe(0);
    expect(cli(['keygen', 'other']).status).toBe(0);
    const r = cli([
      'sign',
      app(),
      'signed.bin',
      '--key',
      'release.key',
      '--counter',
      '7',
      '--app-version',
      '1.4.0',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const image = readBinary(readFileSync(join(dir, 'signed.bin')), { base: REGION.start });
    const mine = publicKeyOf('release.pub');
    const check = checkSignature(image, REGION, { publicKeys: [mine], boardId: 'blackpill-f411' });
    expect(check.verdict, check.message).toBe('valid');
    expect(check.trailer).toMatchObject({
      securityCounter: 7,
      version: 0x01040000,
      imageLength: 4096,
    });
    expect(
      checkSignature(image, REGION, {
        publicKeys: [publicKeyOf('other.pub')],
        boardId: 'blackpill-f411',
      }).verdict,
    ).toBe('unknown-key');
    expect(
      checkSignature(image, REGION, { publicKeys: [mine], boardId: 'netduinoplus2' }).verdict,
    ).toBe('wrong-board');
  });

  it('refuses a missing key, a key that is not Ed25519 and a missing counter', () => {
    app();
    expect(cli(['sign', 'app.bin', 'o.bin', '--counter', '1']).stderr).toMatch(/--key/);
    expect(cli(['sign', 'app.bin', 'o.bin', '--key', 'nope.key', '--counter', '1']).status).toBe(
      EXIT.USAGE,
    );
    writeFileSync(
      join(dir, 'rsa.key'),
      spawnSync('openssl', ['genrsa', '2048'], { encoding: 'utf8' }).stdout,
    );
    const rsa = cli(['sign', 'app.bin', 'o.bin', '--key', 'rsa.key', '--counter', '1']);
    expect(rsa.status).toBe(EXIT.USAGE);
    expect(rsa.stderr).toMatch(/rsa key; firmware is signed with Ed25519/);
    expect(cli(['keygen', 'k']).status).toBe(0);
    expect(cli(['sign', 'app.bin', 'o.bin', '--key', 'k.key']).stderr).toMatch(/--counter/);
  });
});
