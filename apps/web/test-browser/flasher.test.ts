/**
 * The built flasher (dist/) in Debian's Chromium through playwright-core: the virtual board
 * path end to end, a release whose SHA-256 does not match, and an accessibility check.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
// @ts-expect-error: a plain JavaScript module without declarations
import { serve } from '../scripts/serve.mjs';

const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const appBin = fileURLToPath(
  new URL('../../../firmware/build/blackpill-f411/app/app.bin', import.meta.url),
);
const shots = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Locally a machine without Chromium skips with the reason; with CI set it fails.
const skip = !existsSync(chromiumPath) && !inCi;
if (skip)
  console.warn(
    `web browser tests skipped: Chromium not found at ${chromiumPath}; apt-get install -y chromium or set CHROMIUM_PATH.`,
  );

interface Served {
  origin: string;
  requests: string[];
  close(): Promise<void>;
}

describe.skipIf(skip)('the flasher in headless Chromium', () => {
  let browser: Browser;
  let server: Served;
  const errors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(chromiumPath)) {
      throw new Error(
        `Chromium not found at ${chromiumPath}: apt-get install -y chromium or set CHROMIUM_PATH.`,
      );
    }
    if (!existsSync(`${dist}index.html`))
      throw new Error('apps/web/dist is missing: run the build first.');
    if (!existsSync(appBin)) throw new Error(`${appBin} is missing: build the firmware first.`);
    await mkdir(shots, { recursive: true });
    const tampered = await readFile(appBin);
    tampered[200] = (tampered[200] ?? 0) ^ 0xff;
    server = await serve(dist, {
      routes: {
        '/bad/manifest.json': async () => {
          const good = JSON.parse(await readFile(`${dist}catalog/manifest.json`, 'utf8'));
          good.releases[0].builds['blackpill-f411'][0].path = 'app.bin';
          return { body: JSON.stringify(good) };
        },
        '/bad/app.bin': async () => ({ body: tampered, type: 'application/octet-stream' }),
        '/down/manifest.json': async () => ({
          status: 500,
          body: 'internal error',
          type: 'text/plain',
        }),
      },
    });
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(query = ''): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1300 } });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.origin}/${query}`);
    return page;
  }

  test('virtual board: start it, install the example app, see it boot; change one sector and see the differential plan', async () => {
    const page = await open();
    await page.getByRole('button', { name: 'Start the virtual board' }).click();
    await expect.poll(() => page.textContent('#dev-mode')).toBe('bootloader (DFU mode)');
    expect(await page.textContent('#dev-app')).toBe('none installed');
    await page.screenshot({ path: `${shots}01-virtual-board.png`, fullPage: true });

    await page.setInputFiles('#file', appBin);
    await expect
      .poll(() => page.textContent('#image-info'))
      .toMatch(/app\.bin: binary, \d+ bytes at 0x8008000/);
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await expect
      .poll(() => page.textContent('#status'), { timeout: 20_000 })
      .toMatch(/application started/);
    expect(await page.textContent('#dev-mode')).toBe('application running');
    expect(await page.textContent('#dev-app')).toMatch(/^version \d+\.\d+\.\d+$/);
    expect(await page.textContent('#log')).toContain('the bootloader started the application');
    await page.screenshot({ path: `${shots}02-installed.png`, fullPage: true });

    // One byte changed in the image's last sector: only that sector is erased and written.
    const changed = await readFile(appBin);
    changed[changed.length - 8] = (changed[changed.length - 8] ?? 0) ^ 0x5a;
    await page.setInputFiles('#file', {
      name: 'app-changed.bin',
      mimeType: 'application/octet-stream',
      buffer: changed,
    });
    await expect.poll(() => page.textContent('#image-info')).toMatch(/app-changed\.bin/);
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await expect
      .poll(() => page.textContent('#status'), { timeout: 20_000 })
      .toMatch(/erased 16 kB/);
    const states = await page.$$eval('#map g', (gs) => gs.map((g) => g.getAttribute('data-state')));
    expect(states.filter((s) => s === 'erase')).toHaveLength(1);
    expect(states.slice(0, 2)).toEqual(['bootloader', 'bootloader']);
    expect(await page.textContent('#log')).toContain('sending it into the bootloader (DETACH)');
    await page.screenshot({ path: `${shots}03-differential.png`, fullPage: true });

    // A reload keeps the virtual flash (IndexedDB): the application is still installed.
    await page.reload();
    await page.getByRole('button', { name: 'Start the virtual board' }).click();
    await expect.poll(() => page.textContent('#dev-mode')).toBe('application running');
    await page.close();
    expect(errors).toEqual([]);
  });

  test('a release whose SHA-256 does not match is refused and nothing reaches the board', async () => {
    const page = await open('?manifest=bad/manifest.json');
    await page.getByRole('button', { name: 'Start the virtual board' }).click();
    await expect.poll(() => page.textContent('#dev-serial')).not.toBe('');
    const before = await page.textContent('#dev-app');
    await page.getByRole('button', { name: 'Use 0.1.0' }).click();
    await expect
      .poll(() => page.textContent('#image-error'))
      .toMatch(/does not match its SHA-256.*nothing was written/);
    expect(await page.getByRole('button', { name: 'Install', exact: true }).isDisabled()).toBe(
      true,
    );
    expect(await page.textContent('#dev-app')).toBe(before);
    await page.screenshot({ path: `${shots}04-hash-mismatch.png`, fullPage: true });
    await page.close();
  });

  test('the example catalog installs from a release; a failing catalog server is reported', async () => {
    const page = await open();
    await expect
      .poll(() => page.textContent('#catalog-status'))
      .toMatch(/Releases of stm32dfu example application/);
    await page.getByRole('button', { name: 'Start the virtual board' }).click();
    await expect.poll(() => page.textContent('#dev-serial')).not.toBe('');
    await page.getByRole('button', { name: 'Use 0.1.0' }).click();
    await expect.poll(() => page.textContent('#image-info')).toMatch(/example-app-0\.1\.0\.bin/);
    expect(await page.textContent('#log')).toContain('matches the catalog');
    await page.close();

    const down = await open('?manifest=down/manifest.json');
    await expect
      .poll(() => down.textContent('#catalog-status'))
      .toMatch(/HTTP 500.*try again later/);
    await down.close();
  });

  test('no accessibility violations (axe) on the page', async () => {
    const page = await browser.newPage({ bypassCSP: true });
    await page.goto(`${server.origin}/`);
    const axe = await readFile(fileURLToPath(import.meta.resolve('axe-core/axe.min.js')), 'utf8');
    await page.evaluate(axe);
    const violations = await page.evaluate(async () => {
      const result = await (
        window as unknown as {
          axe: { run(): Promise<{ violations: { id: string; help: string }[] }> };
        }
      ).axe.run();
      return result.violations.map((v) => `${v.id}: ${v.help}`);
    });
    expect(violations).toEqual([]);
    await page.close();
  });
});
