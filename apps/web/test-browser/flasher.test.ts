/**
 * The built flasher (dist/) in Debian's Chromium through playwright-core: the virtual board
 * path end to end, the example catalog the build writes, and an accessibility check.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { appBin, launch, newPage, type Served, serveApp, shots, skipBrowser } from './harness.ts';

describe.skipIf(skipBrowser)('the flasher in headless Chromium', () => {
  let browser: Browser;
  let server: Served;
  const errors: string[] = [];

  beforeAll(async () => {
    browser = await launch();
    server = await serveApp();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(query = ''): Promise<Page> {
    const { page } = await newPage(browser, errors);
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

  test('the example catalog that the build writes installs from a release', async () => {
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
