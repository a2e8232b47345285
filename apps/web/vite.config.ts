import { defineConfig } from 'vite';

// Workspace packages from their TypeScript sources (the @stm32dfu/source condition), as the
// repository's tests do; the wasm core is emitted as an asset by the virtual board's URL.
export default defineConfig({
  base: './',
  resolve: { conditions: ['@stm32dfu/source', 'browser', 'module', 'import', 'default'] },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, sourcemap: false },
});
