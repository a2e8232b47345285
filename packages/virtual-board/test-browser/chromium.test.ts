/**
 * The virtual board through its main entry in real headless Chromium: the page in page/ is
 * built by Vite (which turns `new URL('../dist/wasm/…', import.meta.url)` into an emitted
 * asset), served on 127.0.0.1, and runs a DfuSe session there; this file checks its report.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dfuseLayoutFor, getLayout, parseDfuseLayout } from '@stm32dfu/layout';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ATTACH_DEBOUNCE_MS, type BoardEvent, BUS_RESET_MS, DFU_STATE } from '../src/index.ts';
import {
  BrowserSetupError,
  buildPage,
  chromiumInstalled,
  chromiumMissingMessage,
  inCi,
  launchChromium,
  type StaticServer,
  serveDirectory,
} from './harness.ts';
import {
  APP_SECTOR,
  BLOCK_SIZE,
  type BrowserRunResult,
  blockPattern,
  MISSING_WASM,
  RELATIVE_WASM,
} from './scenario.ts';

type PageReport = Extract<BrowserRunResult, { ok: true }>;

const pageDir = fileURLToPath(new URL('./page/', import.meta.url));
const builtCore = fileURLToPath(new URL('../dist/wasm/blackpill-f411.wasm', import.meta.url));
const layout = getLayout('blackpill-f411');
/** F411 datasheet typical program time per 32-bit word, as the board models it. */
const WORD_MS = 0.016;

/** Open the page in Chromium and wait for the report it publishes when its session ends. */
async function runPage(url: string, pageErrors: string[]): Promise<BrowserRunResult> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`${m.text()} (${m.location().url})`);
    });
    await page.goto(url);
    const handle = await page.waitForFunction(
      () => (window as { __virtualBoardResult?: BrowserRunResult }).__virtualBoardResult,
      undefined,
      { timeout: 30_000 },
    );
    return (await handle.jsonValue()) as BrowserRunResult;
  } finally {
    await browser.close();
  }
}

// Locally a machine without Chromium skips with the reason; in CI it fails (launchChromium throws).
const skip = !chromiumInstalled() && !inCi;
if (skip) console.warn(`virtual-board browser tests skipped: ${chromiumMissingMessage}`);

describe.skipIf(skip)('the virtual board in headless Chromium, core fetched by URL', () => {
  let outDir: string | undefined;
  let server: StaticServer | undefined;
  let raw: BrowserRunResult | undefined;
  const pageErrors: string[] = [];

  // A setup failure (no browser, build error, page timeout) is kept and fails every test
  // with its message, so the report counts them as failed, not skipped.
  let setupError: unknown;

  beforeAll(async () => {
    const started = performance.now();
    try {
      if (!existsSync(builtCore)) {
        throw new BrowserSetupError(
          'CORE_NOT_BUILT',
          `${builtCore} is missing: run \`pnpm --filter @stm32dfu/virtual-board build\` first.`,
        );
      }
      outDir = await buildPage(pageDir);
      const built = performance.now();
      await mkdir(dirname(join(outDir, RELATIVE_WASM)), { recursive: true });
      await copyFile(builtCore, join(outDir, RELATIVE_WASM));
      server = await serveDirectory(outDir);
      raw = await runPage(`${server.origin}/`, pageErrors);
      const total = performance.now() - started;
      console.log(
        `browser run: vite build ${(built - started).toFixed(0)} ms, ` +
          `chromium + page ${(total - (built - started)).toFixed(0)} ms, total ${total.toFixed(0)} ms`,
      );
    } catch (error) {
      setupError = error;
    }
  }, 90_000);

  afterAll(async () => {
    await server?.close();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  /** The page's report; a failure inside the page fails every test with its message. */
  function report(): PageReport {
    // Loads from cores/ are the last test's business (one of them is meant to fail).
    expect(pageErrors.filter((e) => !e.includes('/cores/'))).toEqual([]);
    if (setupError) throw setupError;
    expect(raw).toMatchObject({ ok: true });
    return raw as PageReport;
  }

  test('the page has no Node globals and fetched the board core as a separate .wasm asset', () => {
    const r = report();
    expect(r.nodeGlobals).toEqual({
      process: 'undefined',
      buffer: 'undefined',
      processOnGlobal: false,
    });
    const wasm = server!.requests.filter((q) => q.path.endsWith('.wasm'));
    // Vite emits the core as /assets/<board>-<hash>.wasm; only the board in use is fetched.
    // The other two are the last test's relative URLs.
    expect(wasm.map((q) => q.path)).toEqual([
      expect.stringMatching(/^\/assets\/blackpill-f411-[\w-]+\.wasm$/),
      `/${RELATIVE_WASM}`,
      `/${MISSING_WASM}`,
    ]);
    expect(wasm[0]!.status).toBe(200);
  });

  test('it enumerates as the stm32dfu bootloader, opens, and answers dfuIDLE with its flash layout', () => {
    const r = report();
    expect(r.mode).toBe('bootloader');
    expect(r.enumeratedAtMs).toBeGreaterThanOrEqual(ATTACH_DEBOUNCE_MS + BUS_RESET_MS);
    expect(r.enumeratedAtMs).toBeLessThan(500);
    expect(r.device).toMatchObject({ vendorId: 0x1209, productId: 0x0001, opened: true });
    expect(r.device.serialNumber).toMatch(/^[0-9A-F]{24}$/);
    expect(r.statusAfterOpen).toEqual({ status: 0, pollTimeout: 0, state: DFU_STATE.dfuIDLE });

    // The layout dfu-util lists: the bootloader's sectors read-only, the application's writable.
    expect(r.interfaceName).toBe(dfuseLayoutFor(layout));
    const sectors = parseDfuseLayout(r.interfaceName!).sectors;
    expect(sectors.find((s) => s.start === 0x08000000)).toMatchObject({ writable: false });
    expect(sectors.find((s) => s.start === APP_SECTOR)).toMatchObject({
      size: 16 * 1024,
      erasable: true,
      writable: true,
    });
  });

  test('raw DfuSe requests erase one application sector, write one block and read it back', () => {
    const r = report();
    // Erase announces the 16 kB sector's datasheet time as bwPollTimeout.
    expect(r.statusAfterEraseCommand).toEqual({
      status: 0,
      pollTimeout: 250,
      state: DFU_STATE.dfuDNBUSY,
    });
    expect(r.statusAfterErase).toMatchObject({ status: 0, state: DFU_STATE.dfuDNLOAD_IDLE });
    expect(r.statusAfterSetAddress).toMatchObject({ status: 0, state: DFU_STATE.dfuDNLOAD_IDLE });
    expect(r.download).toEqual({ status: 'ok', bytesWritten: BLOCK_SIZE });
    expect(r.statusAfterDownload).toMatchObject({ status: 0, state: DFU_STATE.dfuDNLOAD_IDLE });
    expect(r.statusAfterAbort).toMatchObject({ status: 0, state: DFU_STATE.dfuIDLE });
    expect(r.upload.status).toBe('ok');
    expect(Uint8Array.from(r.upload.bytes)).toEqual(blockPattern());
  });

  test('the event log shows the boot, the enumeration, the erase and the programming in order', () => {
    const r = report();
    const of = <T extends BoardEvent['type']>(type: T) =>
      r.events.filter((e): e is Extract<BoardEvent, { type: T }> => e.type === type);

    expect(of('boot')).toEqual([
      expect.objectContaining({ mode: 'bootloader', verdict: 'no-app' }),
    ]);
    expect(of('enumerate')).toEqual([
      expect.objectContaining({
        mode: 'bootloader',
        vendorId: 0x1209,
        productId: 0x0001,
        serialNumber: r.device.serialNumber,
      }),
    ]);
    const sector = layout.partitions.application.sectors[1]!;
    expect(sector.start).toBe(APP_SECTOR);
    expect(of('erase')).toEqual([
      expect.objectContaining({
        address: APP_SECTOR,
        size: sector.size,
        sector: sector.index,
        durationMs: 250,
      }),
    ]);

    const programs = of('program');
    expect(programs.length).toBeGreaterThan(0);
    expect(programs.every((p) => p.ok)).toBe(true);
    // The core programs at most 64 bytes per main-loop pass (BL_PROGRAM_SLICE).
    expect(programs.every((p) => p.size > 0 && p.size <= 64)).toBe(true);
    expect(programs.every((p) => p.durationMs === (p.size / 4) * WORD_MS)).toBe(true);
    // Consecutive slices that cover exactly the written block.
    let next = APP_SECTOR;
    for (const p of programs) {
      expect(p.address).toBe(next);
      next += p.size;
    }
    expect(next).toBe(APP_SECTOR + BLOCK_SIZE);

    const firstOf = (type: BoardEvent['type']) => r.events.find((e) => e.type === type)!.t;
    expect(firstOf('boot')).toBeLessThanOrEqual(firstOf('enumerate'));
    expect(firstOf('enumerate')).toBeLessThanOrEqual(firstOf('erase'));
    expect(firstOf('erase') + 250).toBeLessThanOrEqual(firstOf('program'));
    expect(r.events.map((e) => e.t)).toEqual(r.events.map((e) => e.t).toSorted((a, b) => a - b));
  });

  test('options.wasm as a URL is relative to the page; a missing one is a WASM_LOAD_FAILED naming it', () => {
    const r = report();
    expect(pageErrors.filter((e) => e.includes('/cores/'))).toEqual([
      expect.stringContaining(`${server!.origin}/${MISSING_WASM}`),
    ]);
    expect(r.relativeWasmBoard).toEqual({ mode: 'bootloader', vendorId: 0x1209 });
    expect(server!.requests).toContainEqual({ path: `/${RELATIVE_WASM}`, status: 200 });
    expect(r.missingWasmError).toMatchObject({
      name: 'VirtualBoardError',
      code: 'WASM_LOAD_FAILED',
    });
    expect(r.missingWasmError.message).toContain(`${server!.origin}/${MISSING_WASM}`);
    expect(r.missingWasmError.message).toContain('HTTP 404');
  });
});
