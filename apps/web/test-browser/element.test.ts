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

describe.skipIf(skipBrowser)('the install element on a plain page', () => {
  const session = browserAndApp();
  const errors: string[] = [];

  test('install, cancel mid-flash (the board stays in the bootloader), install again', async () => {
    const old = await exampleApp('0.0.9');
    const { context, page } = await newPage(session.browser, errors);
    // Slow transfers, as over a busy hub, so the flash lasts long enough to cancel.
    await useStandIn(page, { appBase64: base64(old), transferDelayMs: 40 });
    await page.setViewportSize({ width: 720, height: 360 });
    await page.goto(`${session.server.origin}/embed-example.html`);
    const status = page.locator('stm32dfu-install').getByRole('status');
    const seen: string[] = [];
    await page.exposeFunction('__seen', (text: string) => seen.push(text));
    await page.evaluate(() =>
      document
        .querySelector('stm32dfu-install')
        ?.addEventListener('stm32dfu-status', (e) =>
          (window as unknown as { __seen(t: string): void }).__seen((e as CustomEvent).detail),
        ),
    );
    await page.screenshot({ path: `${shots}30-element.png` });

    await page.getByRole('button', { name: 'Install firmware' }).click();
    await expect.poll(() => status.textContent(), { timeout: 20_000 }).toMatch(/^Writing… /);
    await page.screenshot({ path: `${shots}31-element-writing.png` });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect
      .poll(() => status.textContent())
      .toBe(
        'Cancelled: the board stays in the bootloader. Press the button again to finish the install.',
      );
    expect(await standInState(page)).toMatchObject({ mode: 'bootloader' });
    expect(await page.getByRole('button', { name: 'Cancel' }).isVisible()).toBe(false);
    await page.screenshot({ path: `${shots}32-element-cancelled.png` });

    await page.getByRole('button', { name: 'Install firmware' }).click();
    await expect
      .poll(() => status.textContent(), { timeout: 30_000 })
      .toMatch(
        /^Installed 1\.2\.3: erased \d+ kB, wrote 5 kB, .*verified \(crc\), application started\.$/,
      );
    // The same board, found by serial: the chooser was opened once for both presses.
    expect(await standInState(page)).toMatchObject({ mode: 'application', chooserOpened: 1 });
    expect(seen).toContain('Downloading stm32dfu example application 1.2.3…');
    await page.screenshot({ path: `${shots}33-element-installed.png` });
    await context.close();
    expect(errors).toEqual([]);
  });
});
