/**
 * Release catalogs: a JSON manifest (schema version 1, docs/web.md) listing a product's
 * releases per channel and, per board id, the files to flash with their SHA-256 and size, and
 * optionally the product's Ed25519 public keys (its builds are then signed with one of them).
 * Every file is checked against its SHA-256 before anything is sent to a board.
 */

export const MANIFEST_SCHEMA_VERSION = 1;
export const CHANNELS = ['stable', 'beta', 'nightly'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface CatalogFile {
  /** Resolved against the manifest's URL. */
  readonly url: string;
  /** An image-tools format name, or 'auto' to detect it from the content. */
  readonly format: string;
  /** Where a raw binary goes; other formats carry their addresses. */
  readonly address?: number;
  readonly sha256: string;
  readonly size: number;
}

export interface Release {
  readonly version: string;
  readonly channel: Channel;
  readonly date: string;
  readonly notes: string;
  /** Per board id (`blackpill-f411`). */
  readonly builds: Readonly<Record<string, readonly CatalogFile[]>>;
}

export interface Catalog {
  readonly url: string;
  readonly product: string;
  /**
   * The product's Ed25519 public keys (raw, 32 bytes; `keys` in the manifest as 64 hex
   * digits, as `stm32dfu keygen` prints them). Empty: the catalog makes no signing promise.
   */
  readonly keys: readonly Uint8Array[];
  readonly releases: readonly Release[];
}

export type CatalogErrorCode =
  | 'FETCH_FAILED'
  | 'HTTP_STATUS'
  | 'MALFORMED'
  | 'UNSUPPORTED_SCHEMA'
  | 'SIZE_MISMATCH'
  | 'HASH_MISMATCH';

/** A catalog or a release file that cannot be used: what is wrong and what to do. */
export class CatalogError extends Error {
  override readonly name = 'CatalogError';
  constructor(
    readonly code: CatalogErrorCode,
    message: string,
    readonly url: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Check a parsed manifest and resolve its file URLs; `CatalogError` MALFORMED names the field. */
export function parseManifest(data: unknown, manifestUrl: string): Catalog {
  const bad = (where: string, what: string) =>
    new CatalogError(
      'MALFORMED',
      `The release catalog at ${manifestUrl} is not valid: ${where} ${what}. Ask its publisher to fix it (the format is in docs/web.md).`,
      manifestUrl,
    );
  if (!isObject(data)) throw bad('the document', 'is not a JSON object');
  if (data.schema !== MANIFEST_SCHEMA_VERSION) {
    if (typeof data.schema === 'number' && data.schema > MANIFEST_SCHEMA_VERSION) {
      throw new CatalogError(
        'UNSUPPORTED_SCHEMA',
        `The release catalog at ${manifestUrl} uses schema ${data.schema}; this flasher reads schema ${MANIFEST_SCHEMA_VERSION}. Reload the page to get a newer flasher.`,
        manifestUrl,
      );
    }
    throw bad('"schema"', `must be ${MANIFEST_SCHEMA_VERSION}`);
  }
  if (typeof data.product !== 'string' || !data.product) throw bad('"product"', 'must be a name');
  if (!Array.isArray(data.releases)) throw bad('"releases"', 'must be a list');
  // Optional since schema 1 (older flashers ignore it): the product's signing keys.
  const keys: Uint8Array[] = [];
  if (data.keys !== undefined) {
    if (!Array.isArray(data.keys) || data.keys.length > 4)
      throw bad('"keys"', 'must be a list of 1 to 4 public keys');
    data.keys.forEach((k: unknown, i) => {
      if (typeof k !== 'string' || !/^[0-9a-f]{64}$/i.test(k))
        throw bad(
          `keys[${i}]`,
          'must be a raw Ed25519 public key: 64 hex digits, as stm32dfu keygen prints it',
        );
      keys.push(Uint8Array.from(k.match(/../g)!, (b) => Number.parseInt(b, 16)));
    });
  }
  const releases = data.releases.map((r: unknown, i): Release => {
    const at = `releases[${i}]`;
    if (!isObject(r)) throw bad(at, 'is not an object');
    if (typeof r.version !== 'string' || !/^\d+\.\d+\.\d+/.test(r.version))
      throw bad(`${at}.version`, 'must be a version like 1.2.3');
    if (!CHANNELS.includes(r.channel as Channel))
      throw bad(`${at}.channel`, `must be one of ${CHANNELS.join(', ')}`);
    if (!isObject(r.builds)) throw bad(`${at}.builds`, 'must map board ids to file lists');
    const builds: Record<string, CatalogFile[]> = {};
    for (const [board, files] of Object.entries(r.builds)) {
      if (!Array.isArray(files)) throw bad(`${at}.builds.${board}`, 'must be a list of files');
      builds[board] = files.map((f: unknown, j) => {
        const fat = `${at}.builds.${board}[${j}]`;
        if (!isObject(f)) throw bad(fat, 'is not an object');
        if (typeof f.path !== 'string' || !f.path)
          throw bad(`${fat}.path`, 'must be a path or URL');
        if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(f.sha256))
          throw bad(`${fat}.sha256`, 'must be 64 hex digits');
        if (!Number.isSafeInteger(f.size) || (f.size as number) <= 0)
          throw bad(`${fat}.size`, 'must be the file size in bytes');
        if (f.address !== undefined && !Number.isSafeInteger(f.address))
          throw bad(`${fat}.address`, 'must be a number');
        return {
          url: new URL(f.path, manifestUrl).href,
          format: typeof f.format === 'string' ? f.format : 'auto',
          sha256: f.sha256.toLowerCase(),
          size: f.size as number,
          ...(f.address === undefined ? {} : { address: f.address as number }),
        };
      });
    }
    return {
      version: r.version,
      channel: r.channel as Channel,
      date: typeof r.date === 'string' ? r.date : '',
      notes: typeof r.notes === 'string' ? r.notes : '',
      builds,
    };
  });
  return { url: manifestUrl, product: data.product, keys, releases };
}

async function get(url: string, what: string, signal?: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { signal: signal ?? null, cache: 'no-cache' });
  } catch (cause) {
    if (signal?.aborted) throw cause;
    throw new CatalogError(
      'FETCH_FAILED',
      `Could not reach ${url} for ${what}: check the network connection, or that the server allows this page to read it (CORS).`,
      url,
      { cause },
    );
  }
  if (!response.ok) {
    const hint =
      response.status === 404
        ? 'the address is wrong or the file was removed; check the ?manifest= link'
        : response.status >= 500
          ? 'the server failed; try again later'
          : 'the server refused the request';
    throw new CatalogError(
      'HTTP_STATUS',
      `${url} answered HTTP ${response.status} for ${what}: ${hint}.`,
      url,
    );
  }
  return response;
}

/** Fetch and check a manifest. */
export async function loadCatalog(url: string, signal?: AbortSignal): Promise<Catalog> {
  const response = await get(url, 'the release catalog', signal);
  let data: unknown;
  try {
    data = await response.json();
  } catch (cause) {
    throw new CatalogError(
      'MALFORMED',
      `The release catalog at ${url} is not JSON. Ask its publisher to fix it (the format is in docs/web.md).`,
      url,
      { cause },
    );
  }
  return parseManifest(data, response.url || url);
}

/** Releases for a board on a channel, newest version first. */
export function releasesFor(catalog: Catalog, board: string, channel: Channel): Release[] {
  return catalog.releases
    .filter((r) => r.channel === channel && (r.builds[board]?.length ?? 0) > 0)
    .sort((a, b) => compareVersions(b.version, a.version));
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split(/[.+-]/).map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The channel's latest release when it is newer than `installed` ("1.2.3"), else undefined. */
export function updateAvailable(
  catalog: Catalog,
  board: string,
  channel: Channel,
  installed: string | undefined,
): Release | undefined {
  const latest = releasesFor(catalog, board, channel)[0];
  if (!latest) return undefined;
  if (installed === undefined) return latest;
  return compareVersions(latest.version, installed) > 0 ? latest : undefined;
}

export function toHex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface DownloadProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

/**
 * Download a release file with progress and check its size and SHA-256 (Web Crypto). A
 * mismatch is a `CatalogError` and the bytes are not returned, so nothing reaches a board.
 */
export async function fetchVerified(
  file: CatalogFile,
  options: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void } = {},
): Promise<Uint8Array> {
  const response = await get(file.url, 'a release file', options.signal);
  const bytes = new Uint8Array(file.size);
  let done = 0;
  const reader = response.body?.getReader();
  if (reader) {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      if (done + value.length > file.size) {
        await reader.cancel();
        throw sizeMismatch(file, `more than ${file.size}`);
      }
      bytes.set(value, done);
      done += value.length;
      options.onProgress?.({ bytesDone: done, bytesTotal: file.size });
    }
  } else {
    const all = new Uint8Array(await response.arrayBuffer());
    if (all.length > file.size) throw sizeMismatch(file, String(all.length));
    bytes.set(all);
    done = all.length;
    options.onProgress?.({ bytesDone: done, bytesTotal: file.size });
  }
  if (done !== file.size) throw sizeMismatch(file, String(done));
  const digest = toHex(await crypto.subtle.digest('SHA-256', bytes));
  if (digest !== file.sha256) {
    throw new CatalogError(
      'HASH_MISMATCH',
      `${file.url} does not match its SHA-256 in the catalog (expected ${file.sha256}, got ${digest}): nothing was written to the board. The file was changed or damaged on the way; try again, and tell the publisher if it persists.`,
      file.url,
    );
  }
  return bytes;
}

function sizeMismatch(file: CatalogFile, got: string): CatalogError {
  return new CatalogError(
    'SIZE_MISMATCH',
    `${file.url} is ${got} bytes, but the catalog says ${file.size}: nothing was written to the board. The file was changed or cut short; try again, and tell the publisher if it persists.`,
    file.url,
  );
}
