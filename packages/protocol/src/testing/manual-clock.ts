import type { Clock } from '../device.js';

/**
 * A virtual clock for tests: `sleep` moves time forward at once (on a microtask), so polls,
 * deadlines and bwPollTimeout cost no real time, and `sleeps` records every wait so a test
 * can check that the protocol waited as long as the device asked.
 */
export class ManualClock implements Clock {
  #now: number;
  /** Every sleep, in order: when it started and how long it was. */
  readonly sleeps: { at: number; ms: number }[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.sleeps.push({ at: this.#now, ms });
    return Promise.resolve().then(() => {
      if (signal?.aborted) throw signal.reason;
      this.#now += Math.max(0, ms);
    });
  }

  /** Move time forward by hand. */
  advance(ms: number): void {
    this.#now += ms;
  }
}
