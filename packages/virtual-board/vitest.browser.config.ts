// The browser tests: a Node-side vitest run that builds a page with Vite and drives Debian's
// Chromium through playwright-core (test-browser/). Its own report, so the summary shows it.
import { defineConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

export default defineConfig({
  ...sharedConfig,
  test: {
    ...sharedConfig.test,
    include: ['test-browser/**/*.test.ts'],
    outputFile: { json: 'reports/browser.json' },
  },
});
