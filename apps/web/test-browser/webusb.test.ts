import { describe, expect, test } from 'vitest';
import {
  base64,
  browserAndApp,
  exampleApp,
  newPage,
  shots,
  skipBrowser,
  standInState,
  useStandIn,
} from './harness.ts';

describe.skipIf(skipBrowser)('WebUSB in headless Chromium (navigator.usb stand-in)', () => {
  const session = browserAndApp();
  const errors: string[] = [];

  test('connect to a board running the app, install: detach, found again by serial, flash, boot', async () => {
    const { context, page } = await newPage(session.browser, errors);
    await useStandIn(page, { appBase64: base64(await exampleApp('1.2.2')) });
    await page.goto(`${session.server.origin}/`);
    await page.getByRole('button', { name: 'Connect a board' }).click();
    await expect.poll(() => page.textContent('#dev-mode')).toBe('application running');
    expect(await page.textContent('#dev-id')).toMatch(/\(1209:0001\)$/);
    expect(await page.textContent('#dev-serial')).toMatch(/^[0-9A-F]{24}$/);
    expect(await page.textContent('#log')).toContain('connected over WebUSB');

    await page.setInputFiles('#file', {
      name: 'example-app-1.2.3.bin',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(await exampleApp('1.2.3')),
    });
    await expect.poll(() => page.textContent('#image-info')).toMatch(/example-app-1\.2\.3\.bin/);
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
    expect(await page.textContent('#dev-app')).toBe('version 1.2.3 (just installed)');
    expect(await page.textContent('#catalog-status')).toMatch(/the board is up to date/);
    // The chooser was opened once: after DETACH and the leave the board was found by serial.
    expect(await standInState(page)).toMatchObject({ mode: 'application', chooserOpened: 1 });
    await page.screenshot({ path: `${shots}11-webusb-installed.png`, fullPage: true });
    await context.close();
    expect(errors).toEqual([]);
  });
});
