/**
 * Node helpers: the board with flash files and the core read from disk. The main entry
 * stays free of Node built-ins so the web app can bundle it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BoardLayout } from '@stm32dfu/layout';
import { buildBoard, resolveLayout, VirtualBoard, type VirtualBoardOptions } from './board.js';
import { VirtualBoardError } from './errors.js';
import { defaultWasmUrl } from './wasm-loader.js';

/**
 * Options of the Node board: those of `VirtualBoardOptions`, with the initial flash also given as a
 * file path.
 */
export interface NodeVirtualBoardOptions extends Omit<VirtualBoardOptions, 'flash'> {
  /** Initial flash: bytes, or the path of a saved flash image. */
  readonly flash?: Uint8Array | string;
}

/** A board whose flash can be saved to and loaded from files. */
export class NodeVirtualBoard extends VirtualBoard {
  /** Write the whole flash to `path` (a raw image of exactly the flash size). */
  saveFlash(path: string): void {
    try {
      writeFileSync(path, this.flashImage());
    } catch (cause) {
      throw new VirtualBoardError(
        'FLASH_FILE',
        `Cannot write flash image ${path} (${errnoOf(cause)}): check the directory exists and is writable.`,
        { path },
        { cause },
      );
    }
  }

  /** Replace the whole flash with a saved image: a path, or bytes. */
  override loadFlash(image: Uint8Array | string, source?: string): void {
    if (typeof image === 'string') super.loadFlash(readFlashFile(image), image);
    else super.loadFlash(image, source);
  }
}

/**
 * A board whose flash can be loaded from and saved to files, with the core read from the package's
 * `dist/wasm`; resolves once it is powered (unless `powered: false`).
 */
export async function createVirtualBoard(
  options: NodeVirtualBoardOptions = {},
): Promise<NodeVirtualBoard> {
  const boardId = resolveLayout(options.board).board.id;
  const flash = typeof options.flash === 'string' ? readFlashFile(options.flash) : options.flash;
  const wasm = options.wasm ?? (await readWasm(boardId));
  return buildBoard(
    NodeVirtualBoard as new (
      layout: BoardLayout,
      o: VirtualBoardOptions,
    ) => NodeVirtualBoard,
    { ...options, flash, wasm } as VirtualBoardOptions,
  );
}

/** The compiled core for a board, from dist/wasm/<board>.wasm. */
export async function readWasm(boardId: string): Promise<Uint8Array> {
  const path = fileURLToPath(defaultWasmUrl(boardId.toLowerCase()));
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new VirtualBoardError(
      'WASM_LOAD_FAILED',
      `Cannot read the bootloader core ${path} (${errnoOf(cause)}): ` +
        'build it with `pnpm --filter @stm32dfu/virtual-board build` (needs clang-14 and lld-14).',
      { path },
      { cause },
    );
  }
}

function readFlashFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (cause) {
    throw new VirtualBoardError(
      'FLASH_FILE',
      `Cannot read flash image ${path} (${errnoOf(cause)}): give the path of a file saved with board.saveFlash().`,
      { path },
      { cause },
    );
  }
}

function errnoOf(cause: unknown): string {
  return (cause as NodeJS.ErrnoException).code ?? String(cause);
}

export { VirtualBoard };
