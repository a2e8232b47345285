// The demo: until the CLI and the virtual board flash the example application, show the
// default board's memory map, the layout every other piece is generated from.
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const r = spawnSync('node', ['packages/layout/dist/cli.js', 'map', 'blackpill-f411'], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
