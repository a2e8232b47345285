/**
 * On a terminal the CLI draws a progress bar per phase with bytes, rate and ETA; run in a
 * real pseudo-terminal (util-linux `script`), as a user's shell runs it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const hasScript = spawnSync('script', ['--version']).status === 0;
if (!hasScript && process.env.CI)
  throw new Error('util-linux `script` is needed for the terminal test');

describe.skipIf(!hasScript)('progress on a terminal', () => {
  it('draws a bar per phase with bytes, rate and ETA; plain lines when not a terminal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stm32dfu-tty-'));
    try {
      const app = join(dir, 'app.bin');
      const image = new Uint8Array(40 * 1024);
      for (let i = 0; i < image.length; i++) image[i] = (i * 13) & 0xff;
      image.fill(0, 0x1c, 0x2c); // vector slots 7–10, where the stamp goes
      new DataView(image.buffer).setUint32(0, 0x20020000, true);
      new DataView(image.buffer).setUint32(4, 0x08008101, true);
      writeFileSync(app, image);
      // Relative paths keep the line inside the pseudo-terminal's 80 columns.
      const command = `${process.execPath} ${BIN} flash app.bin --full --sim b.sim`;
      const r = spawnSync('script', ['-qec', command, '/dev/null'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, COLUMNS: '120' },
      });
      expect(r.status, r.stdout).toBe(0);
      // Cursor moves and erases between redraws; the bars' text is what the user reads.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
      const screen = r.stdout.replaceAll('\r', '\n').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      for (const phase of ['erase', 'write', 'verify']) {
        expect(screen).toMatch(
          new RegExp(`${phase} +\\[█+\\] 100% [\\d.]+ kB/[\\d.]+ kB [\\d.]+ (k|M)?B/s ETA`),
        );
      }
      // Not a terminal: no bar, a line per phase.
      const plain = spawnSync(
        process.execPath,
        [BIN, 'flash', app, '--sim', join(dir, 'b.sim'), '--full'],
        { encoding: 'utf8' },
      );
      expect(plain.stdout).not.toMatch(/█/);
      expect(plain.stdout).toMatch(/: write 40\.0 kB\n.*: write done/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
