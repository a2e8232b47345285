/**
 * The unmodified dfu-util against a board that requires signed firmware (docs/signed-
 * firmware.md): the command lines a product team's factory or field script would run. dfu-util
 * knows nothing of signatures; the bootloader decides at manifestation, and what the user sees
 * is dfu-util's exit status and output, and a board that does or does not run the image.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { SparseImage } from '@stm32dfu/image-tools';
import { rawPublicKey, signImage } from '@stm32dfu/image-tools/node';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  APP_ADDRESS,
  APP_BASE,
  appImage,
  dfuUtilSuite,
  inBootloader,
  LAYOUT,
  runsApplication,
  Workspace,
} from './harness.ts';

const suite = dfuUtilSuite();

const REGION = LAYOUT.partitions.application;

function keyPair(): { privateKey: KeyObject; hex: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, hex: Buffer.from(rawPublicKey(publicKey)).toString('hex') };
}
const product = keyPair();
const stranger = keyPair();

/** The example application signed as `stm32dfu sign` would, written to a file in the workspace. */
function signedApp(ws: Workspace, name: string, counter: number, key = product.privateKey): string {
  const signed = signImage(SparseImage.fromBytes(APP_BASE, appImage()), REGION, {
    privateKey: key,
    securityCounter: counter,
    boardId: 'blackpill-f411',
  });
  const file = ws.path(name);
  writeFileSync(file, signed.read(APP_BASE, signed.end - APP_BASE, 0xff));
  return file;
}

let ws: Workspace;
beforeEach(() => {
  ws = new Workspace();
});
afterEach(() => ws.dispose());

/** dfu-util against the board locked with the product's key. */
const locked = (args: string[], extra: Record<string, string> = {}) =>
  ws.dfuUtil(args, { STM32DFU_VUSB_SIGNING_KEYS: product.hex, ...extra });

const counterOf = (r: { report: unknown }) =>
  (r.report as { securityCounter?: number }).securityCounter;

suite('dfu-util and a board that requires signed firmware', () => {
  it(`-a 0 -s ${APP_ADDRESS}:leave -D signed.bin installs it, boots it and raises the counter`, () => {
    const r = locked(['-a', '0', '-s', `${APP_ADDRESS}:leave`, '-D', signedApp(ws, 's.bin', 4)]);
    expect(r.status).toBe(0);
    expect(runsApplication(r.report)).toBe(true);
    expect(counterOf(r)).toBe(4);
    expect(readFileSync(`${ws.flash}.otp`).at(-64)).toBe(0xf0);
  });

  it.each([
    ['an unsigned image', (w: Workspace) => w.path('app.bin')],
    [
      'an image signed with another key',
      (w: Workspace) => signedApp(w, 'x.bin', 4, stranger.privateKey),
    ],
  ])('%s is refused: the board stays in the bootloader', (_what, file) => {
    writeFileSync(ws.path('app.bin'), appImage());
    const r = locked(['-a', '0', '-s', `${APP_ADDRESS}:leave`, '-D', file(ws)]);
    // dfu-util 0.11 stops polling once the device says dfuMANIFEST and does not read the
    // outcome of its leave request, so it exits 0 although the board answers the next
    // GETSTATUS with dfuERROR / errFIRMWARE. What the user can check is where the board is:
    // still in DFU mode (docs/signed-firmware.md, "With dfu-util").
    expect(r.status).toBe(0);
    expect(r.output).toContain('Transitioning to dfuMANIFEST state');
    expect(inBootloader(r.report)).toBe(true);
    expect(counterOf(r)).toBe(0);
    // And at the next power-on: nothing bootable was left.
    expect(inBootloader(locked(['-l']).report)).toBe(true);
  });

  it('a rolled-back image is refused and the counter stays where it was', () => {
    const newer = locked([
      '-a',
      '0',
      '-s',
      `${APP_ADDRESS}:leave`,
      '-D',
      signedApp(ws, 'n.bin', 7),
    ]);
    expect(runsApplication(newer.report)).toBe(true);
    const r = locked(['-a', '0', '-s', `${APP_ADDRESS}:leave`, '-D', signedApp(ws, 'o.bin', 6)]);
    expect(inBootloader(r.report)).toBe(true);
    expect(counterOf(r)).toBe(7);
  });

  it('-U on a board locked against reading fails and writes no firmware to the file', () => {
    locked(['-a', '0', '-s', `${APP_ADDRESS}:leave`, '-D', signedApp(ws, 's.bin', 1)]);
    const out = ws.path('read.bin');
    const r = locked(['-a', '0', '-s', `${APP_ADDRESS}:4096`, '-U', out], {
      STM32DFU_VUSB_LOCK_UPLOAD: '1',
      STM32DFU_VUSB_BUTTON: '1',
    });
    expect(r.status).not.toBe(0);
    // bitCanUpload is clear, but dfu-util 0.11 asks anyway; the board stalls the UPLOAD.
    expect(r.output).toContain(
      'dfuse_upload: libusb_control_transfer returned -9 (LIBUSB_ERROR_PIPE)',
    );
    const got = existsSync(out) ? readFileSync(out) : Buffer.alloc(0);
    expect(got.length).toBe(0);
  });
});
