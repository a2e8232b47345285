import { describe, expect, test } from 'vitest';
import { canInstall, type InstallState, reduce } from '../src/state.ts';

describe('the install state', () => {
  test('Install is offered only with a board and an image, and not while installing', () => {
    let s: InstallState = { kind: 'no-board' };
    expect(canInstall(s, true)).toBe(false);
    s = reduce(s, { type: 'connect' });
    s = reduce(s, { type: 'connected', hasImage: false });
    expect(canInstall(s, false)).toBe(false);
    s = reduce(s, { type: 'image', present: true });
    expect(canInstall(s, true)).toBe(true);
    s = reduce(s, { type: 'start' });
    expect(s.kind).toBe('installing');
    expect(canInstall(s, true)).toBe(false);
    // A second connect while installing changes nothing.
    expect(reduce(s, { type: 'connect' })).toBe(s);
    s = reduce(s, { type: 'failed', message: 'Cancelled.' });
    expect(canInstall(s, true)).toBe(true);
  });
});
