/**
 * The WebUSB path in Chromium: navigator.usb is a stand-in whose chooser hands out a virtual
 * board running the example application. Connect, install a new version: the application is
 * detached, the board found again by serial without a second chooser, flashed and started.
 */
import { readFile } from 'node:fs/promises';
import { SparseImage, stampImage } from '@stm32dfu/image-tools';
import { getLayout } from '@stm32dfu/layout';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  APP_START,
  appBin,
  base64,
  launch,
  newPage,
  type Served,
  serveApp,
  shots,
  skipBrowser,
  standInState,
  useStandIn,
} from './harness.ts';

async function exampleApp(version: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(await readFile(appBin));
  const image = stampImage(SparseImage.fromBytes(APP_START, bytes), getLayout('blackpill-f411'), {
    version,
  });
  return image.read(APP_START, bytes.length, 0xff);
}

describe.skipIf(skipBrowser)('WebUSB in headless Chromium (navigator.usb stand-in)', () => {
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

  test('connect to a board running the app, install: detach, found again by serial, flash, boot', async () => {
    const { context, page } = await newPage(browser, errors);
    await useStandIn(page, { appBase64: base64(await exampleApp('0.1.0')) });
    await page.goto(`${server.origin}/`);
    await page.getByRole('button', { name: 'Connect a board' }).click();
    await expect.poll(() => page.textContent('#dev-mode')).toBe('application running');
    expect(await page.textContent('#dev-id')).toMatch(/\(1209:0001\)$/);
    expect(await page.textContent('#dev-serial')).toMatch(/^[0-9A-F]{24}$/);
    expect(await page.textContent('#log')).toContain('connected over WebUSB');

    await page.setInputFiles('#file', {
      name: 'example-app-0.2.0.bin',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(await exampleApp('0.2.0')),
    });
    await expect.poll(() => page.textContent('#image-info')).toMatch(/example-app-0\.2\.0\.bin/);
    // Before Install: the running application cannot be compared, and the page says so.
    await expect
      .poll(() => page.textContent('#plan'))
      .toMatch(/^Planned without comparing \(the application is running; .*at most 1 sector/);
    await page.screenshot({ path: `${shots}10-webusb-connected.png`, fullPage: true });

    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await expect
      .poll(() => page.textContent('#status'), { timeout: 30_000 })
      .toMatch(/verified \(crc\), application started/);
    const log = (await page.textContent('#log')) ?? '';
    expect(log).toContain('sending it into the bootloader (DETACH)');
    expect(log).toMatch(/bootloader open: serial [0-9A-F]{24}/);
    await expect.poll(() => page.textContent('#dev-mode')).toBe('application running');
    expect(await page.textContent('#dev-app')).toBe('version 0.2.0 (just installed)');
    expect(await page.textContent('#catalog-status')).toMatch(/the board is up to date/);
    // The chooser was opened once: after DETACH and the leave the board was found by serial.
    expect(await standInState(page)).toMatchObject({ mode: 'application', chooserOpened: 1 });
    await page.screenshot({ path: `${shots}11-webusb-installed.png`, fullPage: true });
    await context.close();
    expect(errors).toEqual([]);
  });
});
