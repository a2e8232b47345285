#!/usr/bin/env node
// make-images.mjs — the application images the QEMU boot tests load, made from the built,
// stamped app.bin with @stm32dfu/image-tools. Each one is checked to be what its test
// needs before the test runs, so a test cannot pass for the wrong reason.
//
//   node tests/qemu/make-images.mjs --board netduinoplus2 --app build/netduinoplus2/app/app.bin --out <dir>
//
// Writes: erased.bin (the first application sector as erased flash), app-bad-crc.bin
// (one byte changed after stamping), app-bad-vectors.bin (reset handler in the bootloader,
// stamped again so only the vectors are wrong).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FirmwareScriptError, loadTools, runScript } from '../../scripts/lib/image-tools.mjs';

const h = (n) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

function setU32(bytes, at, value) {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(at, value >>> 0, true);
}

runScript('make-images', async () => {
  const { values } = parseArgs({
    options: { board: { type: 'string' }, app: { type: 'string' }, out: { type: 'string' } },
  });
  if (!values.board || !values.app || !values.out) {
    throw new FirmwareScriptError(
      'USAGE',
      '--board, --app and --out are required (see the top of tests/qemu/make-images.mjs).',
    );
  }
  const { imageTools, layout } = await loadTools();
  const board = layout.getLayout(values.board);
  const app = board.partitions.application;
  const bootloader = board.partitions.bootloader;
  const stampedBytes = new Uint8Array(await readFile(values.app));
  const stamped = imageTools.readBinary(stampedBytes, { base: app.start });
  const expect = (image, verdict, what) => {
    const check = imageTools.verifyStamp(image, board);
    if (check.verdict !== verdict) {
      throw new FirmwareScriptError(
        'IMAGE_NOT_AS_NEEDED',
        `${what}: stamp check says ${check.verdict}, the test needs ${verdict} (${check.message})`,
      );
    }
    return check;
  };
  const valid = expect(stamped, 'valid', values.app);

  // Erased flash reads 0xFF; QEMU's unloaded flash reads 0x00, which is not what a chip shows.
  const firstSector = layout.sectorAt(board, app.start);
  await writeFile(join(values.out, 'erased.bin'), new Uint8Array(firstSector.size).fill(0xff));

  // One byte of code changed after stamping: the CRC no longer matches.
  const badCrc = stampedBytes.slice();
  const victim = valid.stamp.length - 4;
  badCrc[victim] ^= 0x01;
  expect(
    imageTools.readBinary(badCrc, { base: app.start }),
    'bad-crc',
    `app-bad-crc.bin (byte ${h(app.start + victim)})`,
  );
  await writeFile(join(values.out, 'app-bad-crc.bin'), badCrc);

  // Reset handler pointing into the bootloader (Thumb bit set), then stamped again.
  const badVectors = stampedBytes.slice();
  setU32(badVectors, 4, (bootloader.start + 0x101) | 1);
  const restamped = imageTools.stampImage(
    imageTools.readBinary(badVectors, { base: app.start }),
    board,
    {
      version: valid.stamp.version,
    },
  );
  expect(restamped, 'valid', 'app-bad-vectors.bin');
  await writeFile(join(values.out, 'app-bad-vectors.bin'), imageTools.writeBinary(restamped).bytes);

  process.stdout.write(
    `test images in ${values.out}: erased.bin, app-bad-crc.bin, app-bad-vectors.bin\n`,
  );
});
