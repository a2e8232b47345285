import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { createVirtualBoard } from '../src/node.ts';

// The shared contract-4 vectors: the same file the image-tools and firmware C tests read.
const vectors = readFileSync(
  new URL('../../image-tools/fixtures/app-stamp-vectors.txt', import.meta.url),
  'utf8',
)
  .split('\n')
  .map((line) => line.replace(/#.*/, '').trim())
  .filter(Boolean)
  .map((line) => line.split(/\s+/));
const bytes = (hexText: string) =>
  hexText === '-'
    ? new Uint8Array(0)
    : Uint8Array.from(hexText.match(/../g)!, (b) => Number.parseInt(b, 16));

test('the core on the board accepts the valid stamps of the shared vectors and refuses the rest', async () => {
  const board = await createVirtualBoard({ powered: false });
  const stamps = vectors.filter((v) => v[0] === 'stamp');
  expect(stamps.length).toBeGreaterThan(0);
  for (const [, name, base, verdict, , image] of stamps) {
    board.loadFlash(new Uint8Array(board.flash.length).fill(0xff));
    board.writeFlash(Number.parseInt(base!, 16), bytes(image!));
    board.power(true);
    const boot = board.events.findLast((e) => e.type === 'boot');
    const seen = boot?.type === 'boot' ? boot.verdict : undefined;
    // A valid stamp may still be refused for its vectors; an invalid one never boots.
    const allowed = verdict === 'valid' ? ['jump', 'bad-vectors'] : ['bad-stamp', 'no-app'];
    expect([name, allowed.includes(String(seen))]).toEqual([name, true]);
    board.power(false);
  }
});
