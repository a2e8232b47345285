/**
 * What the page in page/ does and reports back, shared by the page (bundled by Vite for
 * Chromium) and the test that reads its result in Node.
 */
import type { BoardEvent } from '../src/index.ts';

/**
 * The sector the page erases and writes: the Black Pill's second application sector (16 kB,
 * sector 3). The first 2 kB of the first one are held back by the bootloader until
 * manifestation, so that a half-downloaded application never boots.
 */
export const APP_SECTOR = 0x0800c000;
/** One DfuSe block, the bootloader's wTransferSize. */
export const BLOCK_SIZE = 2048;

/** Where the test serves a copy of the core next to the page, for `options.wasm` as a relative URL. */
export const RELATIVE_WASM = 'cores/blackpill-f411.wasm';
/** A relative URL the server does not have. */
export const MISSING_WASM = 'cores/missing.wasm';

/** The bytes the page writes and reads back: distinct from erased flash (0xFF) at every offset. */
export function blockPattern(length = BLOCK_SIZE): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0x7f;
  return bytes;
}

export interface DfuStatusReport {
  readonly status: number;
  readonly pollTimeout: number;
  readonly state: number;
}

/** Set on `window.__virtualBoardResult` when the page is done, whether it failed or not. */
export type BrowserRunResult =
  | {
      readonly ok: true;
      /** `typeof process`, `typeof Buffer`, `'process' in globalThis`: no Node shim may leak. */
      readonly nodeGlobals: {
        readonly process: string;
        readonly buffer: string;
        readonly processOnGlobal: boolean;
      };
      readonly enumeratedAtMs: number;
      readonly mode: string;
      readonly device: {
        readonly vendorId: number;
        readonly productId: number;
        readonly serialNumber: string | undefined;
        readonly productName: string | undefined;
        readonly opened: boolean;
      };
      readonly interfaceName: string | undefined;
      readonly statusAfterOpen: DfuStatusReport;
      readonly statusAfterEraseCommand: DfuStatusReport;
      readonly statusAfterErase: DfuStatusReport;
      readonly statusAfterSetAddress: DfuStatusReport;
      readonly download: { readonly status: string; readonly bytesWritten: number };
      readonly statusAfterDownload: DfuStatusReport;
      readonly statusAfterAbort: DfuStatusReport;
      readonly upload: { readonly status: string; readonly bytes: number[] };
      readonly events: BoardEvent[];
      /** A second board whose core came from RELATIVE_WASM. */
      readonly relativeWasmBoard: {
        readonly mode: string;
        readonly vendorId?: number;
        readonly error?: {
          readonly name: string;
          readonly code?: string;
          readonly message: string;
        };
      };
      /** What createVirtualBoard rejected with for MISSING_WASM. */
      readonly missingWasmError: {
        readonly name: string;
        readonly code?: string;
        readonly message: string;
      };
      readonly elapsedMs: number;
    }
  | {
      readonly ok: false;
      readonly error: { readonly name: string; readonly code?: string; readonly message: string };
    };
