import { defineConfig } from 'vite';

// The embeddable <stm32dfu-install> element: one self-contained script, no virtual board.
export default defineConfig({
  resolve: { conditions: ['@stm32dfu/source', 'browser', 'module', 'import', 'default'] },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: false,
    sourcemap: false,
    lib: { entry: 'src/element.ts', formats: ['es'], fileName: () => 'stm32dfu-install.js' },
    rolldownOptions: { output: { inlineDynamicImports: true } },
  },
});
