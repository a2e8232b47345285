// How long the CLI takes to start, and a whole flash's real time on the virtual board:
// cold `stm32dfu --help` and `stm32dfu list` with no device (targets on a 2-core machine:
// 150 ms and 300 ms), median of 10 runs each, and a full 480 kB `--sim` flash.
//   pnpm --filter @stm32dfu/cli bench
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticApplication } from '@stm32dfu/image-tools/testing';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

function timeMs(args, options = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', ...options });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, status: r.status, stderr: r.stderr };
}

function median(args, runs = 10) {
  const times = [];
  let last;
  for (let i = 0; i < runs; i++) {
    last = timeMs(args);
    times.push(last.ms);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(runs / 2)], status: last.status };
}

const help = median(['--help']);
console.log(`stm32dfu --help              ${help.ms.toFixed(0).padStart(5)} ms  (target 150 ms)`);
const list = median(['list']);
console.log(
  `stm32dfu list (no device)    ${list.ms.toFixed(0).padStart(5)} ms  (target 300 ms; exit status ${list.status})`,
);

const dir = mkdtempSync(join(tmpdir(), 'stm32dfu-bench-'));
try {
  const image = syntheticApplication(480 * 1024);
  writeFileSync(join(dir, 'app.bin'), image);
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, 'flash', 'app.bin', '--sim', 'board.sim', '--json'], {
    cwd: dir,
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1));
  const boardMs = result.boards?.[0]?.boardMs;
  console.log(
    `stm32dfu flash 480 kB --sim  ${ms.toFixed(0).padStart(5)} ms real time for ${(boardMs / 1000).toFixed(3)} s on the board's clock (exit status ${r.status})`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
