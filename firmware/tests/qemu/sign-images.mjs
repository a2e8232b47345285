#!/usr/bin/env node
// sign-images.mjs — the signed application images the QEMU boot tests of a verify-at-boot
// board load, made from its built, stamped app.bin with @stm32dfu/image-tools' signImage and
// the fixed TEST key of packages/image-tools/fixtures/signature-vectors.txt (seed bytes
// 1..32, as scripts/make-signature-vectors.ts has it): never a product's key.
//
//   node tests/qemu/sign-images.mjs --header build/generated/<board>/stm32dfu_layout.h \
//        --app build/<board>/app/app.bin --out <dir>
//
// Writes: app-signed.bin (valid trailer), app-unsigned.bin (the stamped app alone),
// app-signature-flipped.bin (one bit of the Ed25519 signature changed; the stamp, which does
// not cover the trailer, still checks). Each is checked with checkSignature before a test
// runs, so a test cannot pass for the wrong reason.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FirmwareScriptError, runScript } from '../../scripts/lib/image-tools.mjs';

const TRAILER_SIGNATURE_OFFSET = 64; // docs/signed-firmware.md, "The trailer"

runScript('sign-images', async () => {
  const { values } = parseArgs({
    options: { header: { type: 'string' }, app: { type: 'string' }, out: { type: 'string' } },
  });
  if (!values.header || !values.app || !values.out) {
    throw new FirmwareScriptError(
      'USAGE',
      '--header, --app and --out are required (see the top of this file).',
    );
  }
  const header = await readFile(values.header, 'utf8');
  const define = (name) => {
    const m = new RegExp(`^#define STM32DFU_${name} +(\\S+)`, 'm').exec(header);
    if (!m)
      throw new FirmwareScriptError('BAD_HEADER', `${values.header} has no STM32DFU_${name}.`);
    return m[1];
  };
  const boardId = JSON.parse(define('BOARD_ID'));
  const region = {
    start: Number.parseInt(define('APP_BASE'), 16),
    size: Number.parseInt(define('APP_SIZE'), 16),
  };
  const tools = await import('@stm32dfu/image-tools');
  const node = await import('@stm32dfu/image-tools/node');
  const testKey = node.privateKeyFromSeed(new Uint8Array(32).map((_, i) => i + 1));
  const publicKey = node.rawPublicKey(testKey);

  const stamped = tools.SparseImage.fromBytes(
    region.start,
    new Uint8Array(await readFile(values.app)),
  );
  const signed = node.signImage(stamped, region, {
    privateKey: testKey,
    securityCounter: 1,
    boardId,
  });
  const flat = (image) => image.read(region.start, image.end - region.start, 0xff);
  const signedBytes = flat(signed);
  const flipped = signedBytes.slice();
  const trailerAt = stamped.end - region.start;
  flipped[trailerAt + TRAILER_SIGNATURE_OFFSET] ^= 0x01;

  const images = [
    ['app-signed.bin', signedBytes, 'valid'],
    ['app-unsigned.bin', flat(stamped), 'missing'],
    ['app-signature-flipped.bin', flipped, 'bad-signature'],
  ];
  for (const [name, bytes, verdict] of images) {
    const check = node.checkSignature(tools.SparseImage.fromBytes(region.start, bytes), region, {
      publicKeys: [publicKey],
      boardId,
    });
    if (check.verdict !== verdict) {
      throw new FirmwareScriptError(
        'BAD_TEST_IMAGE',
        `${name}: checkSignature says ${check.verdict}, the test needs ${verdict}.`,
      );
    }
    await writeFile(join(values.out, name), bytes);
    console.log(`${name}: ${bytes.length} bytes, ${verdict}`);
  }
});
