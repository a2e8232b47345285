/**
 * Signed releases for the browser tests: a product key made here (a test key, never a
 * product's), images signed with it, and msw answers for catalogs that list them.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { SparseImage } from '@stm32dfu/image-tools';
import { keyIdOf, rawPublicKey, signImage } from '@stm32dfu/image-tools/node';
import { APP_START, base64, makeApp } from './harness.ts';
import type { MockedAnswer } from './pages/msw-page.ts';

const REGION = { start: APP_START, size: 480 * 1024 };
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** A key id as the page shows it ("0x1a2b3c4d"). */
export const idText = (key: Uint8Array) => `0x${keyIdOf(key).toString(16).padStart(8, '0')}`;

const { privateKey } = generateKeyPairSync('ed25519');
/** The product's public key (raw, 32 bytes); `publicKeyHex` as a catalog or a board takes it. */
export const publicKey = rawPublicKey(privateKey);
export const publicKeyHex = hex(publicKey);

/** A stamped application of `version`, signed for blackpill-f411 with security counter `counter`. */
export function signed(version: string, counter: number, seed: number): Uint8Array {
  const image = signImage(SparseImage.fromBytes(APP_START, makeApp(8192, version, seed)), REGION, {
    privateKey,
    securityCounter: counter,
    boardId: 'blackpill-f411',
  });
  return image.read(APP_START, image.end - APP_START, 0xff);
}

/** A stable release of Widget with one build, `widget-<version>.bin` beside the manifest. */
export const release = (version: string, bytes: Uint8Array) => ({
  version,
  channel: 'stable',
  date: '2025-04-01',
  notes: `Widget ${version}.`,
  builds: {
    'blackpill-f411': [
      {
        path: `widget-${version}.bin`,
        format: 'binary',
        address: APP_START,
        size: bytes.length,
        sha256: sha256(bytes),
      },
    ],
  },
});

/** A release file as msw answers it. */
export const file = (bytes: Uint8Array): MockedAnswer => ({
  base64: base64(bytes),
  type: 'application/octet-stream',
});

/** Widget's manifest, listing the product key unless `keys` is false. */
export const manifest = (
  releases: readonly ReturnType<typeof release>[],
  keys = true,
): MockedAnswer => ({
  text: JSON.stringify({
    schema: 1,
    product: 'Widget',
    ...(keys ? { keys: [publicKeyHex] } : {}),
    releases,
  }),
});
