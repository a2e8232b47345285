// A release catalog with the example application, so the built flasher has a release to offer
// (dist/catalog/manifest.json). Skipped with a note when the firmware was not built.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const app = new URL('../../../firmware/build/blackpill-f411/app/app.bin', import.meta.url);
const out = new URL('../dist/catalog/', import.meta.url);
if (!existsSync(app)) {
  console.warn(
    `No example catalog: ${app.pathname} is missing (build the firmware: pnpm --filter @stm32dfu/firmware build).`,
  );
  process.exit(0);
}
const bytes = readFileSync(app);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('example-app-0.1.0.bin', out), bytes);
const manifest = {
  schema: 1,
  product: 'stm32dfu example application',
  releases: [
    {
      version: '0.1.0',
      channel: 'stable',
      date: '2025-01-01',
      notes: 'The example application: blinks the LED, answers DFU DETACH.',
      builds: {
        'blackpill-f411': [
          {
            path: 'example-app-0.1.0.bin',
            format: 'binary',
            address: 0x08008000,
            size: bytes.length,
            sha256: createHash('sha256').update(bytes).digest('hex'),
          },
        ],
      },
    },
  ],
};
writeFileSync(new URL('manifest.json', out), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`example catalog: dist/catalog/manifest.json (${bytes.length} bytes of app.bin)`);
