/**
 * The Node side of a consumer: the image read from a file with image-tools' Node helpers,
 * a virtual board whose core is read from the installed package, node-usb loaded through
 * transport-node, and the udev rules file it ships. Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImageFile } from '@stm32dfu/image-tools/node';
import { loadNodeUsb, UDEV_RULES_FILE, udevRules } from '@stm32dfu/transport-node';
import { createVirtualBoard } from '@stm32dfu/virtual-board/node';
import { applicationHex, BOARD, flashAndReadBack } from './scenario.js';

const dir = await mkdtemp(join(tmpdir(), 'stm32dfu-consumer-'));
try {
  const hex = applicationHex();
  const path = join(dir, 'app.hex');
  await writeFile(path, hex);
  const file = await readImageFile(path);
  const board = await createVirtualBoard({ board: BOARD });
  const roundTrip = await flashAndReadBack(board, hex);
  const usb = await loadNodeUsb();
  console.log(
    JSON.stringify({
      fileFormat: file.format,
      fileSize: file.fileSize,
      roundTrip,
      nodeUsb: typeof usb.getDeviceList,
      shippedUdevRulesMatch: readFileSync(UDEV_RULES_FILE, 'utf8') === udevRules(),
    }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
