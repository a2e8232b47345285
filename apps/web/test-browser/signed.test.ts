/**
 * Signed firmware in the page: a virtual board created locked with the catalog's keys, the
 * page's own signature check (Web Crypto, image-tools' verifySignature in the bundle) before
 * anything is written, and the board's anti-rollback counter on the board card.
 */
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import {
  base64,
  browserAndApp,
  dist,
  makeApp,
  newPage,
  shots,
  skipBrowser,
  useMsw,
} from './harness.ts';
import type { MockedAnswer } from './pages/msw-page.ts';
import { file, idText, manifest, publicKey, release, signed } from './signed-fixtures.ts';

const v100 = signed('1.0.0', 1, 11);
const v110 = signed('1.1.0', 2, 12);
// Signed, then changed on the way: the catalog's SHA-256 is the changed file's, so only the
// signature can tell.
const v120 = signed('1.2.0', 3, 13);
v120[4000] = (v120[4000] ?? 0) ^ 0x01;

const answers: Record<string, MockedAnswer> = {
  '/releases/signed/manifest.json': manifest([
    release('1.0.0', v100),
    release('1.1.0', v110),
    release('1.2.0', v120),
  ]),
  '/releases/signed/widget-1.0.0.bin': file(v100),
  '/releases/signed/widget-1.1.0.bin': file(v110),
  '/releases/signed/widget-1.2.0.bin': file(v120),
};

/** SHA-256 of the virtual board's flash as the page kept it in IndexedDB. */
function keptFlash(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open('stm32dfu-web', 1);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const flash = await new Promise<Uint8Array>((resolve, reject) => {
      const q = db.transaction('virtual-flash').objectStore('virtual-flash').get('blackpill-f411');
      q.onsuccess = () => resolve(q.result as Uint8Array);
      q.onerror = () => reject(q.error);
    });
    db.close();
    const digest = new Uint8Array(
      await crypto.subtle.digest('SHA-256', flash as Uint8Array<ArrayBuffer>),
    );
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  });
}

/** A file dropped on the page's drop zone, as a person would drag it there. */
function dropFile(page: Page, name: string, bytes: Uint8Array): Promise<void> {
  return page.evaluate(
    ({ name, data }) => {
      const content = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([content], name));
      document
        .getElementById('drop')
        ?.dispatchEvent(
          new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }),
        );
    },
    { name, data: base64(bytes) },
  );
}

describe.skipIf(skipBrowser)('signed firmware in the page', () => {
  const session = browserAndApp();
  const errors: string[] = [];
  const installButton = (page: Page) => page.getByRole('button', { name: 'Install', exact: true });

  test("a locked virtual board installs the example catalog's signed release and its counter rises", async () => {
    const manifest = JSON.parse(await readFile(`${dist}catalog/manifest.json`, 'utf8'));
    const key = Uint8Array.from(Buffer.from(manifest.keys[0], 'hex'));
    const { context, page } = await newPage(session.browser, errors);
    await page.goto(`${session.server.origin}/`);
    await expect
      .poll(() => page.textContent('#catalog-status'))
      .toBe('Releases of stm32dfu example application');
    await page.getByLabel(/Locked: the virtual board/).check();
    await page.getByRole('button', { name: 'Start the virtual board' }).click();
    await expect.poll(() => page.textContent('#dev-mode')).toBe('bootloader (DFU mode)');
    expect(await page.textContent('#dev-security')).toBe(
      `required: keys ${idText(key)}; security counter 0 of 512`,
    );

    await page.getByRole('button', { name: 'Use 1.2.3' }).click();
    await expect
      .poll(() => page.textContent('#signature'))
      .toBe(
        `Signature checked in this page: key ${idText(key)}, security counter 1 (the board’s is 0); the board accepts it.`,
      );
    expect(await page.textContent('#image-error')).toBe('');
    await page.screenshot({ path: `${shots}40-signed-release-checked.png`, fullPage: true });
    await installButton(page).click();
    await expect
      .poll(() => page.textContent('#status'), { timeout: 20_000 })
      .toMatch(/application started/);
    expect(await page.textContent('#dev-mode')).toBe('application running');
    expect(await page.textContent('#dev-app')).toBe('version 1.2.3');
    expect(await page.textContent('#dev-security')).toBe(
      `required: keys ${idText(key)}; security counter 1 of 512 (after this install)`,
    );
    // Into the bootloader: the counter as the board itself reports it.
    await page.getByRole('button', { name: /Compare with the board/ }).click();
    await expect.poll(() => page.textContent('#dev-mode')).toBe('bootloader (DFU mode)');
    expect(await page.textContent('#dev-security')).toBe(
      `required: keys ${idText(key)}; security counter 1 of 512`,
    );
    await page.screenshot({ path: `${shots}41-signed-installed-counter.png`, fullPage: true });
    await context.close();
    expect(errors).toEqual([]);
  });

  test('an unsigned dropped file, a tampered signed release and a rolled-back one are refused before anything is written', async () => {
    const { context, page } = await newPage(session.browser, errors);
    await useMsw(page, answers);
    const open = async () => {
      await page.goto(`${session.server.origin}/?manifest=/releases/signed/manifest.json`);
      await expect.poll(() => page.textContent('#catalog-status')).toBe('Releases of Widget');
    };
    await open();
    await page.getByLabel(/Locked: the virtual board/).check();
    await page.getByRole('button', { name: 'Start the virtual board' }).click();
    await expect.poll(() => page.textContent('#dev-mode')).toBe('bootloader (DFU mode)');
    expect(await page.textContent('#dev-security')).toBe(
      `required: keys ${idText(publicKey)}; security counter 0 of 512`,
    );

    // An unsigned file dropped on the page.
    await dropFile(page, 'widget-unsigned.bin', makeApp(8192, '9.0.0', 21));
    await expect
      .poll(() => page.textContent('#image-error'))
      .toBe(
        'The board requires firmware signed with its keys and would refuse this image: The image is not signed: no signature trailer follows the stamped image. Install a signed build, such as a release from the product’s catalog. Nothing was written to the board.',
      );
    expect(await page.textContent('#image-info')).toMatch(/^widget-unsigned\.bin: binary/);
    expect(await installButton(page).isDisabled()).toBe(true);
    await page.screenshot({ path: `${shots}42-unsigned-file-refused.png`, fullPage: true });

    // A signed release changed on the way, with a catalog SHA-256 that matches the change.
    await page.getByRole('button', { name: 'Use 1.2.0' }).click();
    await expect
      .poll(() => page.textContent('#image-error'))
      .toMatch(
        /^The board requires firmware signed with its keys and would refuse this image: The image differs from what was signed: .* download it again from its publisher.* Nothing was written to the board\.$/,
      );
    expect(await page.textContent('#log')).toContain('matches the catalog');
    expect(await installButton(page).isDisabled()).toBe(true);
    expect(await page.textContent('#dev-app')).toBe('none installed');
    expect(await page.textContent('#log')).not.toMatch(/bootloader open|erase:|write:/);
    await page.screenshot({ path: `${shots}43-tampered-release-refused.png`, fullPage: true });

    // 1.1.0 (counter 2) installs.
    await page.getByRole('button', { name: 'Use 1.1.0' }).click();
    await expect.poll(() => page.textContent('#signature')).toMatch(/^Signature checked/);
    expect(await page.textContent('#image-error')).toBe('');
    await installButton(page).click();
    await expect
      .poll(() => page.textContent('#status'), { timeout: 20_000 })
      .toMatch(/application started/);
    expect(await page.textContent('#dev-app')).toBe('version 1.1.0');
    expect(await page.textContent('#dev-security')).toMatch(
      /security counter 2 of 512 \(after this install\)$/,
    );
    const installed = await keptFlash(page);

    // After a reload the board is still locked (its keys and OTP kept) and runs 1.1.0: the page
    // cannot read its counter until Install sends it into the bootloader, then refuses 1.0.0
    // and starts 1.1.0 again.
    await open();
    expect(await page.getByLabel(/Locked: the virtual board/).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Start the virtual board' }).click();
    await expect.poll(() => page.textContent('#dev-mode')).toBe('application running');
    expect(await page.textContent('#dev-security')).toMatch(
      /^not known while the application runs/,
    );
    await page.getByRole('button', { name: 'Use 1.0.0' }).click();
    await expect
      .poll(() => page.textContent('#signature'))
      .toMatch(/from the catalog, security counter 1\. The board’s own requirements are checked/);
    await installButton(page).click();
    await expect
      .poll(() => page.textContent('#status'), { timeout: 20_000 })
      .toBe(
        "The board requires firmware signed with its keys and would refuse this image: The image's security counter is 1, below the board's 2: the board refuses older firmware (anti-rollback). Install a newer release. Nothing was written to the board; its application was started again.",
      );
    await expect.poll(() => page.textContent('#dev-mode')).toBe('application running');
    await expect.poll(() => page.textContent('#image-error')).toMatch(/below the board's 2/);
    expect(await page.textContent('#signature')).toBe('');
    expect(await installButton(page).isDisabled()).toBe(true);
    expect(await page.textContent('#dev-app')).toBe('version 1.1.0');
    expect(await page.textContent('#dev-security')).toMatch(/security counter 2 of 512$/);
    const log = (await page.textContent('#log')) ?? '';
    const sinceOpen = log.slice(log.indexOf('bootloader open'));
    expect(sinceOpen).not.toMatch(/erase:|write:/);
    expect(sinceOpen).toContain(
      'nothing was written: the application it was running was started again',
    );
    expect(sinceOpen).toContain('virtual board: the bootloader started the application');
    expect(await keptFlash(page)).toBe(installed);
    await page.screenshot({ path: `${shots}44-rolled-back-refused.png`, fullPage: true });
    await context.close();
    expect(errors).toEqual([]);
  });
});
