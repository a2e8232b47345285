import type { Clock } from './device.js';
import { AbortError, TimeoutError } from './errors.js';

const never = new Promise<never>(() => {});

/** Throw `AbortError` if the caller's signal has fired. */
export function checkAborted(signal: AbortSignal | undefined, phase: string): void {
  if (signal?.aborted) throw new AbortError(phase, signal.reason);
}

/** One turn of the host's event loop (after every pending microtask has run). */
function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/**
 * Wait for `work`, but give up with `TimeoutError` after `ms` on the injected clock and with
 * `AbortError` when `signal` fires. WebUSB transfers take no timeout of their own, so this
 * is what keeps a silent device from hanging an operation.
 *
 * The deadline starts only if the work is still pending after one event-loop turn: a
 * virtual clock advances time as soon as someone sleeps on it, so sleeping on the deadline
 * while a virtual device is answering (on microtasks) would jump its time forward. A real
 * transfer, or a device that never answers, is still pending then and gets the full deadline.
 */
export async function withDeadline<T>(
  work: Promise<T>,
  clock: Clock,
  ms: number,
  what: string,
  signal?: AbortSignal,
  phase = what,
): Promise<T> {
  checkAborted(signal, phase);
  let settled = false;
  const done = () => {
    settled = true;
  };
  work.then(done, done);
  const timer = new AbortController();
  const timeout = (async (): Promise<never> => {
    await nextMacrotask();
    if (settled || timer.signal.aborted) return never;
    try {
      await clock.sleep(ms, timer.signal);
    } catch {
      return never;
    }
    if (settled) return never;
    throw new TimeoutError(what, ms);
  })();
  let onAbort: (() => void) | undefined;
  const aborted = signal
    ? new Promise<never>((_, reject) => {
        onAbort = () => reject(new AbortError(phase, signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
      })
    : never;
  try {
    return await Promise.race([work, timeout, aborted]);
  } finally {
    timer.abort();
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Settle as `work` does, or reject with `AbortError` the moment `signal` fires, whatever
 * `work` does with the signal itself. The listener is removed either way.
 */
export async function untilAborted<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  phase: string,
): Promise<T> {
  if (!signal) return work;
  // Abandoned work may still reject later; that rejection is handled here, not left loose.
  work.catch(() => {});
  checkAborted(signal, phase);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new AbortError(phase, signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Sleep on the injected clock; the caller's signal turns into `AbortError` at once, also
 * on a clock whose `sleep` does not watch the signal.
 */
export async function sleepOrAbort(
  clock: Clock,
  ms: number,
  signal: AbortSignal | undefined,
  phase: string,
): Promise<void> {
  checkAborted(signal, phase);
  if (ms <= 0) return;
  try {
    await untilAborted(clock.sleep(ms, signal), signal, phase);
  } catch (error) {
    if (signal?.aborted) throw new AbortError(phase, signal.reason);
    throw error;
  }
}
