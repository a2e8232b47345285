/**
 * The virtual board in IndexedDB, so a reload keeps what was installed: its flash (key: the
 * board id), its OTP area (`<board>:otp`, where the anti-rollback counter lives) and, for a
 * board created locked, the public keys it holds (`<board>:keys`, 64 hex digits each).
 */
const DB = 'stm32dfu-web';
const STORE = 'virtual-flash';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run<T>(mode: IDBTransactionMode, work: (s: IDBObjectStore) => IDBRequest<T>) {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = work(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
}

export async function loadFlash(board: string): Promise<Uint8Array | undefined> {
  if (typeof indexedDB === 'undefined') return undefined;
  const value = await run<unknown>('readonly', (s) => s.get(board));
  return value instanceof Uint8Array ? value : undefined;
}

export async function saveFlash(board: string, flash: Uint8Array): Promise<void> {
  if (typeof indexedDB === 'undefined') return;
  await run('readwrite', (s) => s.put(flash.slice(), board));
}

export async function forgetFlash(board: string): Promise<void> {
  if (typeof indexedDB === 'undefined') return;
  await run('readwrite', (s) => s.delete(board));
}

export async function loadOtp(board: string): Promise<Uint8Array | undefined> {
  if (typeof indexedDB === 'undefined') return undefined;
  const value = await run<unknown>('readonly', (s) => s.get(`${board}:otp`));
  return value instanceof Uint8Array ? value : undefined;
}

export async function saveOtp(board: string, otp: Uint8Array): Promise<void> {
  if (typeof indexedDB === 'undefined') return;
  await run('readwrite', (s) => s.put(otp.slice(), `${board}:otp`));
}

/** The keys a locked virtual board was created with; undefined: it was not locked. */
export async function loadKeys(board: string): Promise<string[] | undefined> {
  if (typeof indexedDB === 'undefined') return undefined;
  const value = await run<unknown>('readonly', (s) => s.get(`${board}:keys`));
  return Array.isArray(value) && value.every((k) => typeof k === 'string') ? value : undefined;
}

export async function saveKeys(board: string, keys: readonly string[] | undefined): Promise<void> {
  if (typeof indexedDB === 'undefined') return;
  if (keys) await run('readwrite', (s) => s.put([...keys], `${board}:keys`));
  else await run('readwrite', (s) => s.delete(`${board}:keys`));
}
