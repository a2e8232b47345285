// The flasher in Debian's Chromium: the built dist/ served on localhost, driven by playwright-core.
// The global setup builds the test-only pages (navigator.usb stand-in, msw) beside it.
import { defineConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

export default defineConfig({
  ...sharedConfig,
  test: {
    ...sharedConfig.test,
    include: ['test-browser/**/*.test.ts'],
    globalSetup: ['test-browser/global-setup.ts'],
    outputFile: { json: 'reports/browser.json' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
