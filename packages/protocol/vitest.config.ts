import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

// Whole 480 kB flashes at wTransferSize 64 run thousands of virtual transfers: about 3 s of
// real time on an idle 2-core machine, more when the machine is busy. The limit only
// catches a hang; durations are measured on the virtual clock, not here.
export default mergeConfig(sharedConfig, defineConfig({ test: { testTimeout: 30_000 } }));
