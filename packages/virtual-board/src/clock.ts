import { VirtualBoardError } from './errors.js';
import type { Clock } from './usb-types.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** A timer set with `VirtualClock.schedule`. */
export interface TimerHandle {
  /** Keep the timer from firing; nothing happens if it already has. */
  cancel(): void;
}

/**
 * Virtual time shared by the host side (sleeps, transfers) and the board (flash operations,
 * re-enumeration, fault timers). `sleep` advances time at once and resolves on a microtask,
 * so a flash that takes seconds on the chip takes milliseconds of real time and its virtual
 * duration is the same on every run.
 *
 * While advancing, the clock fires the board's timers in time order, and calls the tick
 * listener at every whole millisecond while it asks for ticks (a main loop with work to do).
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];
  #tick: (() => void) | undefined;
  #wantsTicks: () => boolean = () => false;
  #advancing = false;

  constructor(start = 0) {
    checkTime(start, 'start');
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) {
      return Promise.reject(
        new VirtualBoardError(
          'INVALID_TIME',
          `clock.sleep(${ms}): the duration must be a finite number of milliseconds ≥ 0.`,
          { value: String(ms) },
        ),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const target = this.#now + ms;
    // A microtask, not a timer: callers interleave as with real sleeps, without waiting.
    return Promise.resolve().then(() => {
      if (signal?.aborted) throw signal.reason;
      this.advanceTo(target);
    });
  }

  /** Move time forward to `target`, firing timers and ticks on the way. Never goes back. */
  advanceTo(target: number): void {
    checkTime(target, 'target');
    if (this.#advancing) {
      // A timer or tick that advances time would reorder events; the board never does.
      throw new VirtualBoardError(
        'INVALID_TIME',
        'The virtual clock was advanced from inside one of its own timers.',
      );
    }
    this.#advancing = true;
    try {
      for (;;) {
        this.#fireDue();
        if (this.#now >= target) break;
        let next = target;
        const timer = this.#timers[0];
        if (timer && timer.at < next) next = timer.at;
        if (this.#tick && this.#wantsTicks()) {
          const tickAt = Math.floor(this.#now) + 1;
          if (tickAt < next) next = tickAt;
        }
        this.#now = next;
        this.#fireDue();
        if (this.#tick && Number.isInteger(this.#now) && this.#wantsTicks()) this.#tick();
      }
    } finally {
      this.#advancing = false;
    }
  }

  /** Move time forward by `ms`, firing timers and ticks on the way. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  /** Run `fn` when virtual time reaches `at` (at once on the next advance if already past). */
  schedule(at: number, fn: () => void): TimerHandle {
    checkTime(at, 'timer');
    const timer: Timer = { at: Math.max(at, this.#now), seq: this.#seq++, fn, cancelled: false };
    // Keep the list sorted by (at, seq): timers are few, insertion is cheap.
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1]!.at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        const index = this.#timers.indexOf(timer);
        if (index >= 0) this.#timers.splice(index, 1);
      },
    };
  }

  /** The board's main loop: `tick` runs at whole milliseconds while `wanted()` says so. */
  setTicker(tick: () => void, wanted: () => boolean): void {
    this.#tick = tick;
    this.#wantsTicks = wanted;
  }

  #fireDue(): void {
    for (;;) {
      const timer = this.#timers[0];
      if (!timer || timer.at > this.#now) return;
      this.#timers.shift();
      if (!timer.cancelled) timer.fn();
    }
  }
}

function checkTime(value: number, what: string): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new VirtualBoardError(
      'INVALID_TIME',
      `Virtual ${what} time ${value} is not a finite number of milliseconds ≥ 0.`,
      { value: String(value) },
    );
  }
}
