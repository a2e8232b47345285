// Print the production bundle sizes (gzip, JavaScript only; wasm not counted) and fail past
// the budgets: the app 150 kB, the <stm32dfu-install> element 80 kB.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
const assets = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js'));
const app = assets.reduce((n, f) => n + gz(join(dist, 'assets', f)), 0);
const element = gz(join(dist, 'stm32dfu-install.js'));
const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
const rows = [
  ['app JavaScript (dist/assets/*.js)', app, 150 * 1024],
  ['<stm32dfu-install> (dist/stm32dfu-install.js)', element, 80 * 1024],
];
let over = false;
for (const [name, size, budget] of rows) {
  console.log(`${name}: ${kb(size)} gzip (budget ${kb(budget)})`);
  if (size > budget) over = true;
}
if (over) {
  console.error(
    'A bundle is over its budget: find what grew with `pnpm exec vite build` in apps/web.',
  );
  process.exit(1);
}
