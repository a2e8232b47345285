// Writes fixtures/signature-vectors.txt (docs/signed-firmware.md): signed images and what
// the bootloader's check must say about each, read by the TypeScript tests and the
// firmware's C tests. The signing key is a fixed test key (its seed is below): never a
// product's. Run: pnpm run signature-vectors.
import { createHash, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { appendSignatureTrailer, encodeSignedBlock, SIGNATURE_FORMAT } from '../src/signature.js';
import {
  boardIdOf,
  keyIdOf,
  privateKeyFromSeed,
  rawPublicKey,
  signImage,
} from '../src/signature-node.js';
import { SparseImage } from '../src/sparse-image.js';
import { syntheticApplication } from '../src/testing.js';

const BASE = 0x08008000;
const REGION = { start: BASE, size: 480 * 1024 };
const BOARD = 'blackpill-f411';
/** Steps of the F411's counter: 64 OTP bytes, one bit per step. */
const COUNTER_CAPACITY = 512;

const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const testKey = privateKeyFromSeed(new Uint8Array(32).map((_, i) => i + 1));
const otherKey = privateKeyFromSeed(new Uint8Array(32).map((_, i) => 0xa0 + i));
const publicKey = rawPublicKey(testKey);

/** A small stamped application: SP, a Thumb reset handler, deterministic code. */
function app(length: number, seed: number): SparseImage {
  return SparseImage.fromBytes(
    BASE,
    syntheticApplication(length, { seed, version: '1.2.3', base: BASE }),
  );
}

const flat = (image: SparseImage) => image.read(BASE, image.end - BASE, 0xff);

/** A trailer signed by `key` over a block that says what `fields` say. */
function resigned(
  image: SparseImage,
  fields: { format?: number; imageLength?: number; boardId?: number },
): SparseImage {
  const body = image.read(BASE, 256, 0xff);
  const block = encodeSignedBlock({
    format: fields.format ?? SIGNATURE_FORMAT,
    imageLength: fields.imageLength ?? 256,
    version: 0x01020003,
    securityCounter: 5,
    boardId: fields.boardId ?? boardIdOf(BOARD),
    keyId: keyIdOf(publicKey),
    digest: createHash('sha256').update(body).digest(),
  });
  return appendSignatureTrailer(image, REGION, block, sign(null, block, testKey));
}

const base = app(256, 7);
const good = signImage(base, REGION, { privateKey: testKey, securityCounter: 5, boardId: BOARD });
const tamperedImage = flat(good);
tamperedImage[0x80]! ^= 0x01;
const tamperedSignature = flat(good);
tamperedSignature[256 + 64 + 10]! ^= 0x01;

const cases: [string, string, Uint8Array][] = [
  ['valid', 'valid', flat(good)],
  ['unsigned', 'missing', flat(base)],
  [
    'other-board',
    'wrong-board',
    flat(
      signImage(base, REGION, {
        privateKey: testKey,
        securityCounter: 5,
        boardId: 'netduinoplus2',
      }),
    ),
  ],
  [
    'other-key',
    'unknown-key',
    flat(signImage(base, REGION, { privateKey: otherKey, securityCounter: 5, boardId: BOARD })),
  ],
  ['image-changed', 'bad-digest', tamperedImage],
  ['signature-changed', 'bad-signature', tamperedSignature],
  ['length-mismatch', 'wrong-length', flat(resigned(base, { imageLength: 252 }))],
  ['future-format', 'bad-format', flat(resigned(base, { format: 2 }))],
];

// The valid image signed again with other security counters, for the anti-rollback checks.
const counters = [0, 3, 7, COUNTER_CAPACITY, 600];
const countered: [string, string, number, Uint8Array][] = [
  ...cases.map(([name, verdict, bytes]): [string, string, number, Uint8Array] => [
    name,
    verdict,
    5,
    bytes,
  ]),
  ...counters.map((counter): [string, string, number, Uint8Array] => [
    `counter-${counter}`,
    'valid',
    counter,
    flat(
      signImage(base, REGION, { privateKey: testKey, securityCounter: counter, boardId: BOARD }),
    ),
  ]),
];

// The verdict each image gets on a board whose counter reads `at`, of `capacity` steps
// (0: a board that keeps no counter). The signature is checked first.
const onBoard: [string, number, number, string][] = [
  ['valid', 0, 0, 'valid'],
  ['counter-0', 0, COUNTER_CAPACITY, 'valid'],
  ['counter-3', 0, COUNTER_CAPACITY, 'valid'],
  ['counter-3', 3, COUNTER_CAPACITY, 'valid'],
  ['counter-3', 5, COUNTER_CAPACITY, 'rolled-back'],
  ['valid', 5, COUNTER_CAPACITY, 'valid'],
  ['counter-7', 5, COUNTER_CAPACITY, 'valid'],
  ['counter-0', 7, COUNTER_CAPACITY, 'rolled-back'],
  ['counter-3', 7, COUNTER_CAPACITY, 'rolled-back'],
  ['counter-512', 7, COUNTER_CAPACITY, 'valid'],
  ['counter-512', COUNTER_CAPACITY, COUNTER_CAPACITY, 'valid'],
  ['counter-600', 0, COUNTER_CAPACITY, 'counter-too-high'],
  ['counter-600', COUNTER_CAPACITY, COUNTER_CAPACITY, 'counter-too-high'],
  ['counter-600', 0, 0, 'valid'],
  ['counter-0', 5, 0, 'valid'],
  ['other-key', 0, COUNTER_CAPACITY, 'unknown-key'],
  ['image-changed', 7, COUNTER_CAPACITY, 'bad-digest'],
  ['unsigned', 7, COUNTER_CAPACITY, 'missing'],
];

const lines = [
  '# Signed images (docs/signed-firmware.md), written by scripts/make-signature-vectors.ts.',
  '# key <public key hex>       the board holds this one key (a test key, never a product key)',
  '# board <id> <board id word> the board these images are checked on',
  '# signed <name> <base hex> <verdict> <counter> <image hex, trailer included>',
  '# counter <name> <board counter> <capacity> <verdict>',
  '#   the verdict image <name> gets on a board whose anti-rollback counter reads <board',
  '#   counter>, of <capacity> steps (0: the board keeps no counter)',
  `key ${hexOf(publicKey)}`,
  `board ${BOARD} ${boardIdOf(BOARD).toString(16).padStart(8, '0')}`,
  ...countered.map(
    ([name, verdict, counter, bytes]) =>
      `signed ${name} ${BASE.toString(16)} ${verdict} ${counter} ${hexOf(bytes)}`,
  ),
  ...onBoard.map(([name, at, capacity, verdict]) => `counter ${name} ${at} ${capacity} ${verdict}`),
];
writeFileSync(
  fileURLToPath(new URL('../../../fixtures/signature-vectors.txt', import.meta.url)),
  `${lines.join('\n')}\n`,
);
console.log(`wrote ${countered.length} signed images and ${onBoard.length} counter verdicts`);
