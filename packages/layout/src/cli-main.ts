// stm32dfu-layout: print a board's memory map, or generate the firmware's C header and
// linker fragments. The firmware build runs `codegen`; people run `map`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseBoardJson } from './board-file.js';
import { type BoardDefinition, boardIds, getLayout } from './boards.js';
import { generateFirmwareFiles } from './codegen.js';
import { LayoutError } from './errors.js';
import { formatMemoryMap } from './memory-map.js';

const USAGE = `Usage:
  stm32dfu-layout map [board]               print a board's memory map (default blackpill-f411)
  stm32dfu-layout map --board-file <path>   the same for a custom board described in JSON
  stm32dfu-layout boards                    list known boards
  stm32dfu-layout codegen --out <dir> [board...] [--board-file <path>...]
                                            write <dir>/<board>/{stm32dfu_layout.h,memory-*.ld,layout.cmake}
                                            (all built-in boards when none is named)

A board file is JSON; docs/layout.md describes its fields.`;

/** Read and check a custom board file; every failure is a LayoutError naming the path. */
function readBoardFile(path: string): BoardDefinition {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const errno = (cause as { code?: string }).code ?? 'unknown error';
    const advice =
      errno === 'ENOENT'
        ? 'no such file; check the path'
        : errno === 'EISDIR'
          ? 'it is a directory; give the JSON file inside it'
          : `the file system said ${errno}; check the file is readable`;
    throw new LayoutError('BOARD_FILE_UNREADABLE', `Cannot read board file ${path}: ${advice}.`, {
      source: path,
    });
  }
  return parseBoardJson(text, basename(path));
}

class UsageError extends Error {}

/** Split `--board-file <path>` (repeatable) and `--out <dir>` from positional arguments. */
function parseArgs(args: readonly string[]): {
  positional: string[];
  boardFiles: string[];
  out?: string;
} {
  const positional: string[] = [];
  const boardFiles: string[] = [];
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--board-file' || arg === '--out') {
      const value = args[++i];
      if (value === undefined || value.startsWith('--'))
        throw new UsageError(`${arg} needs a value`);
      if (arg === '--out') out = value;
      else boardFiles.push(value);
    } else if (arg.startsWith('--')) {
      throw new UsageError(`Unknown option "${arg}"`);
    } else {
      positional.push(arg);
    }
  }
  return { positional, boardFiles, ...(out !== undefined && { out }) };
}

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

/** Where the CLI prints: stdout and stderr, replaceable in tests. */
export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

const CONSOLE: CliOutput = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

function main(argv: readonly string[], io: CliOutput): number {
  const [command, ...rest] = argv;
  switch (command) {
    case 'map': {
      const { positional, boardFiles } = parseArgs(rest);
      if (positional.length + boardFiles.length > 1)
        throw new UsageError('map takes one board or one --board-file');
      const board = boardFiles[0] ? readBoardFile(boardFiles[0]) : positional[0];
      io.out(formatMemoryMap(getLayout(board)));
      return 0;
    }
    case 'boards': {
      for (const id of boardIds) io.out(`${id.padEnd(16)} ${getLayout(id).board.name}`);
      return 0;
    }
    case 'codegen': {
      const { positional, boardFiles, out } = parseArgs(rest);
      if (!out) throw new UsageError('codegen needs --out <dir>');
      // Read every board first, so a bad file writes nothing.
      const selected: (string | BoardDefinition)[] = [
        ...(positional.length || boardFiles.length ? positional : boardIds),
        ...boardFiles.map(readBoardFile),
      ];
      const firstFile = selected.length - boardFiles.length;
      // Generate everything before writing, for the same reason; a board file's clock tree
      // that cannot be planned is reported against the file.
      const outputs = selected.map((board, i) => {
        const layout = getLayout(board);
        try {
          return { id: layout.board.id, files: generateFirmwareFiles(layout) };
        } catch (error) {
          const path = boardFiles[i - firstFile];
          if (!(error instanceof LayoutError) || path === undefined) throw error;
          throw new LayoutError(error.code, `${path}: ${error.message}`, {
            ...error.details,
            source: path,
          });
        }
      });
      for (const { id, files } of outputs) {
        const dir = join(out, id);
        mkdirSync(dir, { recursive: true });
        for (const file of files) writeIfChanged(join(dir, file.name), file.content);
      }
      return 0;
    }
    case undefined:
    case '-h':
    case '--help':
      io.out(USAGE);
      return command ? 0 : 2;
    default:
      io.err(`Unknown command "${command}".\n${USAGE}`);
      return 2;
  }
}

/**
 * Run the CLI; returns the exit status: 0 done, 1 a refused board or layout (printed with its
 * code), 2 a usage mistake.
 */
export function runCli(argv: readonly string[], io: CliOutput = CONSOLE): number {
  try {
    return main(argv, io);
  } catch (error) {
    if (error instanceof LayoutError) {
      io.err(`error [${error.code}]: ${error.message}`);
      return 1;
    }
    if (error instanceof UsageError) {
      io.err(`${error.message}.\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}
