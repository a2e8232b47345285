import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../vitest.shared.ts';

// Each test runs dfu-util against a virtual board: whole flashes take virtual seconds but
// well under a second of real time; the limit only catches a hang.
export default mergeConfig(sharedConfig, defineConfig({ test: { testTimeout: 60_000 } }));
