#!/usr/bin/env node
// stamp-app.mjs — the build's stamping step (contract 4): read the linked application ELF,
// stamp it with @stm32dfu/image-tools for the board's application region, write the
// stamped .bin and .hex that users flash, and print the stamp.
//
//   node scripts/stamp-app.mjs --board blackpill-f411 --version 1.2.3 \
//     --elf build/blackpill-f411/app/app.elf --bin app.bin --hex app.hex
//   (a custom board: --board-file my-board.json instead of --board)
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { FirmwareScriptError, loadTools, runScript } from './lib/image-tools.mjs';

runScript('stamp-app', async () => {
  const { values } = parseArgs({
    options: {
      board: { type: 'string' },
      'board-file': { type: 'string' },
      version: { type: 'string' },
      elf: { type: 'string' },
      bin: { type: 'string' },
      hex: { type: 'string' },
    },
  });
  if (values['board-file']) values.board ??= 'from --board-file';
  for (const required of ['board', 'version', 'elf']) {
    if (!values[required]) {
      throw new FirmwareScriptError(
        'USAGE',
        `--${required} is required (see the usage at the top of scripts/stamp-app.mjs).`,
      );
    }
  }
  const { imageTools, layout } = await loadTools();
  const boardFile = values['board-file'];
  const board = layout.getLayout(
    boardFile ? layout.parseBoardJson(await readFile(boardFile, 'utf8'), boardFile) : values.board,
  );
  const elf = imageTools.readElf(new Uint8Array(await readFile(values.elf)), { file: values.elf });
  const stamped = imageTools.stampImage(elf.image, board, { version: values.version });
  const check = imageTools.verifyStamp(stamped, board);
  if (check.verdict !== 'valid') {
    throw new FirmwareScriptError(
      'STAMP_NOT_VALID',
      `${values.elf}: the freshly stamped image does not verify: ${check.message}`,
    );
  }
  const { base, bytes } = imageTools.writeBinary(stamped);
  if (values.bin) await writeFile(values.bin, bytes);
  if (values.hex)
    await writeFile(values.hex, imageTools.writeIntelHex(stamped, { startLinear: elf.entry }));
  const s = check.stamp;
  const h = (n) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
  process.stdout.write(
    `stamped ${values.elf}: base ${h(base)} length ${s.length} crc ${h(s.crc)} version ${imageTools.formatVersion(s.version)}\n`,
  );
});
