/**
 * A rig's signing section: validated naming the field, its key files read relative to the
 * rig file; and the signed scenarios' guards: skipped with a reason on a rig without signing,
 * failing with what to do on a board that does not run the policy its config declares.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawPublicKey } from '@stm32dfu/image-tools/node';
import { createVirtualBoard } from '@stm32dfu/virtual-board/node';
import { describe, expect, it } from 'vitest';
import { loadRigConfig, parseRigConfig } from '../src/config.ts';
import { runScenarios } from '../src/runner.ts';
import { signedInstall, signedPowerCut, signedRefusals } from '../src/scenarios/signed.ts';
import { createVirtualRig, VIRTUAL_RIG_CONFIG, VirtualRig } from '../src/virtual-rig.ts';
import { benchLikeRig, HERE, TEST_KEY_HEX } from './bench-like.ts';

const KEYS = join(HERE, 'rigs/keys');

const rig = (signing: unknown) => ({
  name: 'bench-2',
  board: 'blackpill-f411',
  serial: 'E94A8C51792E6C7D49924707',
  relay: { driver: 'hid', channels: { boot0: 1, nrst: 2 } },
  signing,
});

function fieldOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as { field?: string }).field;
  }
  return undefined;
}

describe('rig config: signing', () => {
  it('the example rigs load; key files are read relative to the rig file', () => {
    const virtual = loadRigConfig(join(HERE, 'rigs/virtual-signed.yaml'));
    expect(virtual.signing).toMatchObject({ lockUpload: true, verifyAtBoot: false });
    expect(virtual.signing?.privateKeyFile).toBe(join(KEYS, 'hil-test.key'));
    expect(loadRigConfig(join(HERE, 'rigs/example-signed.yaml')).signing?.publicKeys).toEqual([
      TEST_KEY_HEX,
    ]);
  });

  it('names the field at fault, and says what to give', () => {
    const key = join(KEYS, 'hil-test.key');
    expect(() =>
      parseRigConfig(rig({ publicKeys: ['abc'], privateKeyFile: key }), 'b.yaml'),
    ).toThrow(/^b\.yaml: signing\.publicKeys\.0: expected a raw Ed25519 public key: 64 hex digits/);
    expect(fieldOf(() => parseRigConfig(rig({ publicKeys: [TEST_KEY_HEX] })))).toBe(
      'signing.privateKeyFile',
    );
    expect(() => parseRigConfig(rig({ privateKeyFile: key }), 'b.yaml')).toThrow(
      /signing\.publicKeys: give the board's 1 to 4 public keys/,
    );
    expect(
      fieldOf(() =>
        parseRigConfig(rig({ publicKeys: [TEST_KEY_HEX], privateKeyFile: key, lock: true })),
      ),
    ).toBe('signing');
    expect(() =>
      parseRigConfig(rig({ publicKeyFiles: ['nope.pub'], privateKeyFile: key }), 'b.yaml', KEYS),
    ).toThrow(/signing\.publicKeyFiles\.0: cannot read .*nope\.pub \(ENOENT\)/);
    expect(() =>
      parseRigConfig(
        rig({ publicKeyFiles: ['hil-test.key'], privateKeyFile: key }),
        'b.yaml',
        KEYS,
      ),
    ).toThrow(/signing\.publicKeyFiles\.0: .*holds a private key: give its public half/);
    expect(() =>
      parseRigConfig(
        rig({ publicKeys: [TEST_KEY_HEX], privateKeyFile: 'hil-test.pub' }),
        'b',
        KEYS,
      ),
    ).toThrow(/signing\.privateKeyFile: .*is not a private key/);
  });

  it('refuses a private key the board does not hold: every signed image would be refused', () => {
    const other = Buffer.from(rawPublicKey(generateKeyPairSync('ed25519').publicKey)).toString(
      'hex',
    );
    expect(() =>
      parseRigConfig(rig({ publicKeys: [other], privateKeyFile: 'hil-test.key' }), 'b.yaml', KEYS),
    ).toThrow(
      new RegExp(
        `signing\\.privateKeyFile: its public key ${TEST_KEY_HEX} is not one of the board's keys`,
      ),
    );
  });

  it('takes a public key file of 64 hex digits too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hil-keys-'));
    writeFileSync(join(dir, 'k.hex'), `${TEST_KEY_HEX}\n`);
    const config = parseRigConfig(
      rig({ publicKeyFiles: ['k.hex'], privateKeyFile: join(KEYS, 'hil-test.key') }),
      'b.yaml',
      dir,
    );
    expect(config.signing?.publicKeyFiles).toEqual([join(dir, 'k.hex')]);
  });
});

describe('signed scenarios: guards', () => {
  it('are skipped, with the reason in the report, on a rig that declares no signing', async () => {
    const rig = await createVirtualRig();
    try {
      const report = await runScenarios(rig, [signedInstall], { print: () => {} });
      expect(report.cases[0]).toMatchObject({ status: 'skipped' });
      expect(report.cases[0]?.message).toMatch(/rig virtual declares no signing/);
    } finally {
      await rig.close();
    }
  });

  it('fail, saying what to do, on a board built with other keys than its config declares', async () => {
    const config = loadRigConfig(join(HERE, 'rigs/virtual-signed.yaml'));
    const otherKey = rawPublicKey(generateKeyPairSync('ed25519').publicKey);
    const board = await createVirtualBoard({
      board: 'blackpill-f411',
      signing: { keys: [otherKey], lockUpload: true },
    });
    await board.clock.sleep(VIRTUAL_RIG_CONFIG.timings.settleMs);
    const rig = new VirtualRig(board, { ...config, serial: board.serialNumber });
    try {
      const report = await runScenarios(rig, [signedRefusals], { print: () => {} });
      expect(report.cases[0]).toMatchObject({ status: 'failed' });
      expect(report.cases[0]?.message).toMatch(
        /the board does not run the signing policy its config declares: it holds key ids \[[0-9a-f]{8}\], the config \[[0-9a-f]{8}\]\. Build and flash its bootloader/,
      );
    } finally {
      await rig.close();
    }
  });

  it('fail on a board that installs unsigned images although its config says it is locked', async () => {
    const config = loadRigConfig(join(HERE, 'rigs/virtual-signed.yaml'));
    const board = await createVirtualBoard({ board: 'blackpill-f411' });
    await board.clock.sleep(VIRTUAL_RIG_CONFIG.timings.settleMs);
    const rig = new VirtualRig(board, { ...config, serial: board.serialNumber });
    try {
      const report = await runScenarios(rig, [signedRefusals], { print: () => {} });
      expect(report.cases[0]?.message).toMatch(
        /its bootloader was built without the signature check|it does not require signatures/,
      );
    } finally {
      await rig.close();
    }
  });
});

describe('signed scenarios on a bench-like rig', () => {
  it('run with no probe and power cuts in ms, as on a bench (the path a real rig takes)', async () => {
    const { rig } = await benchLikeRig({ samples: 4 });
    try {
      const lines: string[] = [];
      const report = await runScenarios(rig, [signedInstall, signedRefusals, signedPowerCut], {
        print: (line) => lines.push(line),
      });
      if (process.env.HIL_DEBUG) console.log(lines.join('\n'));
      expect(report.cases.map((c) => [c.name, c.status, c.message])).toEqual([
        ['signed-install-boots', 'passed', undefined],
        ['signed-refusals', 'passed', undefined],
        ['signed-power-cut', 'passed', undefined],
      ]);
      // Without a probe nothing claims to have read the OTP or the flash.
      expect(lines.join('\n')).not.toMatch(/probe:|OTP unchanged/);
      // A bench spends its counter sparingly: install 1, power cut 1 per series.
      expect(lines.join('\n')).toMatch(/signed power-cut: 8\/8 recovered; counter 1 → 3/);
    } finally {
      await rig.close();
    }
  });
});
