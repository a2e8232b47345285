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

const lines = [
  '# Signed images (docs/signed-firmware.md), written by scripts/make-signature-vectors.ts.',
  '# key <public key hex>       the board holds this one key (a test key, never a product key)',
  '# board <id> <board id word> the board these images are checked on',
  '# signed <name> <base hex> <verdict> <counter> <image hex, trailer included>',
  `key ${hexOf(publicKey)}`,
  `board ${BOARD} ${boardIdOf(BOARD).toString(16).padStart(8, '0')}`,
  ...cases.map(
    ([name, verdict, bytes]) => `signed ${name} ${BASE.toString(16)} ${verdict} 5 ${hexOf(bytes)}`,
  ),
];
writeFileSync(
  fileURLToPath(new URL('../../../fixtures/signature-vectors.txt', import.meta.url)),
  `${lines.join('\n')}\n`,
);
console.log(`wrote ${cases.length} signed-image vectors`);
