#!/usr/bin/env node
// stm32dfu-layout: print a board's memory map, or generate the firmware's C header and
// linker fragments. The firmware build runs `codegen`; people run `map`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { boardIds, getLayout } from './boards.js';
import { generateFirmwareFiles } from './codegen.js';
import { LayoutError } from './errors.js';
import { formatMemoryMap } from './memory-map.js';

const USAGE = `Usage:
  stm32dfu-layout map [board]               print a board's memory map (default blackpill-f411)
  stm32dfu-layout boards                    list known boards
  stm32dfu-layout codegen --out <dir> [board...]
                                            write <dir>/<board>/{stm32dfu_layout.h,memory-*.ld,layout.cmake}`;

/** Write only when the content changed, so make/ninja do not rebuild for nothing. */
function writeIfChanged(path: string, content: string): boolean {
  try {
    if (readFileSync(path, 'utf8') === content) return false;
  } catch {
    // missing: write it
  }
  writeFileSync(path, content);
  return true;
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  switch (command) {
    case 'map': {
      console.log(formatMemoryMap(getLayout(rest[0])));
      return 0;
    }
    case 'boards': {
      for (const id of boardIds) console.log(`${id.padEnd(16)} ${getLayout(id).board.name}`);
      return 0;
    }
    case 'codegen': {
      const outIndex = rest.indexOf('--out');
      const out = outIndex >= 0 ? rest[outIndex + 1] : undefined;
      if (!out) {
        console.error(`codegen needs --out <dir>\n${USAGE}`);
        return 2;
      }
      const selected = rest.filter((_, i) => i !== outIndex && i !== outIndex + 1);
      for (const id of selected.length ? selected : boardIds) {
        const layout = getLayout(id);
        const dir = join(out, layout.board.id);
        mkdirSync(dir, { recursive: true });
        for (const file of generateFirmwareFiles(layout))
          writeIfChanged(join(dir, file.name), file.content);
      }
      return 0;
    }
    case undefined:
    case '-h':
    case '--help':
      console.log(USAGE);
      return command ? 0 : 2;
    default:
      console.error(`Unknown command "${command}".\n${USAGE}`);
      return 2;
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  if (error instanceof LayoutError) {
    console.error(`error [${error.code}]: ${error.message}`);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
