/**
 * The installed tarballs in a page: the consumer project's own Vite bundles web/, the page
 * runs in Debian's Chromium (no browser is downloaded) and reports what it did.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';

const { project } = inject('consumer');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';
const haveChromium = existsSync(chromiumPath);
if (!haveChromium && inCi) {
  throw new Error(`Chromium not found at ${chromiumPath}: install the Debian package chromium.`);
}

/** Headless and quiet on the network, as packages/virtual-board/test-browser launches it. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};

async function serve(dir: string) {
  const requests: { path: string; status: number }[] = [];
  const root = normalize(dir + sep);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    const ok = file.startsWith(root) && existsSync(file);
    requests.push({ path, status: ok ? 200 : 404 });
    res.writeHead(ok ? 200 : 404, { 'content-type': TYPES[extname(file)] ?? 'text/plain' });
    res.end(ok ? readFileSync(file) : 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.skipIf(!haveChromium)('in a Vite bundle in Chromium', () => {
  it('flashes a parsed image onto a virtual board whose core the bundler shipped', async () => {
    const build = spawnSync(
      process.execPath,
      [join(project, 'node_modules/vite/bin/vite.js'), 'build', 'web', '--outDir', '../dist-web'],
      { cwd: project, encoding: 'utf8', timeout: 60_000 },
    );
    expect(build.status, `${build.stdout}${build.stderr}`).toBe(0);
    const assets = readdirSync(join(project, 'dist-web', 'assets'));
    expect(assets.filter((f) => f.endsWith('.wasm')).length).toBeGreaterThan(0);

    const server = await serve(join(project, 'dist-web'));
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.origin}/`);
      await page.waitForFunction(() => window.__consumerResult !== undefined, null, {
        timeout: 30_000,
      });
      const result = await page.evaluate(() => window.__consumerResult);
      expect(errors).toEqual([]);
      expect(result).toMatchObject({
        ok: true,
        nodeGlobals: [],
        roundTrip: {
          format: 'ihex',
          address: 0x08008000,
          bytes: 20 * 1024,
          verified: 'crc',
          firstDifference: -1,
          stampReadBack: 'valid',
        },
      });
      const wasmRequests = server.requests.filter((r) => r.path.endsWith('.wasm'));
      expect(wasmRequests).toEqual([{ path: expect.stringMatching(/^\/assets\//), status: 200 }]);
    } finally {
      await browser.close();
      await server.close();
    }
  }, 120_000);
});

declare global {
  interface Window {
    __consumerResult?: { ok: boolean; [key: string]: unknown };
  }
}
