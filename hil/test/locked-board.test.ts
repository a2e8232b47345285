/**
 * The general scenarios on a locked board: the virtual rig hands a locked board to the CLI
 * and to dfu-util locked, its OTP (the anti-rollback counter) there and back; and on a
 * bench-like locked rig (no probe, power cuts in ms) the power cut passes without raising the
 * counter (the other general scenarios take the same path on a bench as on the virtual rig).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRigConfig } from '../src/config.ts';
import { firmwareFiles, readFirmware, signed, stamped } from '../src/images.ts';
import { runScenarios } from '../src/runner.ts';
import { powerCut } from '../src/scenarios/power-cut.ts';
import { otpCounter } from '../src/security.ts';
import { createVirtualRigFrom } from '../src/virtual-rig.ts';
import { benchLikeRig, HERE } from './bench-like.ts';

describe('the virtual rig hands a locked board over locked', () => {
  it('to the CLI and dfu-util with its keys, lock and OTP, and takes the OTP back', async () => {
    const rig = await createVirtualRigFrom(loadRigConfig(join(HERE, 'rigs/virtual-signed.yaml')));
    const dir = mkdtempSync(join(tmpdir(), 'hil-locked-'));
    const app = stamped(readFirmware(firmwareFiles(rig.layout.board.id).app), rig.layout, '1.0.0');
    const at = (counter: number) => {
      const path = join(dir, `app-${counter}.bin`);
      writeFileSync(path, signed(app, rig.layout, rig.signing!.privateKey, counter));
      return path;
    };
    try {
      // The CLI's board raises the counter; the OTP comes back here.
      expect((await rig.cli(['flash', at(2)])).status).toBe(0);
      expect(otpCounter(rig.probe.readOtp())).toBe(2);
      // It goes there again: an image below it is refused before sending (rolled back).
      const refused = await rig.cli(['flash', at(1)]);
      expect([
        refused.status,
        (refused.result?.error as { code?: string } | undefined)?.code,
      ]).toEqual([10, 'IMAGE_REFUSED']);
      // The lock goes too: no UPLOAD through the CLI, nor through dfu-util.
      expect(
        (await rig.cli(['read', join(dir, 'x.bin'), '--range', '0x08008000:256'])).status,
      ).toBe(9);
      const dfuUtil = await rig.dfuUtil([
        '-a',
        '0',
        '-s',
        '0x08008000:256',
        '-U',
        join(dir, 'up.bin'),
      ]);
      if (dfuUtil) expect(dfuUtil.status, dfuUtil.output).not.toBe(0);
      expect(otpCounter(rig.probe.readOtp())).toBe(2);
    } finally {
      await rig.close();
    }
  });
});

describe('a general scenario on a bench-like locked rig', () => {
  it('power-cut: cuts in ms, no probe: recovers, and leaves the counter where it was', async () => {
    // A bench that has installed a few releases: counter 3.
    const otp = new Uint8Array(512).fill(0xff);
    otp[512 - 64] = 0xf8;
    const { rig, board } = await benchLikeRig({ samples: 2, otp });
    try {
      const lines: string[] = [];
      const report = await runScenarios(rig, [powerCut], { print: (line) => lines.push(line) });
      if (process.env.HIL_DEBUG) console.log(lines.join('\n'));
      expect(report.cases.map((c) => [c.name, c.status, c.message])).toEqual([
        ['power-cut', 'passed', undefined],
      ]);
      expect(lines.join('\n')).toMatch(/signed with the rig's test key at counter 3/);
      expect(otpCounter(board.otpImage())).toBe(3);
    } finally {
      await rig.close();
    }
  });
});
