import { VirtualBoardError } from './errors.js';

declare global {
  /**
   * The one WebAssembly type in this package's declarations. A Node project without the DOM
   * lib (and @types/node before 22) has no `WebAssembly` namespace; this lets its compiler
   * read the declarations. It merges with lib.dom's own `Module` where that is present.
   */
  namespace WebAssembly {
    interface Module {}
  }
}

/** Where the compiled core comes from: bytes, a compiled module, or a URL to fetch. */
export type WasmSource = WebAssembly.Module | Uint8Array | ArrayBuffer | URL | string;

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/**
 * One literal URL per board whose core the build compiles (scripts/build-wasm.mjs). The
 * file sits in dist/wasm/; this module in src/ or dist/, so `../dist/wasm/` reaches it from
 * both. Bundlers such as Vite see each literal `new URL(..., import.meta.url)` and ship the
 * file; a template URL would become a table keyed by the normalised path (`./wasm/…` from
 * dist/) that the unnormalised lookup misses.
 */
const BUILT_CORES: Readonly<Record<string, () => URL>> = {
  'blackpill-f411': () => new URL('../dist/wasm/blackpill-f411.wasm', import.meta.url),
  netduinoplus2: () => new URL('../dist/wasm/netduinoplus2.wasm', import.meta.url),
};

/**
 * The URL of a board's module as the build lays it out (dist/wasm/<board>.wasm). In a
 * bundle, only the boards above are shipped; give any other core as `options.wasm`.
 */
export function defaultWasmUrl(boardId: string): URL {
  const here = import.meta.url;
  return BUILT_CORES[boardId]?.() ?? new URL(`../dist/wasm/${boardId}.wasm`, here);
}

/**
 * What a relative `options.wasm` URL is relative to: in a page (or worker) the document, as
 * for fetch(); a bundle's chunk URL would be an arbitrary place. Elsewhere, this module.
 */
function relativeUrlBase(): string {
  if (typeof document !== 'undefined' && document.baseURI) return document.baseURI;
  if (typeof location !== 'undefined' && location.href) return location.href;
  return import.meta.url;
}

/** Compile (once per URL) the core for a board. */
export function compileWasm(
  source: WasmSource | undefined,
  boardId: string,
): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    const bytes = source instanceof Uint8Array ? source.slice() : new Uint8Array(source.slice(0));
    return WebAssembly.compile(bytes).catch((cause: unknown) => {
      throw new VirtualBoardError(
        'WASM_LOAD_FAILED',
        `The bytes given as options.wasm are not a WebAssembly module (${String(cause)}): pass dist/wasm/${boardId}.wasm.`,
        { value: boardId },
        { cause },
      );
    });
  }
  let url: URL;
  try {
    url =
      source === undefined ? defaultWasmUrl(boardId) : new URL(String(source), relativeUrlBase());
  } catch (cause) {
    return Promise.reject(
      new VirtualBoardError(
        'WASM_LOAD_FAILED',
        `options.wasm ${JSON.stringify(String(source))} is not a URL: pass a URL, the module's bytes or a WebAssembly.Module.`,
        { value: String(source) },
        { cause },
      ),
    );
  }
  const key = url.href;
  let module = compiled.get(key);
  if (!module) {
    module = fetchAndCompile(url, boardId);
    compiled.set(key, module);
    module.catch(() => compiled.delete(key));
  }
  return module;
}

async function fetchAndCompile(url: URL, boardId: string): Promise<WebAssembly.Module> {
  if (url.protocol === 'file:') {
    throw new VirtualBoardError(
      'WASM_LOAD_FAILED',
      `Cannot fetch ${url.href}: in Node, import createVirtualBoard from '@stm32dfu/virtual-board/node' ` +
        '(it reads the module from disk) or pass the bytes as options.wasm.',
      { path: url.href },
    );
  }
  let response: Response;
  try {
    response = await fetch(url);
  } catch (cause) {
    throw new VirtualBoardError(
      'WASM_LOAD_FAILED',
      `Fetching the bootloader core ${url.href} failed (${String(cause)}): check the URL is served.`,
      { path: url.href },
      { cause },
    );
  }
  if (!response.ok) {
    throw new VirtualBoardError(
      'WASM_LOAD_FAILED',
      `Fetching the bootloader core ${url.href} answered HTTP ${response.status}: build it with ` +
        `\`pnpm --filter @stm32dfu/virtual-board build\` and serve dist/wasm/${boardId}.wasm.`,
      { path: url.href },
    );
  }
  try {
    return await WebAssembly.compile(await response.arrayBuffer());
  } catch (cause) {
    throw new VirtualBoardError(
      'WASM_LOAD_FAILED',
      `${url.href} is not a WebAssembly module (${String(cause)}).`,
      { path: url.href },
      { cause },
    );
  }
}
