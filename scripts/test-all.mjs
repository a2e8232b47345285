// Run every task (build, lint, typecheck, test, the API reference, the API report check)
// through turbo, then count every test that ran — vitest JSON reports and ctest/QEMU JUnit
// reports — into one closing line.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const workspaces = ['packages', 'apps']
  .flatMap((dir) =>
    existsSync(join(root, dir)) ? readdirSync(join(root, dir)).map((d) => join(root, dir, d)) : [],
  )
  .concat(['hil', 'firmware', 'conformance', 'consumers'].map((d) => join(root, d)))
  .filter((d) => existsSync(join(d, 'package.json')));

// Reports are turbo outputs: a cached task restores its own, so stale ones can go.
for (const ws of workspaces) rmSync(join(ws, 'reports'), { recursive: true, force: true });

process.env.TURBO_TELEMETRY_DISABLED = '1';
const turbo = spawnSync(
  'pnpm',
  [
    'exec',
    'turbo',
    'run',
    'build',
    'lint',
    'lint:root',
    'docs:api',
    'api:check',
    'typecheck',
    'test',
    '--continue',
    '--log-order=grouped',
  ],
  { cwd: root, stdio: 'inherit' },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const lines = [];
for (const ws of workspaces) {
  const dir = join(ws, 'reports');
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir)) {
    const path = join(dir, file);
    let p = 0;
    let f = 0;
    let s = 0;
    if (file.endsWith('.json')) {
      const r = JSON.parse(readFileSync(path, 'utf8'));
      if (typeof r.numPassedTests !== 'number') continue;
      p = r.numPassedTests;
      f = r.numFailedTests;
      s = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    } else if (file.endsWith('.xml')) {
      // JUnit: count <testcase> elements and their <failure>/<error>/<skipped> children.
      const xml = readFileSync(path, 'utf8');
      for (const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
        const body = m[2] ?? '';
        if (/<(failure|error)\b/.test(body)) f++;
        else if (/<skipped\b/.test(body)) s++;
        else p++;
      }
    } else continue;
    passed += p;
    failed += f;
    skipped += s;
    lines.push(
      `  ${`${ws.slice(root.length)}/reports/${file}`.padEnd(48)} ${p} passed, ${f} failed`,
    );
  }
}

console.log('\nTest reports:');
console.log(lines.join('\n') || '  (none)');
if (turbo.status !== 0)
  console.log('\nSome tasks failed: see their output above (turbo ran them all with --continue).');
if (passed + failed === 0) {
  console.log('\nNo test ran.');
  process.exit(1);
}
console.log(`\nTests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(turbo.status === 0 && failed === 0 ? 0 : 1);
