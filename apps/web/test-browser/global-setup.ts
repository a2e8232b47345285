/**
 * Builds the test-only page modules (the navigator.usb stand-in and msw's page side) with Vite
 * into test-results/test-build/, and generates msw's worker script there with `msw init`. None
 * of it goes into dist/: the production build never contains test code or mockServiceWorker.js.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const testBuild = fileURLToPath(new URL('../test-results/test-build/', import.meta.url));

export default async function setup(): Promise<void> {
  const pages = fileURLToPath(new URL('./pages/', import.meta.url));
  await build({
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    resolve: { conditions: ['@stm32dfu/source', 'browser', 'module', 'import', 'default'] },
    build: {
      target: 'es2022',
      outDir: `${testBuild}__test__`,
      emptyOutDir: true,
      sourcemap: false,
      rolldownOptions: {
        input: {
          'usb-stand-in': `${pages}usb-stand-in.ts`,
          'msw-page': `${pages}msw-page.ts`,
        },
        preserveEntrySignatures: 'exports-only',
        output: { entryFileNames: '[name].js' },
      },
    },
  });
  const msw = dirname(createRequire(import.meta.url).resolve('msw/package.json'));
  execFileSync(process.execPath, [join(msw, 'cli/index.js'), 'init', testBuild, '--no-save'], {
    stdio: 'ignore',
  });
}
