// Shared vitest settings: resolve workspace packages from their TypeScript sources
// (the `@stm32dfu/source` export condition), so tests never depend on a stale dist/.
import { defineConfig } from 'vitest/config';

export const sharedConfig = defineConfig({
  resolve: { conditions: ['@stm32dfu/source'] },
  ssr: { resolve: { conditions: ['@stm32dfu/source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // A hang limit only: turbo runs several packages' tests at once on 2 cores, and a test
    // that takes 2 s alone can take 10 s then. Durations are measured in benchmarks.
    testTimeout: 30_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
  },
});
