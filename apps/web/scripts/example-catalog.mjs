// A release catalog with the example application, so the built flasher has a release to offer
// (dist/catalog/manifest.json): the firmware build's app.bin, its version read from its stamp,
// signed with the example's TEST key, whose public half the catalog lists under "keys".
// Skipped with a note when the firmware was not built.
//
// The TEST key's seed is derived below from a public sentence: anyone can sign with it, so it
// shows how signing works and must never be a product's key (docs/signed-firmware.md).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { formatVersion, readBinary, readStamp } from '@stm32dfu/image-tools';
import { privateKeyFromSeed, rawPublicKey, signImage } from '@stm32dfu/image-tools/node';
import { getLayout } from '@stm32dfu/layout';

const BOARD = 'blackpill-f411';
const REGION = getLayout(BOARD).partitions.application;
const APP_BASE = REGION.start;
/** The example's anti-rollback counter: a product raises it when a release fixes a hole. */
const SECURITY_COUNTER = 1;

const app = new URL('../../../firmware/build/blackpill-f411/app/app.bin', import.meta.url);
const out = new URL('../dist/catalog/', import.meta.url);
if (!existsSync(app)) {
  console.warn(
    `No example catalog: ${app.pathname} is missing (build the firmware: pnpm --filter @stm32dfu/firmware build).`,
  );
  process.exit(0);
}
const testKey = privateKeyFromSeed(
  createHash('sha256')
    .update('stm32dfu example catalog TEST signing key: public, never for a product')
    .digest(),
);
const unsigned = readBinary(readFileSync(app), { base: APP_BASE });
const version = formatVersion(readStamp(unsigned, REGION).version);
const signed = signImage(unsigned, REGION, {
  privateKey: testKey,
  securityCounter: SECURITY_COUNTER,
  boardId: BOARD,
});
const bytes = signed.read(APP_BASE, signed.end - APP_BASE, 0xff);
const name = `example-app-${version}.bin`;
mkdirSync(out, { recursive: true });
writeFileSync(new URL(name, out), bytes);
const manifest = {
  schema: 1,
  product: 'stm32dfu example application',
  // TEST key (see above): a product lists its own public keys here.
  keys: [Buffer.from(rawPublicKey(testKey)).toString('hex')],
  releases: [
    {
      version,
      channel: 'stable',
      date: '2025-01-01',
      notes: `The example application, signed with the example's TEST key (security counter ${SECURITY_COUNTER}): blinks the LED, answers DFU DETACH.`,
      builds: {
        [BOARD]: [
          {
            path: name,
            format: 'binary',
            address: APP_BASE,
            size: bytes.length,
            sha256: createHash('sha256').update(bytes).digest('hex'),
          },
        ],
      },
    },
  ],
};
writeFileSync(new URL('manifest.json', out), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(
  `example catalog: dist/catalog/manifest.json (${name}: ${bytes.length} bytes, version ${version}, signed with the example TEST key)`,
);
