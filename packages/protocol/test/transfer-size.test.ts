/**
 * The host engine against our bootloader announcing a small wTransferSize, as many DFU
 * devices do (64, 256, 1024): the virtual board runs the real C core with that profile.
 */
import { createVirtualBoard } from '@stm32dfu/virtual-board/node';
import { describe, expect, it } from 'vitest';
import {
  DeviceGoneError,
  download,
  type ProgressEvent,
  planDownload,
  upload,
} from '../src/index.ts';
import { makeApp, restamp } from './app-image.ts';
import {
  backToDfu,
  flashDifference,
  flashOpsSince,
  imageOf as imageAt,
  openBootloader,
  waitForMode,
} from './board-helpers.ts';

const APP_BASE = 0x08008000;
const APP_SIZE = 480 * 1024;
const APP_END = APP_BASE + APP_SIZE;
/** Our bootloader keeps [APP_BASE, APP_BASE + 2048) in RAM until manifestation. */
const HELD_END = APP_BASE + 2048;

const imageOf = (data: Uint8Array) => imageAt(data, APP_BASE);

describe.each([64, 256, 1024])('our bootloader announcing wTransferSize %i', (size) => {
  const board = () => createVirtualBoard({ transferSize: size });

  it('flashes a full application in blocks of that size, verifies, leaves, and the application runs', async () => {
    const b = await board();
    const device = await openBootloader(b);
    expect(device.transferSize).toBe(size);
    const app = makeApp(APP_SIZE, size);
    const events: ProgressEvent[] = [];
    const result = await download(device, imageOf(app), {
      leave: true,
      onProgress: (e) => events.push(e),
    });
    expect(result.plan.blocks).toHaveLength(APP_SIZE / size);
    expect(result.plan.blocks.every((block) => block.data.length === size)).toBe(true);
    expect(result.verified).toBe('crc');
    expect(result.left).toBe(true);
    expect(events.filter((e) => e.phase === 'write').at(-1)).toMatchObject({
      bytesDone: APP_SIZE,
      bytesTotal: APP_SIZE,
    });
    await waitForMode(b, 'application');
    expect(flashDifference(b, APP_BASE, app)).toBeNull();
    // Never brick: the vector table and stamp are the last bytes programmed.
    const programs = flashOpsSince(b, 'program', 0);
    const lastOutside = programs.findLastIndex((a) => a >= HELD_END);
    expect(lastOutside).toBeGreaterThan(0);
    expect(programs.slice(lastOutside + 1).every((a) => a < HELD_END)).toBe(true);
  });

  it('re-flashes only the sectors that changed', async () => {
    const b = await board();
    const first = makeApp(APP_SIZE, 11);
    await download(await openBootloader(b), imageOf(first), { leave: true });
    // Bytes in sector 4 (0x08010000, 64 kB); the new stamp CRC changes sector 2 as well.
    const changed = first.slice();
    changed.fill(0xa5, 0x8000 + 333, 0x8000 + 999);
    const second = restamp(changed);
    const device = await backToDfu(b);
    expect(device.transferSize).toBe(size);
    const plan = await planDownload(device, imageOf(second));
    expect(plan.sectors.filter((s) => s.action === 'erase').map((s) => s.start)).toEqual([
      0x08008000, 0x08010000,
    ]);
    const mark = b.events.length;
    const result = await download(device, imageOf(second), { leave: true });
    expect(result.plan.writeBytes).toBe(16 * 1024 + 64 * 1024);
    expect(flashOpsSince(b, 'erase', mark)).toEqual([0x08008000, 0x08010000]);
    // Nothing was programmed in the sectors that were skipped.
    expect(
      flashOpsSince(b, 'program', mark).every(
        (a) => (a >= 0x08008000 && a < 0x0800c000) || (a >= 0x08010000 && a < 0x08020000),
      ),
    ).toBe(true);
    await waitForMode(b, 'application');
    expect(flashDifference(b, APP_BASE, second)).toBeNull();
  });

  it('uploads odd-length ranges that start and end inside blocks', async () => {
    const b = await board();
    const device = await openBootloader(b);
    const data = makeApp(64 * 1024, 21);
    await download(device, imageOf(data));
    const ranges = [
      // Past the first 2 kB, which our bootloader holds back until manifestation.
      { address: APP_BASE + 4099, length: 5001 },
      { address: APP_BASE + 0xc000 + 1, length: 3 * size + 7 },
      // Up to the last byte of the flash, in a sector the download did not touch.
      { address: APP_END - 777, length: 777 },
    ];
    const read = await upload(device, ranges);
    expect(read.segments).toEqual([
      { address: APP_BASE + 4099, data: data.subarray(4099, 4099 + 5001) },
      { address: APP_BASE + 0xc000 + 1, data: data.subarray(0xc001, 0xc001 + 3 * size + 7) },
      { address: APP_END - 777, data: new Uint8Array(777).fill(0xff) },
    ]);
  });

  it('recovers from a power cut mid-download: the board stays in the bootloader and a re-flash works', async () => {
    const b = await board();
    let device = await openBootloader(b);
    await download(device, imageOf(makeApp(APP_SIZE, 31)), { leave: true });
    device = await backToDfu(b);
    const fresh = makeApp(APP_SIZE, 32);
    // Past the six erases, well into the data blocks.
    b.faults.cutPowerAfterFlashOps(6 + 300);
    const error = await download(device, imageOf(fresh)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceGoneError);
    expect(b.events.some((e) => e.type === 'fault' && e.fault === 'power-cut')).toBe(true);
    b.power(false);
    b.power(true);
    // The old image was erased and the new one is incomplete: no application to start.
    device = await openBootloader(b);
    expect(b.events.findLast((e) => e.type === 'boot')).toMatchObject({
      mode: 'bootloader',
      verdict: 'no-app',
    });
    expect(device.transferSize).toBe(size);
    const result = await download(device, imageOf(fresh), { leave: true });
    expect(result.left).toBe(true);
    await waitForMode(b, 'application');
    expect(flashDifference(b, APP_BASE, fresh)).toBeNull();
  });
});
