/**
 * The browser side of a consumer: the same flash-and-read-back on a virtual board whose
 * WebAssembly core the bundler found through the package's `new URL(…, import.meta.url)`.
 */
import { createVirtualBoard } from '@stm32dfu/virtual-board';
import { applicationHex, BOARD, flashAndReadBack, type RoundTrip } from '../src/scenario.js';

export type PageResult =
  | { readonly ok: true; readonly roundTrip: RoundTrip; readonly nodeGlobals: string[] }
  | { readonly ok: false; readonly error: string };

declare global {
  interface Window {
    __consumerResult?: PageResult;
  }
}

async function run(): Promise<PageResult> {
  // A bundler shim for Node would define these; the packages' browser entries need none.
  const nodeGlobals = ['process', 'Buffer', 'global'].filter((name) => name in globalThis);
  const board = await createVirtualBoard({ board: BOARD });
  return { ok: true, roundTrip: await flashAndReadBack(board, applicationHex()), nodeGlobals };
}

run()
  .then(
    (result) => {
      window.__consumerResult = result;
    },
    (error: unknown) => {
      window.__consumerResult = {
        ok: false,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      };
    },
  )
  .finally(() => {
    const out = document.getElementById('result');
    if (out) out.textContent = JSON.stringify(window.__consumerResult);
  });
