import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { compileWasm, defaultWasmUrl } from '../src/index.ts';

describe('compileWasm with options.wasm as a URL', () => {
  test('a string that is not a URL is a WASM_LOAD_FAILED naming it, not a TypeError', async () => {
    await expect(
      compileWasm('http://[not-a-host/core.wasm', 'blackpill-f411'),
    ).rejects.toMatchObject({
      name: 'VirtualBoardError',
      code: 'WASM_LOAD_FAILED',
      message: expect.stringContaining('"http://[not-a-host/core.wasm" is not a URL'),
    });
  });

  test('in Node a relative URL resolves against the module (file:) and says to use the /node entry', async () => {
    await expect(compileWasm('cores/blackpill-f411.wasm', 'blackpill-f411')).rejects.toMatchObject({
      code: 'WASM_LOAD_FAILED',
      message: expect.stringContaining("'@stm32dfu/virtual-board/node'"),
    });
  });
});

describe('defaultWasmUrl', () => {
  const built = readdirSync(new URL('../dist/wasm/', import.meta.url))
    .filter((f) => f.endsWith('.wasm'))
    .map((f) => f.slice(0, -'.wasm'.length));
  const source = readFileSync(new URL('../src/wasm-loader.ts', import.meta.url), 'utf8');

  test('the build compiled a core for the boards', () => {
    expect(built).toContain('blackpill-f411');
  });

  test.each(built)('names the core of %s with a literal URL a bundler can ship', (board) => {
    expect(source).toContain(`new URL('../dist/wasm/${board}.wasm', import.meta.url)`);
    expect(existsSync(defaultWasmUrl(board))).toBe(true);
  });
});
