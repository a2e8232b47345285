/**
 * Leaving after a download: success only once the host has seen the outcome (docs/protocol.md,
 * "Leave"). Our bootloader writes the application's first block only at manifestation, so
 * power or the cable lost then leaves the board in the bootloader with no bootable image.
 */
import { createVirtualBoard, type NodeVirtualBoard } from '@stm32dfu/virtual-board/node';
import { describe, expect, it } from 'vitest';
import {
  DfuDevice,
  DfuStatusError,
  download,
  findDfuDevice,
  InstallIncompleteError,
  type UsbConnectionListener,
  type UsbControlSetup,
  type UsbDeviceLike,
  type UsbLike,
} from '../src/index.ts';
import {
  type DfuInterfaceSpec,
  dfu,
  ManualClock,
  type ScriptStep,
  scriptedDfuDevice,
} from '../src/testing/index.ts';
import { makeApp } from './app-image.ts';
import { flashDifference, imageOf, openBootloader, waitForMode } from './board-helpers.ts';
import { APP_BASE, OUR_COMMANDS, ourSpec } from './helpers.ts';

const APP_SIZE = 64 * 1024;
const HELD_BYTES = 2048;
const isHeld = (address: number) => address >= APP_BASE && address < APP_BASE + HELD_BYTES;
const DFU_GETSTATUS = 3;
const dfuIDLE = 2;
const dfuMANIFEST = 7;

interface Manifestation {
  /** Flash operations (erases and program slices) of the download before manifestation. */
  readonly dataOps: number;
  /** Flash operations of manifestation: the held first block, the stamp's magic word last. */
  readonly heldOps: number;
  /** Virtual time of each held-block operation, measured from the start of the download. */
  readonly heldTimes: readonly number[];
}

/**
 * The faulted downloads below run without verify: with it, the ABORT before the device CRC
 * already writes the held block (docs/bootloader-core.md), and manifestation is then only
 * the boot check. Without it, the held block is written during manifestation, where these
 * faults must land.
 *
 * Run the same download on a twin board and read from its event log how many flash
 * operations come before manifestation and when the held block is written.
 */
async function measureManifestation(app: Uint8Array): Promise<Manifestation> {
  const twin = await createVirtualBoard();
  const device = await openBootloader(twin);
  const mark = twin.events.length;
  const t0 = twin.clock.now();
  await download(device, imageOf(app, APP_BASE), { leave: true, verify: false });
  const ops = twin.events
    .slice(mark)
    .flatMap((e) => (e.type === 'erase' || e.type === 'program' ? [e] : []));
  const firstHeld = ops.findIndex((e) => e.type === 'program' && isHeld(e.address));
  const held = ops.slice(firstHeld);
  // Manifestation writes only the held block, and nothing but it follows the data blocks.
  expect(held.every((e) => e.type === 'program' && isHeld(e.address))).toBe(true);
  expect(held.at(-1)).toMatchObject({ address: APP_BASE + 0x1c, size: 4 });
  return { dataOps: firstHeld, heldOps: held.length, heldTimes: held.map((e) => e.t - t0) };
}

/** Bring the board's supply back `ms` after it fails (power cut or cable pulled). */
function restoreAfter(board: NodeVirtualBoard, ms: number): void {
  const off = board.on('*', (e) => {
    const at = board.clock.now() + ms;
    if (e.type === 'power' && !e.on && e.cause === 'fault') {
      off();
      board.clock.schedule(at, () => board.power(true));
    } else if (e.type === 'cable' && !e.plugged) {
      off();
      board.clock.schedule(at, () => board.plug());
    }
  });
}

/** The held-block writes must have been cut short: the stamp's magic is not in flash. */
function expectNoBootableImage(board: NodeVirtualBoard, app: Uint8Array): void {
  expect(board.readFlash(APP_BASE + 0x1c, 4)).toEqual(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
  expect(flashDifference(board, APP_BASE + HELD_BYTES, app.subarray(HELD_BYTES))).toBeNull();
}

describe('download({ leave: true }) on our bootloader (manifestation tolerant)', () => {
  it('a good download: success once the device reports dfuIDLE/OK after manifestation', async () => {
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    expect(device.functional.manifestationTolerant).toBe(true);
    const app = makeApp(APP_SIZE);
    const result = await download(device, imageOf(app, APP_BASE), { leave: true, usb: board.usb });
    expect(result).toMatchObject({ verified: 'crc', left: true, outcome: 'reported' });
    await waitForMode(board, 'application');
    expect(flashDifference(board, APP_BASE, app)).toBeNull();
  });

  it('power cut in the held-block writes: InstallIncompleteError, the board found again in the bootloader', async () => {
    const app = makeApp(APP_SIZE);
    const { dataOps, heldOps } = await measureManifestation(app);
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    const mark = board.events.length;
    // The cut lands in the middle of the first block's writes, after every data block.
    board.faults.cutPowerAfterFlashOps(dataOps + Math.floor(heldOps / 2));
    restoreAfter(board, 500);
    const error = await download(device, imageOf(app, APP_BASE), {
      verify: false,
      leave: true,
      usb: board.usb,
    }).catch((e: unknown) => e);
    const cut = board.events.slice(mark).find((e) => e.type === 'fault');
    expect(cut).toMatchObject({ fault: 'power-cut' });
    expect(isHeld((cut as { address: number }).address)).toBe(true);
    // Not a resolved DownloadResult with `left: true`, as a host that took "gone" for success gave.
    expect(error).toMatchObject({ code: 'INSTALL_INCOMPLETE' });
    expect(error).toBeInstanceOf(InstallIncompleteError);
    const incomplete = error as InstallIncompleteError;
    expect(incomplete.code).toBe('INSTALL_INCOMPLETE');
    expect(incomplete.found).toBe('bootloader');
    expect(incomplete.serialNumber).toBe(board.serialNumber);
    expect(incomplete.message).toMatch(/did not complete/);
    expect(incomplete.message).toMatch(/waits in the bootloader/);
    expect(incomplete.message).toMatch(/flash the image again/);
    // Asked again, the bootloader refuses the half-written image.
    expect(incomplete.cause).toBeInstanceOf(DfuStatusError);
    expect((incomplete.cause as DfuStatusError).statusName).toBe('errFIRMWARE');
    expect(board.mode).toBe('bootloader');
    expect(board.events.slice(mark).some((e) => e.type === 'jump')).toBe(false);
    expectNoBootableImage(board, app);
    // Flashing again completes the install.
    const again = await download(await openBootloader(board), imageOf(app, APP_BASE), {
      leave: true,
      usb: board.usb,
    });
    expect(again.outcome).toBe('reported');
    await waitForMode(board, 'application');
  });

  it('cable pulled while the ABORT that ends the download writes the held block: found again running', async () => {
    const app = makeApp(APP_SIZE, 2);
    const { heldTimes } = await measureManifestation(app);
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    const mark = board.events.length;
    // Between two slices of the first block. The bootloader writes the whole held block
    // inside that one request, and the board applies a request's flash work when it starts,
    // so the pull lands after the magic word: the install is complete, and only seeing the
    // board run the application tells the host so.
    const middle = Math.floor(heldTimes.length / 2);
    board.faults.unplugAt(board.clock.now() + (heldTimes[middle]! + heldTimes[middle + 1]!) / 2);
    restoreAfter(board, 300);
    const result = await download(device, imageOf(app, APP_BASE), {
      verify: false,
      leave: true,
      usb: board.usb,
    });
    expect(board.events.slice(mark).find((e) => e.type === 'fault')).toMatchObject({
      fault: 'unplug',
    });
    expect(result).toMatchObject({ left: true, outcome: 'seen-running' });
    expect(board.mode).toBe('application');
    expect(flashDifference(board, APP_BASE, app)).toBeNull();
  });

  it('a board that does not come back in time: InstallIncompleteError after reconnectTimeoutMs', async () => {
    const app = makeApp(APP_SIZE, 3);
    const { dataOps } = await measureManifestation(app);
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    board.faults.cutPowerAfterFlashOps(dataOps + 3);
    const before = board.clock.now();
    const error = (await download(device, imageOf(app, APP_BASE), {
      verify: false,
      leave: true,
      usb: board.usb,
      reconnectTimeoutMs: 2000,
    }).catch((e: unknown) => e)) as InstallIncompleteError;
    expect(error).toMatchObject({ code: 'INSTALL_INCOMPLETE', found: 'nothing' });
    expect(error).toBeInstanceOf(InstallIncompleteError);
    expect(error.message).toMatch(/within 2000 ms/);
    expect(error.message).toMatch(/flash the image again/);
    expect(board.clock.now() - before).toBeLessThan(5000);
    expect(board.mode).toBe('off');
  });

  it('without `usb` to look with, a device lost in manifestation is still not success', async () => {
    const app = makeApp(APP_SIZE, 4);
    const { dataOps } = await measureManifestation(app);
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    board.faults.cutPowerAfterFlashOps(dataOps + 3);
    const error = (await download(device, imageOf(app, APP_BASE), {
      verify: false,
      leave: true,
    }).catch((e: unknown) => e)) as InstallIncompleteError;
    expect(error).toMatchObject({ code: 'INSTALL_INCOMPLETE', found: 'not-searched' });
    expect(error).toBeInstanceOf(InstallIncompleteError);
  });

  it('power lost just after the magic word: the board is found again running the application', async () => {
    const app = makeApp(APP_SIZE, 5);
    const { dataOps, heldOps } = await measureManifestation(app);
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    board.faults.cutPowerAfterFlashOps(dataOps + heldOps);
    restoreAfter(board, 200);
    const result = await download(device, imageOf(app, APP_BASE), {
      verify: false,
      leave: true,
      usb: board.usb,
    });
    expect(result).toMatchObject({ left: true, outcome: 'seen-running' });
    expect(board.mode).toBe('application');
    expect(flashDifference(board, APP_BASE, app)).toBeNull();
  });

  it('cable pulled right after the final GETSTATUS (dfuIDLE/OK): success, and the board runs the application', async () => {
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    const app = makeApp(APP_SIZE, 6);
    // Pull the cable the moment the host has read dfuIDLE/OK after manifestation.
    const usb = device.usb as UsbDeviceLike;
    const transferIn = usb.controlTransferIn.bind(usb);
    let manifesting = false;
    let pulled = false;
    usb.controlTransferIn = async (setup: UsbControlSetup, length: number) => {
      const result = await transferIn(setup, length);
      const state = result.data?.getUint8(4);
      if (setup.requestType === 'class' && setup.request === DFU_GETSTATUS) {
        if (state === dfuMANIFEST) manifesting = true;
        else if (manifesting && state === dfuIDLE && !pulled) {
          pulled = true;
          board.unplug();
          board.clock.schedule(board.clock.now() + 300, () => board.plug());
        }
      }
      return result;
    };
    const result = await download(device, imageOf(app, APP_BASE), { leave: true, usb: board.usb });
    expect(pulled).toBe(true);
    expect(result).toMatchObject({ left: true, outcome: 'reported' });
    // The image was complete and checked: the board starts it when it has power again.
    await waitForMode(board, 'application');
    expect(flashDifference(board, APP_BASE, app)).toBeNull();
  });

  it('an image the bootloader would not boot: DfuStatusError errFIRMWARE at manifestation, as before', async () => {
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    const app = makeApp(APP_SIZE, 7);
    app[0x1000] = app[0x1000]! ^ 0xff; // after stamping: the stamp CRC no longer matches
    const error = await download(device, imageOf(app, APP_BASE), {
      leave: true,
      usb: board.usb,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DfuStatusError);
    expect(error).toMatchObject({ statusName: 'errFIRMWARE', operation: 'manifestation' });
    await board.clock.sleep(2000);
    expect(board.mode).toBe('bootloader');
  });
});

describe("download({ leave: true }) on ST's ROM model (not manifestation tolerant)", () => {
  it('the device jumps and leaves the bus: success is assumed, as the best the host can know', async () => {
    const board = await createVirtualBoard({ boot0: true });
    const device = await openBootloader(board, 'rom');
    expect(device.functional.manifestationTolerant).toBe(false);
    const app = makeApp(20 * 1024, 8);
    const result = await download(device, imageOf(app, APP_BASE), { leave: true, usb: board.usb });
    expect(result).toMatchObject({ verified: 'read-back', left: true, outcome: 'assumed' });
    expect(board.readFlash(APP_BASE, app.length)).toEqual(app);
  });
});

describe('leave on scripted devices', () => {
  const SERIAL = 'ABC123';
  /** Our bootloader's attributes: CanDnload, CanUpload, ManifestationTolerant, WillDetach. */
  const tolerantSpec = { ...ourSpec, bmAttributes: 0x0f };
  const runtimeSpec = { alternates: ['runtime'], protocol: 1 as const, bmAttributes: 0x0b };
  const lostInManifestation = (lost: ScriptStep): ScriptStep[] => [
    dfu.getStatus('dfuIDLE'),
    ...dfu.setAddress(APP_BASE),
    dfu.dnload(2, undefined),
    dfu.getStatus('dfuMANIFEST', { pollTimeout: 10 }),
    lost,
  ];

  async function scriptedBoard(steps: ScriptStep[], spec: DfuInterfaceSpec = tolerantSpec) {
    const clock = new ManualClock();
    const usb = scriptedDfuDevice({ ...spec, clock, serialNumber: SERIAL });
    usb.expect(...dfu.open(spec, OUR_COMMANDS));
    const device = await DfuDevice.open(usb, { clock });
    usb.expect(...steps);
    return { usb, device, clock };
  }

  it('tolerant and gone in dfuMANIFEST, then found running the application: seen-running', async () => {
    const { usb, device, clock } = await scriptedBoard(
      lostInManifestation(dfu.getStatusReply({ type: 'gone' })),
    );
    const app = scriptedDfuDevice({ ...runtimeSpec, clock, serialNumber: SERIAL });
    const other = scriptedDfuDevice({ ...runtimeSpec, serialNumber: 'OTHER' });
    let polls = 0;
    const bus = {
      getDevices: async () => (++polls < 4 ? [other] : [other, app]),
      addEventListener: () => {},
    };
    await expect(device.leave({ usb: bus })).resolves.toEqual({
      gone: true,
      outcome: 'seen-running',
    });
    usb.assertDone();
    expect(polls).toBe(4);
    // bwPollTimeout of dfuMANIFEST, then three 100 ms waits between getDevices() polls.
    expect(clock.sleeps.slice(-4).map((sl) => sl.ms)).toEqual([10, 100, 100, 100]);
  });

  it('tolerant and stalling in dfuMANIFEST is not success without finding it', async () => {
    const { device } = await scriptedBoard(
      lostInManifestation(dfu.getStatusReply({ type: 'stall' })),
    );
    const error = (await device.leave().catch((e: unknown) => e)) as InstallIncompleteError;
    expect(error).toBeInstanceOf(InstallIncompleteError);
    expect(error.found).toBe('not-searched');
    expect(error.message).toMatch(/no `usb`/);
  });

  it('not tolerant and stalling in dfuMANIFEST: it left to run the image, assumed', async () => {
    const { usb, device } = await scriptedBoard(
      lostInManifestation(dfu.getStatusReply({ type: 'stall' })),
      ourSpec,
    );
    await expect(device.leave()).resolves.toEqual({ gone: true, outcome: 'assumed' });
    usb.assertDone();
  });

  it('a connect event for the serial ends the wait between getDevices() polls', async () => {
    // A clock whose sleeps end only when their signal fires: without the event the search hangs.
    const clock = {
      now: () => 0,
      sleep: (_ms: number, signal?: AbortSignal) =>
        new Promise<void>((_, reject) =>
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true }),
        ),
    };
    const board = scriptedDfuDevice({ ...ourSpec, serialNumber: SERIAL });
    const listeners = new Set<UsbConnectionListener>();
    let present: UsbDeviceLike[] = [];
    const bus: UsbLike = {
      getDevices: async () => present,
      addEventListener: (_type, listener) => listeners.add(listener),
      removeEventListener: (_type, listener) => listeners.delete(listener),
    };
    const search = findDfuDevice(bus, SERIAL, { clock });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(listeners.size).toBe(1);
    present = [board];
    for (const listener of listeners) listener({ device: board });
    await expect(search).resolves.toBe(board);
    expect(listeners.size).toBe(0);
  });
});
