/**
 * What the browser tests share: Debian's Chromium through playwright-core, the built dist/
 * served on localhost with the test-only pages beside it, the navigator.usb stand-in and msw
 * put into a page before its own scripts run, and bootable stamped images made here.
 */

import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { restampApplication, syntheticApplication } from '@stm32dfu/image-tools/testing';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
// @ts-expect-error: a plain JavaScript module without declarations
import { serve } from '../scripts/serve.mjs';
import type { MockedAnswer } from './pages/msw-page.ts';
import type { StandIn, StandInOptions } from './pages/usb-stand-in.ts';

export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const inCi = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';
export const dist = fileURLToPath(new URL('../dist/', import.meta.url));
export const testBuild = fileURLToPath(new URL('../test-results/test-build/', import.meta.url));
export const appBin = fileURLToPath(
  new URL('../../../firmware/build/blackpill-f411/app/app.bin', import.meta.url),
);
export const shots = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));
export const APP_START = 0x08008000;

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

/** Locally a machine without Chromium skips with the reason; with CI set it fails. */
export const skipBrowser = !existsSync(chromiumPath) && !inCi;
if (skipBrowser)
  console.warn(
    `web browser tests skipped: Chromium not found at ${chromiumPath}; apt-get install -y chromium or set CHROMIUM_PATH.`,
  );

export interface Served {
  origin: string;
  requests: string[];
  close(): Promise<void>;
}

export type Routes = Record<
  string,
  () => Promise<{ status?: number; body?: string | Uint8Array; type?: string }>
>;

export async function launch(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium not found at ${chromiumPath}: apt-get install -y chromium or set CHROMIUM_PATH.`,
    );
  }
  if (!existsSync(`${dist}index.html`))
    throw new Error('apps/web/dist is missing: run the build first.');
  if (!existsSync(appBin)) throw new Error(`${appBin} is missing: build the firmware first.`);
  await mkdir(shots, { recursive: true });
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: ARGS });
}

/** dist/ on localhost, with the test-only pages (test-results/test-build/) behind it. */
export function serveApp(routes: Routes = {}): Promise<Served> {
  return serve(dist, { routes, also: [testBuild] });
}

/** A page (its own context: storage, service workers) that fails the test on page errors. */
export async function newPage(
  browser: Browser,
  errors: string[],
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 1300 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page };
}

declare global {
  interface Window {
    __standIn?: Promise<StandIn>;
  }
}

/**
 * Replace `navigator.usb` in `page` before its scripts run: the chooser hands out a virtual
 * board's device (headless Chromium's real chooser never answers).
 */
export async function useStandIn(page: Page, options: StandInOptions = {}): Promise<void> {
  // A string, not a function: vitest would rewrite a function's import() for Node.
  await page.addInitScript({
    content: `{
      const opts = ${JSON.stringify(options)};
      let standIn;
      const ready = () => {
        standIn ??= import('/__test__/usb-stand-in.js').then((m) => m.createStandIn(opts));
        window.__standIn = standIn;
        return standIn;
      };
      const usb = {
        getDevices: () => ready().then((s) => s.getDevices()),
        requestDevice: (o) => ready().then((s) => s.requestDevice(o)),
        addEventListener: (t, l) => void ready().then((s) => s.addEventListener(t, l)),
        removeEventListener: (t, l) => void ready().then((s) => s.removeEventListener(t, l)),
      };
      Object.defineProperty(navigator, 'usb', { value: usb, configurable: true });
    }`,
  });
}

/** What the stand-in's board is doing now, and how often the page opened the chooser. */
export function standInState(page: Page) {
  return page.evaluate(async () => {
    const s = await window.__standIn;
    if (!s) return undefined;
    return { mode: s.board.mode, chooserOpened: s.chooserOpened, led: s.board.led };
  });
}

/**
 * SHA-256 of the stand-in board's flash: the same before and after when nothing was written.
 * The stand-in starts with the page's first use of `navigator.usb`, here if none came yet.
 */
export function standInFlash(page: Page): Promise<string | undefined> {
  return page.evaluate(async () => {
    const { usb } = navigator as unknown as { usb: { getDevices(): Promise<unknown> } };
    await usb.getDevices();
    return (await window.__standIn)?.flashSha256();
  });
}

/**
 * msw's service worker in `page`, answering `answers` by path. The page's fetches wait until
 * the worker is up, and the app's own service worker is not registered (one worker per scope).
 */
export async function useMsw(page: Page, answers: Record<string, MockedAnswer>): Promise<void> {
  await page.addInitScript({
    content: `{
      const container = navigator.serviceWorker;
      const register = container.register.bind(container);
      container.register = (url, options) =>
        String(url).endsWith('mockServiceWorker.js')
          ? register(url, options)
          : Promise.reject(new DOMException('not in this test', 'SecurityError'));
      const answers = ${JSON.stringify(answers)};
      const ready = import('/__test__/msw-page.js').then((m) => m.startCatalogServer(answers));
      const original = window.fetch.bind(window);
      window.fetch = (input, init) => ready.then(() => original(input, init));
    }`,
  });
}

export const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** A bootable-shaped, stamped application of `size` bytes at APP_START (image-tools' testing). */
export function makeApp(size: number, version: string, seed = 1): Uint8Array {
  return syntheticApplication(size, { seed, version, base: APP_START });
}

/** `bytes` (an application at APP_START) with a new stamp: its CRC and `version`. */
export function restamp(bytes: Uint8Array, version: string): Uint8Array {
  return restampApplication(bytes, { version, base: APP_START });
}

/** The firmware build's example application, stamped again with `version`. */
export async function exampleApp(version: string): Promise<Uint8Array> {
  return restamp(new Uint8Array(await readFile(appBin)), version);
}

/**
 * One Chromium and the built app served on localhost for the tests of a describe block:
 * launched before them, closed after. Read `browser` and `server` inside the tests.
 */
export function browserAndApp(): { readonly browser: Browser; readonly server: Served } {
  const session = {} as { browser: Browser; server: Served };
  beforeAll(async () => {
    session.browser = await launch();
    session.server = await serveApp();
  });
  afterAll(async () => {
    await session.browser?.close();
    await session.server?.close();
  });
  return session;
}
