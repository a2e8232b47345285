import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

// The CLI runs as a child process against virtual boards: whole flashes take virtual
// seconds and a fraction of a real one; the limit only catches a hang.
export default mergeConfig(sharedConfig, defineConfig({ test: { testTimeout: 60_000 } }));
