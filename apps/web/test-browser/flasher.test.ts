/**
 * The built flasher (dist/) in Debian's Chromium through playwright-core: the virtual board
 * path end to end, the example catalog the build writes, and an accessibility check.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { browserAndApp, makeApp, newPage, restamp, shots, skipBrowser } from './harness.ts';

describe.skipIf(skipBrowser)('the flasher in headless Chromium', () => {
  const session = browserAndApp();
  const errors: string[] = [];

  async function open(query = ''): Promise<Page> {
    const { page } = await newPage(session.browser, errors);
    await page.goto(`${session.server.origin}/${query}`);
    return page;
  }

  test('virtual board: the preview before Install, install, then a differential re-flash that skips unchanged sectors', async () => {
    // 64 kB over three sectors (16 kB, 16 kB and half of a 64 kB one); the next version differs
    // in its first sector only (code and stamp), so the other two are skipped as unchanged.
    const first = makeApp(64 * 1024, '2.0.0', 3);
    const changed = first.slice();
    changed[0x400] = (changed[0x400] ?? 0) ^ 0x5a;
    const second = restamp(changed, '2.0.1');
    const mapStates = () =>
      page.$$eval('#map g', (gs) => gs.map((g) => g.getAttribute('data-state')).slice(2, 6));
    const file = (name: string, bytes: Uint8Array) =>
      page.setInputFiles('#file', {
        name,
        mimeType: 'application/octet-stream',
        buffer: Buffer.from(bytes),
      });

    const page = await open();
    await page.getByRole('button', { name: 'Start the virtual board' }).click();
    await expect.poll(() => page.textContent('#dev-mode')).toBe('bootloader (DFU mode)');
    expect(await page.textContent('#dev-app')).toBe('none installed');
    await page.screenshot({ path: `${shots}01-virtual-board.png`, fullPage: true });

    // Before Install: the bootloader is asked, and all three sectors are blank.
    await file('widget-2.0.0.bin', first);
    await expect
      .poll(() => page.textContent('#plan'))
      .toMatch(/^Install will touch: 3 sectors blank, to write; about \d+\.\d s\.$/);
    expect(await mapStates()).toEqual(['write', 'write', 'write', 'untouched']);
    expect(await page.textContent('#image-info')).toBe(
      'widget-2.0.0.bin: binary, 65536 bytes at 0x8008000',
    );
    await page.screenshot({ path: `${shots}02-preview-blank-board.png`, fullPage: true });
    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await expect
      .poll(() => page.textContent('#status'), { timeout: 20_000 })
      .toMatch(
        /^erased 0 kB, wrote 64 kB, skipped 0 kB unchanged, verified \(crc\), application started/,
      );
    expect(await page.textContent('#dev-mode')).toBe('application running');
    expect(await page.textContent('#dev-app')).toBe('version 2.0.0');
    expect(await page.textContent('#log')).toContain('the bootloader started the application');
    await page.screenshot({ path: `${shots}03-installed.png`, fullPage: true });

    // The application is running: the preview says it did not compare.
    await file('widget-2.0.1.bin', second);
    await expect
      .poll(() => page.textContent('#plan'))
      .toMatch(
        /^Planned without comparing \(the application is running; .*\): at most 3 sectors to erase and write; about \d+\.\d s\.$/,
      );
    expect(await mapStates()).toEqual(['erase', 'erase', 'erase', 'untouched']);
    await page.screenshot({ path: `${shots}04-preview-app-running.png`, fullPage: true });

    // Compared in the bootloader: one sector to rewrite, two skipped; still before Install.
    await page.getByRole('button', { name: /Compare with the board/ }).click();
    await expect
      .poll(() => page.textContent('#plan'))
      .toMatch(
        /^Install will touch: 1 sector to erase and write, 2 sectors unchanged, skipped; about \d+\.\d s\.$/,
      );
    expect(await page.textContent('#dev-mode')).toBe('bootloader (DFU mode)');
    expect(await page.textContent('#log')).toContain('sending it into the bootloader (DETACH)');
    expect(await mapStates()).toEqual(['erase', 'skip', 'skip', 'untouched']);
    expect(await page.textContent('#status')).toBe('');
    await page.screenshot({ path: `${shots}05-preview-compared.png`, fullPage: true });

    await page.getByRole('button', { name: 'Install', exact: true }).click();
    await expect
      .poll(() => page.textContent('#status'), { timeout: 20_000 })
      .toMatch(
        /^erased 16 kB, wrote 16 kB, skipped 80 kB unchanged, verified \(crc\), application started/,
      );
    expect(await mapStates()).toEqual(['erase', 'skip', 'skip', 'untouched']);
    expect(await page.textContent('#dev-app')).toBe('version 2.0.1');
    await page.screenshot({ path: `${shots}06-differential.png`, fullPage: true });

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
    await page.getByRole('button', { name: 'Use 1.2.3' }).click();
    await expect.poll(() => page.textContent('#image-info')).toMatch(/example-app-1\.2\.3\.bin/);
    expect(await page.textContent('#log')).toContain('matches the catalog');
    await page.close();
  });

  test('no accessibility violations (axe) on the page, empty and with a board and a plan', async () => {
    const page = await session.browser.newPage({ bypassCSP: true });
    await page.goto(`${session.server.origin}/`);
    const axe = await readFile(fileURLToPath(import.meta.resolve('axe-core/axe.min.js')), 'utf8');
    await page.evaluate(axe);
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Start the virtual board' }).click();
    await page.setInputFiles('#file', {
      name: 'widget.bin',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(makeApp(20 * 1024, '1.0.0')),
    });
    await expect.poll(() => page.textContent('#plan')).toMatch(/^Install will touch/);
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  });
});

async function axeViolations(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const result = await (
      window as unknown as {
        axe: { run(): Promise<{ violations: { id: string; help: string }[] }> };
      }
    ).axe.run();
    return result.violations.map((v) => `${v.id}: ${v.help}`);
  });
}
