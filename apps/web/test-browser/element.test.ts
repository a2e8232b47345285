import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import {
  base64,
  browserAndApp,
  exampleApp,
  makeApp,
  newPage,
  shots,
  skipBrowser,
  standInFlash,
  standInState,
  useMsw,
  useStandIn,
} from './harness.ts';
import { file, manifest, publicKeyHex, release, signed } from './signed-fixtures.ts';

/** Every `stm32dfu-status` event's text the element on `page` sends from now on. */
async function statusEvents(page: Page): Promise<string[]> {
  const seen: string[] = [];
  await page.exposeFunction('__seen', (text: string) => seen.push(text));
  await page.evaluate(() =>
    document
      .querySelector('stm32dfu-install')
      ?.addEventListener('stm32dfu-status', (e) =>
        (window as unknown as { __seen(t: string): void }).__seen((e as CustomEvent).detail),
      ),
  );
  return seen;
}

// Widget's releases for a locked board: unsigned, signed with counter 1, signed with counter 2.
const unsigned = makeApp(8192, '2.0.0', 31);
const v100 = signed('1.0.0', 1, 32);
const v110 = signed('1.1.0', 2, 33);
const answers = {
  // A catalog that lists no keys: the board's record alone makes the element refuse.
  '/releases/widget/unsigned.json': manifest([release('2.0.0', unsigned)], false),
  '/releases/widget/latest.json': manifest([release('1.0.0', v100), release('1.1.0', v110)]),
  // A catalog whose latest is older than what the board runs: rolled back.
  '/releases/widget/old.json': manifest([release('1.0.0', v100)]),
  '/releases/widget/widget-2.0.0.bin': file(unsigned),
  '/releases/widget/widget-1.0.0.bin': file(v100),
  '/releases/widget/widget-1.1.0.bin': file(v110),
};

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
    const seen = await statusEvents(page);
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

  test('a locked board: an unsigned and a rolled-back release refused with nothing written, the signed one installed', async () => {
    const { context, page } = await newPage(session.browser, errors);
    await useStandIn(page, { signingKeys: [publicKeyHex] });
    await useMsw(page, answers);
    await page.setViewportSize({ width: 720, height: 360 });
    await page.goto(`${session.server.origin}/embed-example.html`);
    const element = page.locator('stm32dfu-install');
    const status = element.getByRole('status');
    const seen = await statusEvents(page);
    /** Point the element at `catalog` (as an embedding site would) and press it. */
    const install = async (catalog: string) => {
      await element.evaluate((el, url) => el.setAttribute('manifest', url), catalog);
      await page.getByRole('button', { name: 'Install firmware' }).click();
    };
    const blank = await standInFlash(page);
    expect(await standInState(page)).toMatchObject({ mode: 'bootloader' });

    const unsignedRefusal =
      'The board requires firmware signed with its keys and would refuse this image: The image is not signed: no signature trailer follows the stamped image. Install a signed build, such as a release from the product’s catalog. Nothing was written to the board.';
    await install('/releases/widget/unsigned.json');
    await expect.poll(() => status.textContent(), { timeout: 20_000 }).toBe(unsignedRefusal);
    expect(seen.at(-1)).toBe(unsignedRefusal);
    expect(seen.join('\n')).not.toMatch(/Erasing|Writing/);
    // Found in the bootloader (nothing installed), so left there.
    expect(await standInState(page)).toMatchObject({ mode: 'bootloader' });
    expect(await standInFlash(page)).toBe(blank);
    await page.screenshot({ path: `${shots}34-element-unsigned-refused.png` });

    await install('/releases/widget/latest.json');
    await expect
      .poll(() => status.textContent(), { timeout: 30_000 })
      .toMatch(/^Installed 1\.1\.0: .*verified \(crc\), application started\.$/);
    expect(await standInState(page)).toMatchObject({ mode: 'application', chooserOpened: 1 });
    const installed = await standInFlash(page);
    expect(installed).not.toBe(blank);

    // The board runs 1.1.0 (counter 2): the element sends it into the bootloader, reads its
    // record there, refuses 1.0.0 before writing and starts 1.1.0 again.
    seen.length = 0;
    await install('/releases/widget/old.json');
    const rolledBack =
      "The board requires firmware signed with its keys and would refuse this image: The image's security counter is 1, below the board's 2: the board refuses older firmware (anti-rollback). Install a newer release. Nothing was written to the board; its application was started again.";
    await expect.poll(() => status.textContent(), { timeout: 20_000 }).toBe(rolledBack);
    expect(seen.at(-1)).toBe(rolledBack);
    expect(seen.join('\n')).not.toMatch(/Erasing|Writing/);
    expect(await standInState(page)).toMatchObject({ mode: 'application', chooserOpened: 1 });
    expect(await standInFlash(page)).toBe(installed);
    await page.screenshot({ path: `${shots}35-element-rolled-back-refused.png` });
    await context.close();
    expect(errors).toEqual([]);
  });
});
