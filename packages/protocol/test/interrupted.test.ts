import { createVirtualBoard } from '@stm32dfu/virtual-board/node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AbortError,
  DeviceGoneError,
  DfuDevice,
  detach,
  download,
  findDfuDevice,
  ResetRequiredError,
  realClock,
  TimeoutError,
  type UsbDeviceLike,
  type UsbLike,
} from '../src/index.ts';
import { dfu, ManualClock, type ScriptStep, scriptedDfuDevice } from '../src/testing/index.ts';
import { makeApp } from './app-image.ts';
import { flashDifference, imageOf, openBootloader, waitForMode } from './board-helpers.ts';
import { APP_BASE, OUR_COMMANDS, ourSpec } from './helpers.ts';

/**
 * Reopen a scripted board whose GETSTATUS answers `recovery` (the state an interrupted
 * leave left it in); Get Commands follows when the recovery ends in dfuIDLE.
 */
function boardIn(recovery: ScriptStep[], then: ScriptStep[] = []) {
  const clock = new ManualClock();
  const usb = scriptedDfuDevice({ ...ourSpec, clock });
  const [descriptorHeader, descriptor] = dfu.open(ourSpec, OUR_COMMANDS);
  const getCommands = dfu.open(ourSpec, OUR_COMMANDS).slice(3);
  usb.expect(descriptorHeader!, descriptor!, ...recovery, ...then, ...getCommands);
  return { usb, clock };
}

describe('reopening a board whose leave was interrupted', () => {
  it('waits out dfuMANIFEST for the time the device asks, then opens in dfuIDLE', async () => {
    const { usb, clock } = boardIn([
      dfu.getStatus('dfuMANIFEST', { pollTimeout: 40 }),
      dfu.getStatus('dfuMANIFEST', { pollTimeout: 25 }),
      dfu.getStatus('dfuIDLE'),
    ]);
    const device = await DfuDevice.open(usb, { clock });
    expect(device.commands).toEqual(OUR_COMMANDS);
    expect(clock.sleeps.map((s) => s.ms)).toEqual([40, 25]);
    usb.assertDone();
  });

  it('waits out dfuMANIFEST-SYNC, and clears the errFIRMWARE a failed manifestation ends in', async () => {
    const { usb, clock } = boardIn([
      dfu.getStatus('dfuMANIFEST-SYNC', { pollTimeout: 10 }),
      dfu.getStatus('dfuMANIFEST', { pollTimeout: 30 }),
      dfu.getStatus('dfuERROR', { status: 10 }),
      dfu.clrStatus(),
      dfu.getStatus('dfuIDLE'),
    ]);
    await DfuDevice.open(usb, { clock });
    expect(clock.now()).toBe(40);
    usb.assertDone();
  });

  it('refuses dfuMANIFEST-WAIT-RESET with ResetRequiredError saying to reset or replug, sending nothing else', async () => {
    const { usb, clock } = boardIn([dfu.getStatus('dfuMANIFEST-WAIT-RESET')]);
    const error = (await DfuDevice.open(usb, { clock }).catch(
      (e: unknown) => e,
    )) as ResetRequiredError;
    expect(error).toBeInstanceOf(ResetRequiredError);
    expect(error.code).toBe('RESET_REQUIRED');
    expect(error.stateName).toBe('dfuMANIFEST-WAIT-RESET');
    expect(error.message).toContain('dfuMANIFEST-WAIT-RESET');
    expect(error.message).toMatch(/reset button/);
    expect(error.message).toMatch(/replug/);
    expect(usb.failures).toEqual([]);
    expect(usb.log.filter((e) => e.description.includes('DFU_'))).toHaveLength(1);
  });

  it('gives up with TimeoutError when manifestation outlasts busyTimeoutMs', async () => {
    const { usb, clock } = boardIn([
      dfu.getStatus('dfuMANIFEST', { pollTimeout: 400 }),
      dfu.getStatus('dfuMANIFEST', { pollTimeout: 400 }),
      dfu.getStatus('dfuMANIFEST', { pollTimeout: 400 }),
    ]);
    const error = (await DfuDevice.open(usb, { clock, busyTimeoutMs: 1000 }).catch(
      (e: unknown) => e,
    )) as TimeoutError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.deadlineMs).toBe(1000);
    expect(error.what).toContain('dfuIDLE');
    expect(clock.now()).toBe(1200);
  });

  it('a device that is not manifestation tolerant leaving the bus is DeviceGoneError naming manifestation', async () => {
    const { usb, clock } = boardIn([
      dfu.getStatus('dfuMANIFEST', { pollTimeout: 5 }),
      dfu.getStatusReply({ type: 'gone' }),
    ]);
    const error = (await DfuDevice.open(usb, { clock }).catch(
      (e: unknown) => e,
    )) as DeviceGoneError;
    expect(error).toBeInstanceOf(DeviceGoneError);
    expect(error.during).toContain('manifestation');
  });

  it('on the virtual board: Ctrl-C while the first block is written, reopen, leave again', async () => {
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    const app = makeApp(64 * 1024);
    const controller = new AbortController();
    // Our bootloader programs the block at APP_BASE last, when the host ends the download.
    board.on('program', (e) => {
      if (e.type === 'program' && e.address === APP_BASE) controller.abort();
    });
    // Without verify, whose ABORT would already write the held block (bootloader-core.md).
    const error = await download(device, imageOf(app, APP_BASE), {
      leave: true,
      verify: false,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    // The ABORT that ends the download writes the held block (bootloader-core.md).
    expect((error as AbortError).phase).toBe('DFU_ABORT');
    expect(board.mode).toBe('bootloader');
    const again = await DfuDevice.open(board.device!, { clock: board.clock });
    expect(board.mode).toBe('bootloader');
    expect(flashDifference(board, APP_BASE, app)).toBeNull();
    await expect(again.leave()).resolves.toEqual({ gone: true, outcome: 'reported' });
    await waitForMode(board, 'application');
  });
});

describe('cancelling a device search', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A bus whose `getDevices()` never answers (a stuck OS enumeration). */
  const stuckBus: UsbLike = {
    getDevices: () => new Promise<UsbDeviceLike[]>(() => {}),
    addEventListener: () => {},
    removeEventListener: () => {},
  } as unknown as UsbLike;

  it('findDfuDevice rejects with AbortError as soon as the signal fires, with no timer or listener left', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const added = vi.spyOn(controller.signal, 'addEventListener');
    const removed = vi.spyOn(controller.signal, 'removeEventListener');
    const search = findDfuDevice(stuckBus, 'ABC123', {
      clock: realClock,
      signal: controller.signal,
    });
    const outcome = search.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(50);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    const error = await outcome;
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).phase).toBe('detach');
    expect(vi.getTimerCount()).toBe(0);
    expect(added.mock.calls.length).toBeGreaterThan(0);
    expect(removed.mock.calls.length).toBe(added.mock.calls.length);
  });

  it('findDfuDevice gives up with TimeoutError at its deadline when getDevices() never answers', async () => {
    const clock = new ManualClock();
    const error = (await findDfuDevice(stuckBus, 'ABC123', { clock, timeoutMs: 3000 }).catch(
      (e: unknown) => e,
    )) as TimeoutError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.what).toContain('ABC123');
    expect(error.deadlineMs).toBe(3000);
    expect(clock.now()).toBe(3000);
  });

  it('an abort during the sleep between polls ends the search at once, even on a clock that ignores signals', async () => {
    let sleeping = 0;
    const deafClock = {
      now: () => 0,
      sleep: () => {
        sleeping++;
        return new Promise<void>(() => {});
      },
    };
    const controller = new AbortController();
    const emptyBus = { getDevices: async () => [], addEventListener: () => {} };
    const search = findDfuDevice(emptyBus, 'ABC123', {
      clock: deafClock,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(sleeping).toBeGreaterThan(0);
    controller.abort();
    expect(await search).toBeInstanceOf(AbortError);
  });

  it('detach: Ctrl-C while the board has not come back rejects with AbortError', async () => {
    const clock = new ManualClock();
    const runtimeSpec = { alternates: ['runtime'], protocol: 1 as const, bmAttributes: 0x0f };
    const app = scriptedDfuDevice({ ...runtimeSpec, clock, serialNumber: 'ABC123' });
    app.expect(...dfu.open(runtimeSpec), dfu.detach(255));
    const runtime = await DfuDevice.open(app, { clock });
    const controller = new AbortController();
    let polls = 0;
    const bus = {
      getDevices: () => {
        polls++;
        queueMicrotask(() => controller.abort());
        return new Promise<UsbDeviceLike[]>(() => {});
      },
      addEventListener: () => {},
    };
    const error = await detach(runtime, { usb: bus, signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AbortError);
    expect(polls).toBe(1);
    app.assertDone();
  });
});
