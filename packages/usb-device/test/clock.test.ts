import { describe, expect, it } from 'vitest';
import { isNotFoundError, realClock } from '../src/index.ts';

describe('realClock', () => {
  it('sleeps at least the time asked, on real timers', async () => {
    const start = realClock.now();
    await realClock.sleep(20);
    expect(realClock.now() - start).toBeGreaterThanOrEqual(19);
  });

  it('rejects with the signal’s reason when aborted mid-sleep', async () => {
    const controller = new AbortController();
    const sleeping = realClock.sleep(10_000, controller.signal);
    controller.abort(new Error('user cancelled'));
    await expect(sleeping).rejects.toThrow('user cancelled');
  });

  it('rejects at once when the signal has already aborted', async () => {
    await expect(realClock.sleep(10_000, AbortSignal.abort(new Error('too late')))).rejects.toThrow(
      'too late',
    );
  });
});

describe('isNotFoundError', () => {
  it('recognises the error WebUSB devices reject with once gone, and nothing else', () => {
    const gone = Object.assign(new Error('The device was disconnected.'), {
      name: 'NotFoundError',
    });
    expect(isNotFoundError(gone)).toBe(true);
    expect(isNotFoundError(new Error('NotFoundError'))).toBe(false);
    expect(isNotFoundError(undefined)).toBe(false);
    expect(isNotFoundError({ name: 'InvalidStateError' })).toBe(false);
  });
});
