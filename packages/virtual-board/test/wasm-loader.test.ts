import { describe, expect, test } from 'vitest';
import { compileWasm } from '../src/index.ts';

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
