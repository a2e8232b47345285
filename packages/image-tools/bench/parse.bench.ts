// Parse speed of the Intel HEX and ELF readers on 1 MB images, against srec_cat on the
// same HEX. Run: pnpm --filter @stm32dfu/image-tools bench. Prints numbers; asserts nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readElf, writeElf } from '../src/elf.js';
import { readIntelHex, writeIntelHex } from '../src/intel-hex.js';
import { SparseImage } from '../src/sparse-image.js';

const RUNS = 9;
const SIZE = 1024 * 1024;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

function time(fn: () => void): number {
  fn(); // warm-up: the first call pays for JIT compilation
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return median(samples);
}

const data = new Uint8Array(SIZE);
let x = 0x2545f491;
for (let i = 0; i < SIZE; i++) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  data[i] = x & 0xff;
}
// A realistic layout: code in flash, with a gap, as several ELF segments.
const image = SparseImage.fromPieces([
  { address: 0x08000000, data: data.subarray(0, SIZE / 2) },
  { address: 0x08080000 + 0x100, data: data.subarray(SIZE / 2) },
]);
const hexText = writeIntelHex(image);
const hexBytes = new Uint8Array(Buffer.from(hexText, 'latin1'));
const elfBytes = writeElf(image, { entry: 0x08000101 });

const hexMs = time(() => readIntelHex(hexBytes));
const elfMs = time(() => readElf(elfBytes));
const mb = image.size / (1024 * 1024);

const dir = mkdtempSync(join(tmpdir(), 'image-tools-bench-'));
let srecMs: number | undefined;
try {
  const inHex = join(dir, 'in.hex');
  writeFileSync(inHex, hexBytes);
  const outBin = join(dir, 'out.bin');
  const probe = spawnSync('srec_cat', ['--version'], { stdio: 'ignore' });
  if (probe.status === 0) {
    srecMs = time(() => {
      const r = spawnSync('srec_cat', [inHex, '-intel', '-o', outBin, '-binary']);
      if (r.status !== 0) throw new Error(`srec_cat failed: ${r.stderr.toString()}`);
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const line = (name: string, ms: number, bytes: number) =>
  `${name.padEnd(28)} ${ms.toFixed(2).padStart(8)} ms  ${(bytes / (1024 * 1024) / (ms / 1000)).toFixed(1).padStart(7)} MB/s`;
console.log(
  `image: ${mb.toFixed(2)} MB data; HEX file ${(hexBytes.length / 1048576).toFixed(2)} MB; ELF ${(elfBytes.length / 1048576).toFixed(2)} MB; median of ${RUNS}`,
);
console.log(line('readIntelHex (1 MB)', hexMs, image.size));
console.log(line('readElf (1 MB)', elfMs, image.size));
if (srecMs !== undefined) {
  console.log(line('srec_cat -intel -> -binary', srecMs, image.size));
  console.log(`readIntelHex / srec_cat time ratio: ${(hexMs / srecMs).toFixed(2)} (target ≤ 2)`);
} else {
  console.log('srec_cat not found (apt-get install srecord): no reference timing');
}
