import { createHash } from 'node:crypto';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  type CatalogError,
  fetchVerified,
  loadCatalog,
  releasesFor,
  updateAvailable,
} from '../src/catalog.ts';

const BASE = 'https://releases.example.test/product/';
const firmware = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
const sha = createHash('sha256').update(firmware).digest('hex');

const manifest = (over: Record<string, unknown> = {}) => ({
  schema: 1,
  product: 'Widget',
  releases: [
    {
      version: '1.2.0',
      channel: 'stable',
      date: '2025-03-01',
      notes: 'faster',
      builds: {
        'blackpill-f411': [
          {
            path: 'files/widget-1.2.0.bin',
            format: 'binary',
            address: 0x08008000,
            size: 3000,
            sha256: sha,
          },
        ],
      },
    },
    {
      version: '1.10.0-beta',
      channel: 'beta',
      date: '2025-04-01',
      notes: '',
      builds: { 'blackpill-f411': [{ path: '/abs/widget.bin', size: 3000, sha256: sha }] },
    },
    {
      version: '1.1.0',
      channel: 'stable',
      date: '2025-01-01',
      notes: '',
      builds: { 'blackpill-f411': [{ path: 'files/widget-1.1.0.bin', size: 3000, sha256: sha }] },
    },
  ],
  ...over,
});

const server = setupServer(
  http.get(`${BASE}manifest.json`, () => HttpResponse.json(manifest())),
  http.get(`${BASE}files/widget-1.2.0.bin`, () =>
    HttpResponse.arrayBuffer(firmware.slice().buffer),
  ),
);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

async function failure(promise: Promise<unknown>): Promise<CatalogError> {
  try {
    await promise;
  } catch (error) {
    return error as CatalogError;
  }
  throw new Error('expected a rejection');
}

describe('a release catalog', () => {
  test('lists a channel newest first, with paths resolved against the manifest URL', async () => {
    const catalog = await loadCatalog(`${BASE}manifest.json`);
    expect(catalog.product).toBe('Widget');
    const stable = releasesFor(catalog, 'blackpill-f411', 'stable');
    expect(stable.map((r) => r.version)).toEqual(['1.2.0', '1.1.0']);
    expect(stable[0]!.builds['blackpill-f411']![0]!.url).toBe(`${BASE}files/widget-1.2.0.bin`);
    const beta = releasesFor(catalog, 'blackpill-f411', 'beta');
    expect(beta[0]!.builds['blackpill-f411']![0]!.url).toBe(
      'https://releases.example.test/abs/widget.bin',
    );
  });

  test('offers an update only when the channel has a newer version than the board', async () => {
    const catalog = await loadCatalog(`${BASE}manifest.json`);
    expect(updateAvailable(catalog, 'blackpill-f411', 'stable', '1.1.0')?.version).toBe('1.2.0');
    expect(updateAvailable(catalog, 'blackpill-f411', 'stable', '1.2.0')).toBeUndefined();
    expect(updateAvailable(catalog, 'blackpill-f411', 'beta', '1.9.9')?.version).toBe(
      '1.10.0-beta',
    );
  });

  test('a good file arrives with progress and its bytes', async () => {
    const catalog = await loadCatalog(`${BASE}manifest.json`);
    const file = releasesFor(catalog, 'blackpill-f411', 'stable')[0]!.builds['blackpill-f411']![0]!;
    const seen: number[] = [];
    const bytes = await fetchVerified(file, { onProgress: (p) => seen.push(p.bytesDone) });
    expect(bytes).toEqual(firmware);
    expect(seen.at(-1)).toBe(3000);
  });

  test('a file whose SHA-256 differs is refused and says nothing was written', async () => {
    server.use(
      http.get(`${BASE}files/widget-1.2.0.bin`, () => {
        const tampered = firmware.slice();
        tampered[100] = (tampered[100] ?? 0) ^ 1;
        return HttpResponse.arrayBuffer(tampered.buffer);
      }),
    );
    const catalog = await loadCatalog(`${BASE}manifest.json`);
    const file = releasesFor(catalog, 'blackpill-f411', 'stable')[0]!.builds['blackpill-f411']![0]!;
    const error = await failure(fetchVerified(file));
    expect(error.code).toBe('HASH_MISMATCH');
    expect(error.message).toContain(sha);
    expect(error.message).toMatch(/nothing was written/);
  });

  test('a server error, a 404 and a malformed manifest each say what went wrong', async () => {
    server.use(http.get(`${BASE}manifest.json`, () => new HttpResponse('oops', { status: 503 })));
    const down = await failure(loadCatalog(`${BASE}manifest.json`));
    expect(down.code).toBe('HTTP_STATUS');
    expect(down.message).toMatch(/HTTP 503.*try again later/);

    server.use(http.get(`${BASE}gone.json`, () => new HttpResponse(null, { status: 404 })));
    const gone = await failure(loadCatalog(`${BASE}gone.json`));
    expect(gone.message).toMatch(/HTTP 404.*\?manifest= link/);

    server.use(http.get(`${BASE}manifest.json`, () => HttpResponse.text('{ not json')));
    expect((await failure(loadCatalog(`${BASE}manifest.json`))).message).toMatch(/is not JSON/);

    server.use(
      http.get(`${BASE}manifest.json`, () =>
        HttpResponse.json(
          manifest({
            releases: [
              {
                version: '1.0.0',
                channel: 'stable',
                builds: { b: [{ path: 'x', size: 1, sha256: 'abc' }] },
              },
            ],
          }),
        ),
      ),
    );
    const malformed = await failure(loadCatalog(`${BASE}manifest.json`));
    expect(malformed.code).toBe('MALFORMED');
    expect(malformed.message).toContain('releases[0].builds.b[0].sha256');
  });

  test('a newer schema asks for a newer flasher', async () => {
    server.use(http.get(`${BASE}manifest.json`, () => HttpResponse.json(manifest({ schema: 2 }))));
    expect((await failure(loadCatalog(`${BASE}manifest.json`))).code).toBe('UNSUPPORTED_SCHEMA');
  });
});
