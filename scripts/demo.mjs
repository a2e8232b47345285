// The demo: until the CLI flashes the example application onto the virtual board, show the
// default board's memory map — the layout every other piece is generated from.
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
process.env.TURBO_TELEMETRY_DISABLED = '1';

// Build quietly; show the build's output only when it fails.
const build = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'build', '--filter', '@stm32dfu/layout', '--output-logs=errors-only'],
  {
    cwd: root,
    encoding: 'utf8',
  },
);
if (build.status !== 0) {
  process.stdout.write(build.stdout ?? '');
  process.stderr.write(build.stderr ?? '');
  console.error('\nThe build failed (output above); the demo needs it.');
  process.exit(build.status ?? 1);
}

const map = spawnSync('node', ['packages/layout/dist/cli.js', 'map', 'blackpill-f411'], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(map.status ?? 1);
