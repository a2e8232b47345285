// Serve the built flasher on http://localhost (a secure context, as WebUSB needs).
// `pnpm web` at the repository root runs this; PORT picks the port (default 5173, 0 = any).
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
};

/**
 * Serve `dir`; `routes` answer some paths first (tests use them for failing servers), and
 * files missing from `dir` are looked for in the `also` directories (tests' own pages).
 */
export function serve(dir, { port = 0, host = '127.0.0.1', routes = {}, also = [] } = {}) {
  const roots = [dir, ...also].map((d) => normalize(d + sep));
  const requests = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    requests.push(path);
    const route = routes[path];
    if (route) {
      const { status = 200, body = '', type = 'application/json' } = await route();
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      return res.end(body);
    }
    for (const root of roots) {
      const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
      if (!file.startsWith(root)) {
        res.writeHead(403).end('outside the served directory');
        return;
      }
      try {
        const body = await readFile(file);
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        return res.end(body);
      } catch {}
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`${path} not found`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        origin: `http://${host === '127.0.0.1' ? 'localhost' : host}:${address.port}`,
        requests,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dist = fileURLToPath(new URL('../dist/', import.meta.url));
  try {
    await readFile(join(dist, 'index.html'));
  } catch {
    console.error('apps/web/dist is missing: run `pnpm build` first.');
    process.exit(1);
  }
  const port = Number(process.env.PORT ?? 5173);
  const { origin } = await serve(dist, { port });
  console.log(`stm32dfu flasher: ${origin}/ (Ctrl+C stops it)`);
}
