/**
 * Run a page in Debian's Chromium: build it with Vite as an application would be built,
 * serve the output on 127.0.0.1 and drive the browser with playwright-core. No browser is
 * downloaded; the one installed by the Debian package `chromium` is used.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { build, defaultClientConditions } from 'vite';

export type BrowserSetupErrorCode =
  | 'CORE_NOT_BUILT'
  | 'CHROMIUM_MISSING'
  | 'PAGE_BUILD_FAILED'
  | 'BROWSER_LAUNCH_FAILED';

/** The browser test could not start: which part is missing and how to get it. */
export class BrowserSetupError extends Error {
  override readonly name = 'BrowserSetupError';
  constructor(
    readonly code: BrowserSetupErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Where Chromium is: $CHROMIUM_PATH, else the Debian package's /usr/bin/chromium. */
export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const chromiumMissingMessage =
  `Chromium not found at ${chromiumPath}: install the Debian package \`chromium\` ` +
  '(apt-get install -y --no-install-recommends chromium) or set CHROMIUM_PATH.';

export function chromiumInstalled(): boolean {
  return existsSync(chromiumPath);
}

/** CI sets CI=true; there a missing browser fails the run instead of skipping it. */
export const inCi = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';

/**
 * Headless, and quiet on the network: no sandbox (root in CI containers), no GPU, no
 * background fetches of updates, components or sync that would stall a machine offline.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!chromiumInstalled()) throw new BrowserSetupError('CHROMIUM_MISSING', chromiumMissingMessage);
  try {
    return await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    });
  } catch (cause) {
    throw new BrowserSetupError(
      'BROWSER_LAUNCH_FAILED',
      `Launching ${chromiumPath} failed (${String(cause)}): run it by hand with ` +
        `\`${chromiumPath} ${CHROMIUM_ARGS.join(' ')} --dump-dom about:blank\` to see why.`,
      { cause },
    );
  }
}

/** A production build of the page in `root` (index.html), in a fresh temporary directory. */
export async function buildPage(root: string): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), 'vb-browser-'));
  try {
    await build({
      root,
      configFile: false,
      logLevel: 'warn',
      // Workspace packages from their TypeScript sources, as the repository's tests do.
      resolve: { conditions: [...defaultClientConditions, '@stm32dfu/source'] },
      build: { outDir, emptyOutDir: true, target: 'es2022', sourcemap: false },
    });
  } catch (cause) {
    await rm(outDir, { recursive: true, force: true });
    throw new BrowserSetupError(
      'PAGE_BUILD_FAILED',
      `Vite could not build ${join(root, 'index.html')} (${String(cause)}).`,
      { cause },
    );
  }
  return outDir;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

export interface StaticServer {
  readonly origin: string;
  /** Every path requested, in order, with the status served. */
  readonly requests: { readonly path: string; readonly status: number }[];
  close(): Promise<void>;
}

/** Serve `dir` on 127.0.0.1 (a secure context, as WebUSB needs) at a free port. */
export async function serveDirectory(dir: string): Promise<StaticServer> {
  const requests: { path: string; status: number }[] = [];
  const root = normalize(dir + sep);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    const send = (status: number, body: Uint8Array | string, type = 'text/plain') => {
      requests.push({ path, status });
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (!file.startsWith(root)) return send(403, 'outside the served directory');
    readFile(file).then(
      (body) => send(200, body, CONTENT_TYPES[extname(file)] ?? 'application/octet-stream'),
      () => send(404, `${path} not found`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
