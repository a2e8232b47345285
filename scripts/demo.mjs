// The demo: flash the example application onto a virtual board with the stm32dfu CLI, see
// it boot, change it and re-flash only what changed, send it back into the bootloader.
// Every time printed is the board's own (the datasheet's erase and program times).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
process.env.TURBO_TELEMETRY_DISABLED = '1';

// Build quietly (the CLI, the virtual board, the example application); show the build's
// output only when it fails.
const build = spawnSync(
  'pnpm',
  [
    'exec',
    'turbo',
    'run',
    'build',
    '--filter',
    '@stm32dfu/cli...',
    '--filter',
    '@stm32dfu/firmware',
    '--output-logs=errors-only',
  ],
  { cwd: root, encoding: 'utf8' },
);
if (build.status !== 0) {
  process.stdout.write(build.stdout ?? '');
  process.stderr.write(build.stderr ?? '');
  console.error('\nThe build failed (output above); the demo needs it.');
  process.exit(build.status ?? 1);
}

const dir = mkdtempSync(join(tmpdir(), 'stm32dfu-demo-'));
const sim = 'blackpill.sim'; // the commands run in `dir`
const app = join(root, 'firmware/build/blackpill-f411/app/app.bin');

function step(title) {
  console.log(`\n\u25b6 ${title}`);
}

function stm32dfu(...args) {
  console.log(`$ stm32dfu ${args.map((a) => a.replace(root, '').replace(dir, '.')).join(' ')}`);
  const r = spawnSync('node', [join(root, 'apps/cli/dist/bin.js'), ...args], {
    stdio: 'inherit',
    cwd: dir,
  });
  if (r.status !== 0) {
    console.error(`\nstm32dfu ${args[0]} failed (exit status ${r.status}).`);
    rmSync(dir, { recursive: true, force: true });
    process.exit(r.status ?? 1);
  }
}

try {
  step('A new Black Pill (virtual): only the bootloader, waiting in DFU mode');
  stm32dfu('sim', 'status', '--sim', sim);

  step('Flash the example application; the bootloader checks its stamp and starts it');
  stm32dfu('flash', app, '--sim', sim);
  stm32dfu('info', '--sim', sim);

  step('Change the application (a new version) and look at the plan first');
  const changed = new Uint8Array(readFileSync(app));
  const text = Buffer.from(changed).indexOf('stm32dfu');
  changed[text >= 0 ? text : 0x400] ^= 0x20; // one byte of the application's text
  const changedPath = join(dir, 'app-1.2.4.bin');
  writeFileSync(changedPath, changed);
  stm32dfu('flash', changedPath, '--sim', sim, '--app-version', '1.2.4', '--dry-run');

  step('Flash it: unchanged sectors are skipped (differential), the rest verified by CRC');
  stm32dfu('flash', changedPath, '--sim', sim, '--app-version', '1.2.4');

  step('The same image again: nothing to write');
  stm32dfu('flash', changedPath, '--sim', sim, '--app-version', '1.2.4');

  step('Ask the running application to go back into the bootloader (no button, no Boot0)');
  stm32dfu('detach', '--sim', sim);
  console.log(
    `\nDone. The board's state is in ${join(dir, sim)}; try: pnpm stm32dfu info --sim ${join(dir, sim)}`,
  );
} finally {
  // Keep the board file for a look afterwards; the temporary images go.
  rmSync(join(dir, 'app-1.2.4.bin'), { force: true });
}
