/** The consumer test builds on every public package: turbo must build each one first. */
import { expect, it } from 'vitest';
import { publicPackages, readManifest } from './packages.ts';

it('depends on every public package, so `turbo run test` builds them before packing', () => {
  const own = readManifest(new URL('..', import.meta.url).pathname).devDependencies ?? {};
  const missing = publicPackages()
    .map((p) => p.manifest.name)
    .filter((name) => own[name] !== 'workspace:*');
  // Add each one to consumers/package.json: "devDependencies": { "<name>": "workspace:*" }.
  expect(missing).toEqual([]);
});
