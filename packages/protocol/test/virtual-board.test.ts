import { createVirtualBoard, type NodeVirtualBoard } from '@stm32dfu/virtual-board/node';
import { describe, expect, it } from 'vitest';
import {
  DeviceGoneError,
  DfuDevice,
  DfuStatusError,
  detach,
  download,
  formatPlan,
  massErase,
  type ProgressEvent,
  planDownload,
  upload,
} from '../src/index.ts';
import { makeApp, restamp } from './app-image.ts';
import { flashDifference } from './board-helpers.ts';

const APP_BASE = 0x08008000;
const APP_SIZE = 480 * 1024;

async function waitForMode(board: NodeVirtualBoard, mode: string, limitMs = 5000) {
  const until = board.clock.now() + limitMs;
  while (board.clock.now() < until) {
    if (board.device && board.mode === mode) return board.device;
    await board.clock.sleep(10);
  }
  throw new Error(`the board did not enumerate in ${mode} mode (it is in ${board.mode})`);
}

async function openBootloader(board: NodeVirtualBoard, mode = 'bootloader'): Promise<DfuDevice> {
  return DfuDevice.open(await waitForMode(board, mode), { clock: board.clock });
}

const imageOf = (data: Uint8Array, address = APP_BASE) => ({ segments: [{ address, data }] });

function erasesSince(board: NodeVirtualBoard, from: number): number[] {
  return board.events.slice(from).flatMap((e) => (e.type === 'erase' ? [e.address] : []));
}

describe('against the virtual board (our bootloader)', () => {
  it('flashes a full application, verifies by CRC, leaves, and the application runs', async () => {
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    expect(device.hasCrcCommand).toBe(true);
    const app = makeApp(APP_SIZE);
    const events: ProgressEvent[] = [];
    const result = await download(device, imageOf(app), {
      leave: true,
      onProgress: (e) => events.push(e),
    });
    expect(result.verified).toBe('crc');
    expect(result.left).toBe(true);
    // A new board's flash is blank: sectors are written without erasing them first.
    expect(result.plan.sectors.map((s) => s.action)).toEqual(Array(6).fill('write'));
    expect(result.plan.eraseBytes).toBe(0);
    expect(erasesSince(board, 0)).toEqual([]);
    expect(flashDifference(board, APP_BASE, app)).toBeNull();
    // The vector table block is the last one programmed before manifestation.
    const programs = board.events.flatMap((e) => (e.type === 'program' ? [e.address] : []));
    const lastOutsideFirstBlock = programs.findLastIndex((a) => a >= APP_BASE + 2048);
    expect(programs.slice(lastOutsideFirstBlock + 1).every((a) => a < APP_BASE + 2048)).toBe(true);
    await waitForMode(board, 'application');
    const phases = [...new Set(events.map((e) => e.phase))];
    expect(phases).toEqual(['read', 'erase', 'write', 'verify']);
    expect(events.filter((e) => e.phase === 'erase').at(-1)).toMatchObject({
      bytesDone: 0,
      bytesTotal: 0,
    });
    expect(events.filter((e) => e.phase === 'write').at(-1)).toMatchObject({
      bytesDone: result.plan.writeBytes,
    });
  });

  it('replacing a different application erases every sector it covers, the first one first', async () => {
    const board = await createVirtualBoard();
    await download(await openBootloader(board), imageOf(makeApp(APP_SIZE, 5)), { leave: true });
    const app = await DfuDevice.open(await waitForMode(board, 'application'), {
      clock: board.clock,
    });
    const device = await detach(app, { usb: board.usb });
    const mark = board.events.length;
    const next = makeApp(APP_SIZE, 6);
    const result = await download(device, imageOf(next), { leave: true });
    expect(result.plan.eraseBytes).toBe(APP_SIZE);
    expect(erasesSince(board, mark)).toEqual([
      0x08008000, 0x0800c000, 0x08010000, 0x08020000, 0x08040000, 0x08060000,
    ]);
    await waitForMode(board, 'application');
    expect(flashDifference(board, APP_BASE, next)).toBeNull();
  });

  it('re-flashes only the sector that changed (differential), and nothing when all are equal', async () => {
    const board = await createVirtualBoard();
    const first = makeApp(APP_SIZE, 1);
    await download(await openBootloader(board), imageOf(first), { leave: true });
    const backToDfu = async () =>
      detach(
        await DfuDevice.open(await waitForMode(board, 'application'), { clock: board.clock }),
        { usb: board.usb },
      );
    // Change bytes in sector 3 (0x0800C000, 16 kB); the new stamp CRC changes sector 2 too.
    const changed = first.slice();
    changed.fill(0x5a, 0x4000 + 100, 0x4000 + 200);
    const second = restamp(changed);
    let device = await backToDfu();
    const plan = await planDownload(device, imageOf(second));
    expect(plan.compare).toBe('crc');
    expect(plan.sectors.filter((s) => s.action === 'erase').map((s) => s.start)).toEqual([
      0x08008000, 0x0800c000,
    ]);
    expect(formatPlan(plan)).toMatch(/0x08010000 +64 kB +skip/);
    const mark = board.events.length;
    await download(device, imageOf(second), { leave: true });
    expect(erasesSince(board, mark)).toEqual([0x08008000, 0x0800c000]);
    expect(flashDifference(board, APP_BASE, second)).toBeNull();
    device = await backToDfu();
    const again = board.events.length;
    const unchanged = await download(device, imageOf(second), { leave: true });
    expect(erasesSince(board, again)).toEqual([]);
    expect(unchanged.plan.eraseBytes).toBe(0);
    await waitForMode(board, 'application');
  });

  it('erases a partly covered sector whole: bytes outside the image end up 0xFF', async () => {
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    await download(device, imageOf(new Uint8Array(64).fill(0x11), 0x08010000 + 1024));
    await download(device, imageOf(new Uint8Array(64).fill(0x22), 0x08010000 + 4096));
    const sector = board.readFlash(0x08010000, 0x10000);
    expect(sector.subarray(1024, 1088).every((b) => b === 0xff)).toBe(true);
    expect(sector.subarray(4096, 4160).every((b) => b === 0x22)).toBe(true);
  });

  it('uploads ranges and mass-erases only the application region', async () => {
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    const data = makeApp(40 * 1024);
    await download(device, imageOf(data));
    // Past the first 2 kB, which our bootloader holds back until manifestation.
    const read = await upload(device, [{ address: APP_BASE + 4100, length: 5000 }]);
    expect(read.segments[0]).toEqual({ address: APP_BASE + 4100, data: data.subarray(4100, 9100) });
    const bootloaderBefore = board.readFlash(0x08000000, 0x8000);
    const erased = await massErase(device);
    expect(erased).toBe(APP_SIZE);
    expect(board.readFlash(APP_BASE, APP_SIZE).every((b) => b === 0xff)).toBe(true);
    expect(board.readFlash(0x08000000, 0x8000)).toEqual(bootloaderBefore);
  });

  it('refuses an image for the bootloader region without erasing anything', async () => {
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    const mark = board.events.length;
    await expect(download(device, imageOf(new Uint8Array(1024), 0x08000000))).rejects.toMatchObject(
      {
        code: 'ADDRESS',
        address: 0x08000000,
      },
    );
    expect(erasesSince(board, mark)).toEqual([]);
  });

  it('survives a power cut mid-download: the board comes back in the bootloader and a re-flash works', async () => {
    const board = await createVirtualBoard();
    let device = await openBootloader(board);
    const old = makeApp(APP_SIZE, 7);
    await download(device, imageOf(old), { leave: true });
    device = await detach(
      await DfuDevice.open(await waitForMode(board, 'application'), { clock: board.clock }),
      {
        usb: board.usb,
      },
    );
    const fresh = makeApp(APP_SIZE, 8);
    board.faults.cutPowerAfterFlashOps(40);
    const error = await download(device, imageOf(fresh)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceGoneError);
    board.power(false);
    board.power(true);
    device = await openBootloader(board);
    const result = await download(device, imageOf(fresh), { leave: true });
    expect(result.left).toBe(true);
    await waitForMode(board, 'application');
    expect(flashDifference(board, APP_BASE, fresh)).toBeNull();
  });

  it('a queued block that fails to program is reported with the address of the failing word', async () => {
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    const app = makeApp(64 * 1024);
    // Once the block at +8 kB starts programming (so it was accepted and queued), a byte in
    // its second half stops reading erased: that slice's blank check fails.
    const block = APP_BASE + 8 * 1024;
    const spoiled = block + 1024 + 0x42;
    let armed = true;
    board.on('program', (e) => {
      if (armed && e.type === 'program' && e.address === block) {
        armed = false;
        board.faults.corrupt(spoiled, 0x01);
      }
    });
    const error = await download(device, imageOf(app)).catch((e: unknown) => e);
    expect(armed).toBe(false);
    expect(error).toBeInstanceOf(DfuStatusError);
    expect(error).toMatchObject({ statusName: 'errCHECK_ERASED', address: spoiled & ~3 });
    // The report says the same, and the device is usable again.
    const report = await device.readReport();
    expect(report?.failure).toEqual({ address: spoiled & ~3, status: 5 });
    // The blocks queued behind the failing one were dropped, never written.
    expect(board.readFlash(block + 2048, 2048).every((b) => b === 0xff)).toBe(true);
  });

  it('an unstamped image is refused at manifestation with advice on how to stamp it', async () => {
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    const unstamped = makeApp(16 * 1024, 7);
    unstamped.fill(0, 0x1c, 0x2c); // the image as the linker left it: no stamp
    const error = await download(device, imageOf(unstamped), { leave: true }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DfuStatusError);
    expect(error).toMatchObject({ statusName: 'errFIRMWARE', stateName: 'dfuERROR' });
    const { message } = error as DfuStatusError;
    expect(message).toMatch(/not stamped/);
    expect(message).toContain('node firmware/scripts/stamp-app.mjs');
    expect(board.mode).toBe('bootloader');
  });

  it('detaches from the application and finds the same board again by serial', async () => {
    const board = await createVirtualBoard();
    const device = await openBootloader(board);
    await download(device, imageOf(makeApp(64 * 1024)), { leave: true });
    const app = await DfuDevice.open(await waitForMode(board, 'application'), {
      clock: board.clock,
    });
    expect(app.mode).toBe('runtime');
    const again = await detach(app, { usb: board.usb });
    expect(again.mode).toBe('dfu');
    expect(again.serialNumber).toBe(board.serialNumber);
    expect(again.usb).not.toBe(app.usb);
    expect(board.mode).toBe('bootloader');
  });
});

describe("against ST's ROM bootloader model (Boot0 high)", () => {
  it('flashes with read-back compare and verify, no CRC command, and leaving drops the device', async () => {
    const board = await createVirtualBoard({ boot0: true });
    const device = await openBootloader(board, 'rom');
    expect(device.usb.vendorId).toBe(0x0483);
    expect(device.usb.productId).toBe(0xdf11);
    expect(device.hasCrcCommand).toBe(false);
    expect(device.functional.manifestationTolerant).toBe(false);
    const data = makeApp(20 * 1024, 3);
    const result = await download(device, imageOf(data), { leave: true });
    expect(result.plan.compare).toBe('read-back');
    expect(result.verified).toBe('read-back');
    expect(result.left).toBe(true);
    expect(board.readFlash(APP_BASE, data.length)).toEqual(data);
  });

  it('writes the whole flash, sector 0 included, since the ROM protects nothing', async () => {
    const board = await createVirtualBoard({ boot0: true });
    const device = await openBootloader(board, 'rom');
    const data = new Uint8Array(4096).map((_, i) => i & 0xff);
    const result = await download(device, imageOf(data, 0x08000000), { differential: false });
    expect(result.plan.sectors.map((s) => s.start)).toEqual([0x08000000]);
    expect(board.readFlash(0x08000000, 4096)).toEqual(data);
  });
});
