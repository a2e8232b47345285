#!/usr/bin/env node
// make-images.mjs — the signed application images the signature benchmark checks, made with
// @stm32dfu/image-tools exactly as `stm32dfu sign` makes them, and bench_params.h describing
// them to the C programs.
//
//   node bench/signature/make-images.mjs --out <dir>
//
// Two images for the Black Pill's 480 kB application region: "100 kB" (102,400 bytes
// stamped, trailer after) and "480 kB" (491,392 bytes stamped: with its 128-byte trailer it
// fills the region, the largest signed image the board holds). Contents are pseudo-random
// (SHA-256 costs the same for any bytes); the key is a fixed benchmark key, never a product's.
// On QEMU's 1 MB netduinoplus2 the 480 kB image sits at the Black Pill's application base
// and the 100 kB one right after it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const imageTools = await import('@stm32dfu/image-tools');
const nodeTools = await import('@stm32dfu/image-tools/node');

const REGION_SIZE = 480 * 1024;
const TRAILER = 128;
const images = [
  { name: 'large', base: 0x08008000, length: REGION_SIZE - TRAILER },
  { name: 'small', base: 0x08008000 + REGION_SIZE, length: 100 * 1024 },
];
const BOARD_ID = 'blackpill-f411';
const SEED = new TextEncoder().encode('stm32dfu signature benchmark key'); // 32 bytes

const { values } = parseArgs({ options: { out: { type: 'string' } } });
if (!values.out) {
  process.stderr.write('make-images: --out <dir> is required\n');
  process.exit(1);
}

// xorshift32: the same bytes every run.
function pseudoRandom(length, seed) {
  const bytes = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

const privateKey = nodeTools.privateKeyFromSeed(SEED);
const publicKey = nodeTools.rawPublicKey(privateKey);
const hex = (n) => `0x${(n >>> 0).toString(16).padStart(8, '0')}u`;
const header = [
  '/* bench_params.h — written by make-images.mjs; the signed images the benchmark checks. */',
  '#ifndef STM32DFU_BENCH_PARAMS_H',
  '#define STM32DFU_BENCH_PARAMS_H',
  `#define BENCH_REGION_SIZE ${hex(REGION_SIZE)}`,
  `#define BENCH_BOARD_WORD ${hex(nodeTools.boardIdOf(BOARD_ID))} /* "${BOARD_ID}" */`,
  `#define BENCH_PUBLIC_KEY {${Array.from(publicKey, (b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')}}`,
];

for (const [index, image] of images.entries()) {
  const body = pseudoRandom(image.length, 0x9e3779b9 + index);
  const vectors = new DataView(body.buffer);
  vectors.setUint32(0, 0x20020000, true); // initial stack pointer
  for (let slot = 1; slot < 7; slot++) vectors.setUint32(slot * 4, image.base + 0x201, true);
  body.fill(0, 0x1c, 0x2c); // slots 7-10: where the stamp goes
  const region = { start: image.base, size: REGION_SIZE };
  const stamped = imageTools.stampImage(
    imageTools.SparseImage.fromBytes(image.base, body),
    region,
    {
      version: '1.0.0',
    },
  );
  const signed = nodeTools.signImage(stamped, region, {
    privateKey,
    securityCounter: 1,
    boardId: BOARD_ID,
  });
  const check = nodeTools.checkSignature(signed, region, {
    publicKeys: [publicKey],
    boardId: BOARD_ID,
  });
  if (check.verdict !== 'valid') {
    process.stderr.write(
      `make-images: the ${image.name} image checks as ${check.verdict}, not valid\n`,
    );
    process.exit(1);
  }
  const bytes = signed.read(image.base, image.length + TRAILER);
  await writeFile(join(values.out, `${image.name}.bin`), bytes);
  const NAME = image.name.toUpperCase();
  header.push(
    `#define BENCH_${NAME}_BASE ${hex(image.base)}`,
    `#define BENCH_${NAME}_LENGTH ${image.length}u /* stamped bytes; the trailer follows */`,
  );
}
header.push('#endif', '');
await writeFile(join(values.out, 'bench_params.h'), header.join('\n'));
