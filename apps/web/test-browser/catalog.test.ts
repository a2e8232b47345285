/**
 * Release catalogs with msw's service worker in the page: the page's own fetch and Web Crypto
 * code meets a good release (installed on the virtual board), a file whose SHA-256 does not
 * match (refused, the board keeps what it had), a server error, a 404 and a malformed manifest.
 */
import { createHash } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { base64, browserAndApp, makeApp, newPage, shots, skipBrowser, useMsw } from './harness.ts';
import type { MockedAnswer } from './pages/msw-page.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function manifest(version: string, path: string, bytes: Uint8Array, extra: object = {}) {
  return JSON.stringify({
    schema: 1,
    product: 'Widget',
    releases: [
      {
        version,
        channel: 'stable',
        date: '2025-03-01',
        notes: `Widget firmware ${version}.`,
        builds: {
          'blackpill-f411': [
            {
              path,
              format: 'binary',
              address: 0x08008000,
              size: bytes.length,
              sha256: sha256(bytes),
              ...extra,
            },
          ],
        },
      },
    ],
  });
}

const good = makeApp(8192, '1.0.0', 7);
const next = makeApp(8192, '1.1.0', 8);
const damaged = next.slice();
damaged[4000] = (damaged[4000] ?? 0) ^ 0x01;

const answers: Record<string, MockedAnswer> = {
  '/releases/widget/manifest.json': { text: manifest('1.0.0', 'files/widget-1.0.0.bin', good) },
  '/releases/widget/files/widget-1.0.0.bin': {
    base64: base64(good),
    type: 'application/octet-stream',
  },
  '/releases/tampered/manifest.json': { text: manifest('1.1.0', 'widget-1.1.0.bin', next) },
  '/releases/tampered/widget-1.1.0.bin': {
    base64: base64(damaged),
    type: 'application/octet-stream',
  },
  '/releases/down/manifest.json': { status: 500, text: 'internal error', type: 'text/plain' },
  '/releases/gone/manifest.json': { status: 404, text: 'not found', type: 'text/plain' },
  '/releases/broken/manifest.json': {
    text: manifest('1.0.0', 'widget.bin', good, { sha256: 'not-a-digest' }),
  },
};

describe.skipIf(skipBrowser)('release catalogs served by msw in the page', () => {
  const session = browserAndApp();
  const errors: string[] = [];

  const open = async (page: Page, manifestPath: string) => {
    await page.goto(`${session.server.origin}/?manifest=${manifestPath}`);
  };

  test('a good release installs; a damaged file is refused and the board keeps what it had', async () => {
    const { context, page } = await newPage(session.browser, errors);
    await useMsw(page, answers);
    await open(page, '/releases/widget/manifest.json');
    await expect.poll(() => page.textContent('#catalog-status')).toBe('Releases of Widget');
    await page.getByRole('button', { name: 'Start the virtual board' }).click();
    await expect.poll(() => page.textContent('#dev-app')).toBe('none installed');
    expect(await page.textContent('#catalog-status')).toBe('Update available: 1.0.0 (stable)');
    await page.getByRole('button', { name: 'Use 1.0.0' }).click();
    await expect
      .poll(() => page.textContent('#image-info'))
      .toMatch(/^widget-1\.0\.0\.bin: binary/);
    expect(await page.textContent('#log')).toContain(
      'SHA-256 of http://localhost', // the relative path resolved against the manifest's URL
    );
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await expect
      .poll(() => page.textContent('#status'), { timeout: 20_000 })
      .toMatch(/application started/);
    expect(await page.textContent('#dev-app')).toBe('version 1.0.0');
    expect(await page.textContent('#catalog-status')).toMatch(/the board is up to date/);
    await page.screenshot({ path: `${shots}20-catalog-installed.png`, fullPage: true });

    // The next release's file was damaged on the way: refused before anything is sent.
    await open(page, '/releases/tampered/manifest.json');
    await page.getByRole('button', { name: 'Start the virtual board' }).click();
    await expect.poll(() => page.textContent('#dev-app')).toBe('version 1.0.0');
    expect(await page.textContent('#catalog-status')).toBe('Update available: 1.1.0 (stable)');
    await page.getByRole('button', { name: 'Use 1.1.0' }).click();
    await expect
      .poll(() => page.textContent('#image-error'))
      .toMatch(/widget-1\.1\.0\.bin does not match its SHA-256.*nothing was written to the board/);
    expect(await page.getByRole('button', { name: 'Install', exact: true }).isDisabled()).toBe(
      true,
    );
    expect(await page.textContent('#dev-app')).toBe('version 1.0.0');
    expect(await page.textContent('#dev-mode')).toBe('application running');
    expect(await page.textContent('#log')).not.toMatch(/erase:|bootloader open/);
    await page.screenshot({ path: `${shots}21-catalog-hash-mismatch.png`, fullPage: true });

    // Every catalog request was answered in the page: none reached the server.
    expect(session.server.requests.filter((p) => p.startsWith('/releases/'))).toEqual([]);
    await context.close();
    expect(errors).toEqual([]);
  });

  test('a server error, a missing manifest and a malformed one are each explained', async () => {
    const { context, page } = await newPage(session.browser, errors);
    await useMsw(page, answers);
    await open(page, '/releases/down/manifest.json');
    await expect
      .poll(() => page.textContent('#catalog-status'))
      .toMatch(
        /^No releases: .*\/releases\/down\/manifest\.json answered HTTP 500 .*try again later/,
      );

    await open(page, '/releases/gone/manifest.json');
    await expect
      .poll(() => page.textContent('#catalog-status'))
      .toMatch(/answered HTTP 404 .*the address is wrong .*check the \?manifest= link/);

    await open(page, '/releases/broken/manifest.json');
    await expect
      .poll(() => page.textContent('#catalog-status'))
      .toMatch(
        /is not valid: releases\[0\]\.builds\.blackpill-f411\[0\]\.sha256 must be 64 hex digits/,
      );
    expect(await page.locator('#releases li').count()).toBe(0);
    await page.screenshot({ path: `${shots}22-catalog-malformed.png`, fullPage: true });
    expect(session.server.requests.filter((p) => p.startsWith('/releases/'))).toEqual([]);
    await context.close();
    expect(errors).toEqual([]);
  });
});
