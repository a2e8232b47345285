/**
 * Offline once loaded: the production build's service worker keeps the app shell. Load the
 * page, take the server away and the network too, reload: the page comes back from the
 * browser and the virtual board still installs a file. Every request went to the page's origin.
 */
import { readdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { appBin, dist, launch, newPage, serveApp, shots, skipBrowser } from './harness.ts';

describe.skipIf(skipBrowser)('the flasher offline', () => {
  let browser: Browser;
  const errors: string[] = [];

  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });

  test('load, go offline with the server gone, reload: the page and the virtual board still work', async () => {
    const server = await serveApp();
    const { context, page } = await newPage(browser, errors);
    const requested: string[] = [];
    context.on('request', (r) => requested.push(r.url()));
    await page.goto(`${server.origin}/`);
    await expect
      .poll(() => page.textContent('#offline-note'))
      .toBe('This page is kept in your browser: it works offline, virtual board included.');
    await expect
      .poll(() => page.evaluate(() => Boolean(navigator.serviceWorker.controller)))
      .toBe(true);
    expect(server.requests).toContain('/sw.js');

    await server.close();
    await context.setOffline(true);
    await page.reload();
    await expect.poll(() => page.textContent('h1')).toBe('stm32dfu flasher');
    await expect
      .poll(() => page.textContent('#catalog-status'))
      .toBe(
        'Offline: releases show when the network is back; a file from this computer still installs.',
      );
    await page.getByRole('button', { name: 'Start the virtual board' }).click();
    await expect.poll(() => page.textContent('#dev-mode')).toBe('bootloader (DFU mode)');
    await page.setInputFiles('#file', appBin);
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await expect
      .poll(() => page.textContent('#status'), { timeout: 20_000 })
      .toMatch(/application started/);
    await page.screenshot({ path: `${shots}40-offline.png`, fullPage: true });

    // No third-party requests: everything the page and its worker asked for was on its origin.
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((u) => !u.startsWith(`${server.origin}/`))).toEqual([]);
    await context.close();
    expect(errors).toEqual([]);
  });

  test('the production build has its own worker and none of the test pages', () => {
    const files = readdirSync(dist, { recursive: true }).map(String);
    expect(files).toContain('sw.js');
    expect(files.filter((f) => /mockServiceWorker|__test__|stand-in|msw/.test(f))).toEqual([]);
  });
});
