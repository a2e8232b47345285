import { getLayout, parseDfuseLayout } from '@stm32dfu/layout';
import { describe, expect, test } from 'vitest';
import { controlTransferBusMs, type UsbDeviceLike } from '../src/index.ts';
import type { NodeVirtualBoard } from '../src/node.ts';
import { createVirtualBoard } from '../src/node.ts';
import {
  appIDLE,
  DETACH,
  dfuDNBUSY,
  dfuDNLOAD_IDLE,
  dfuERROR,
  dfuIDLE,
  dfuMANIFEST,
  dnload,
  eraseSector,
  GETSTATE,
  getStatus,
  makeApplication,
  openDfu,
  pollUntilIdle,
  setAddress,
  waitForDevice,
} from './dfu-helpers.ts';

const layout = getLayout('blackpill-f411');
const APP_BASE = layout.partitions.application.start;
const TRANSFER_SIZE = 2048;
/** The core programs at most this many bytes per main-loop pass (BL_PROGRAM_SLICE). */
const SLICE = 64;
const SLICES_PER_BLOCK = TRANSFER_SIZE / SLICE;
/** Data block buffers of our bootloader (BL_WRITE_QUEUE_BLOCKS). */
const QUEUE_BLOCKS = 3;
const WORD_MS = 0.016;

/** wTransferSize from the DFU functional descriptor, read with a raw GET_DESCRIPTOR. */
async function transferSizeOf(device: UsbDeviceLike): Promise<number> {
  const r = await device.controlTransferIn(
    { requestType: 'standard', recipient: 'device', request: 6, value: 0x0200, index: 0 },
    255,
  );
  const bytes = new Uint8Array(r.data!.buffer, r.data!.byteOffset, r.data!.byteLength);
  for (let i = 0; i < bytes.length; i += bytes[i]!) {
    if (bytes[i + 1] === 0x21) return bytes[i + 5]! | (bytes[i + 6]! << 8);
  }
  throw new Error('no DFU functional descriptor');
}

/** Erase what the image needs and download it block by block, as dfu-util does. */
async function download(board: NodeVirtualBoard, device: UsbDeviceLike, image: Uint8Array) {
  const sectors = layout.partitions.application.sectors.filter(
    (s) => s.start < APP_BASE + image.length,
  );
  for (const sector of sectors) {
    expect(await eraseSector(board, device, sector.start)).toMatchObject({
      status: 0,
      state: dfuDNLOAD_IDLE,
    });
  }
  expect((await setAddress(board, device, APP_BASE)).state).toBe(dfuDNLOAD_IDLE);
  for (let offset = 0, block = 2; offset < image.length; offset += TRANSFER_SIZE, block++) {
    const r = await dnload(device, block, image.subarray(offset, offset + TRANSFER_SIZE));
    expect(r).toEqual({
      status: 'ok',
      bytesWritten: Math.min(TRANSFER_SIZE, image.length - offset),
    });
    expect(await pollUntilIdle(board, device)).toMatchObject({ status: 0, state: dfuDNLOAD_IDLE });
  }
}

describe('a whole DfuSe session through raw control transfers', () => {
  test('erase, download, leave: the application runs; DETACH brings the bootloader back', async () => {
    const board = await createVirtualBoard();
    const bootloader = await waitForDevice(board);
    expect(board.mode).toBe('bootloader');
    expect(bootloader).toMatchObject({
      vendorId: 0x1209,
      productId: 0x0001,
      deviceVersionMajor: 2,
    });
    const serial = bootloader.serialNumber;
    expect(serial).toMatch(/^[0-9A-F]{24}$/);

    await openDfu(bootloader);
    expect(await transferSizeOf(bootloader)).toBe(TRANSFER_SIZE);
    expect(await getStatus(bootloader)).toEqual({ status: 0, pollTimeout: 0, state: dfuIDLE });

    const image = makeApplication(40 * 1024 + 100);
    // The first erase's GETSTATUS announces dfuDNBUSY with the sector's datasheet time.
    await dnload(bootloader, 0, Uint8Array.of(0x41, ...[0x00, 0x80, 0x00, 0x08]));
    expect(await getStatus(bootloader)).toEqual({ status: 0, pollTimeout: 250, state: dfuDNBUSY });
    await board.clock.sleep(250);
    expect((await getStatus(bootloader)).state).toBe(dfuDNLOAD_IDLE);
    await download(board, bootloader, image);

    // Leave: zero-length DNLOAD, then GETSTATUS reports dfuMANIFEST while the held first
    // block is written; the bootloader is manifestation-tolerant and comes back to dfuIDLE.
    expect(await dnload(bootloader, 0, new Uint8Array(0))).toEqual({
      status: 'ok',
      bytesWritten: 0,
    });
    // The held block's words, after whatever queued blocks are still being written.
    const manifest = await getStatus(bootloader);
    expect(manifest.state).toBe(dfuMANIFEST);
    const heldMs = (TRANSFER_SIZE / 4) * WORD_MS;
    expect(manifest.pollTimeout).toBeGreaterThanOrEqual(Math.ceil(heldMs));
    expect(manifest.pollTimeout).toBeLessThanOrEqual(Math.ceil(QUEUE_BLOCKS * heldMs + heldMs));
    // Honest: one sleep of bwPollTimeout is enough.
    await board.clock.sleep(manifest.pollTimeout);
    expect((await getStatus(bootloader)).state).toBe(dfuIDLE);

    const firstBlockWrites = board.events.filter(
      (e) => e.type === 'program' && e.address < APP_BASE + TRANSFER_SIZE,
    );
    const lastOtherWrite = board.events.findLastIndex(
      (e) => e.type === 'program' && e.address >= APP_BASE + TRANSFER_SIZE,
    );
    expect(firstBlockWrites.length).toBeGreaterThan(0);
    expect(board.events.indexOf(firstBlockWrites[0]!)).toBeGreaterThan(lastOtherWrite);
    expect(board.readFlash(APP_BASE, image.length)).toEqual(image);

    // With the host silent the bootloader starts the application (BL_LEAVE_IDLE_MS).
    const app = await waitForDevice(board, 3000).then(async () => {
      while (board.mode !== 'application' || !board.device) await board.clock.sleep(10);
      return board.device;
    });
    await expect(
      bootloader.controlTransferIn(
        { requestType: 'class', recipient: 'interface', request: GETSTATE, value: 0, index: 0 },
        1,
      ),
    ).rejects.toMatchObject({ name: 'NotFoundError' });
    expect(app).not.toBe(bootloader);
    expect(app).toMatchObject({
      vendorId: 0x1209,
      productId: 0x0001,
      serialNumber: serial,
      deviceVersionMajor: 1,
    });
    const runtime = app.configurations[0]!.interfaces[0]!.alternates[0]!;
    expect(runtime).toMatchObject({
      interfaceClass: 0xfe,
      interfaceSubclass: 0x01,
      interfaceProtocol: 0x01,
    });
    expect(board.events.find((e) => e.type === 'jump')).toMatchObject({ address: APP_BASE });

    await app.open();
    await app.claimInterface(0);
    expect((await getStatus(app)).state).toBe(appIDLE);
    const detach = await app.controlTransferOut({
      requestType: 'class',
      recipient: 'interface',
      request: DETACH,
      value: 1000,
      index: 0,
    });
    expect(detach.status).toBe('ok');
    expect(board.device).toBeNull();

    const back = await waitForDevice(board);
    expect(board.mode).toBe('bootloader');
    expect(back).toMatchObject({ serialNumber: serial, deviceVersionMajor: 2 });
    expect(board.events.filter((e) => e.type === 'boot').at(-1)).toMatchObject({
      verdict: 'requested',
    });
    expect(board.bootRequest).toEqual([0, 0]); // boot_decide cleared the request
  });

  test('after manifestation a port reset (as dfu-util sends) starts the application', async () => {
    const board = await createVirtualBoard();
    const device = await waitForDevice(board);
    await openDfu(device);
    await download(board, device, makeApplication(4096));
    await dnload(device, 0, new Uint8Array(0));
    expect((await pollUntilIdle(board, device)).state).toBe(dfuIDLE);
    const resetAt = board.clock.now();
    await device.reset();
    expect(board.device).toBeNull();
    const app = await waitForDevice(board);
    expect(board.mode).toBe('application');
    expect(app.deviceVersionMajor).toBe(1);
    // Well before the 1 s idle timeout that would also have started it.
    expect(board.events.find((e) => e.type === 'jump')!.t).toBeLessThan(resetAt + 100);
  });

  test('a transfer issued during an erase completes only when the erase ends', async () => {
    const board = await createVirtualBoard();
    const device = await waitForDevice(board);
    await openDfu(device);
    await dnload(device, 0, Uint8Array.of(0x41, 0x00, 0x00, 0x06, 0x08)); // 128 kB sector 7
    const busy = await getStatus(device);
    expect(busy).toMatchObject({ state: dfuDNBUSY, pollTimeout: 1000 });
    const eraseStart = board.clock.now();
    // No sleep: the chip is stalled, the host's GETSTATUS is NAKed until the erase is done.
    expect((await getStatus(device)).state).toBe(dfuDNLOAD_IDLE);
    expect(board.clock.now()).toBeGreaterThanOrEqual(eraseStart + 1000);
    expect(board.clock.now()).toBeLessThan(eraseStart + 1002);
  });

  test('programming does not stall the bus: blocks are accepted at once, a transfer waits at most one slice', async () => {
    const board = await createVirtualBoard();
    const device = await waitForDevice(board);
    await openDfu(device);
    await eraseSector(board, device, 0x08010000);
    await setAddress(board, device, 0x08010000);
    for (let block = 2; block < 2 + QUEUE_BLOCKS - 1; block++) {
      await dnload(device, block, new Uint8Array(TRANSFER_SIZE).fill(block));
      expect(await getStatus(device)).toEqual({ status: 0, pollTimeout: 0, state: dfuDNLOAD_IDLE });
    }
    // The first block is being programmed now, one 256 µs slice after another.
    const before = board.clock.now();
    expect(board.busyUntil).toBeGreaterThan(before);
    expect(board.busyUntil - before).toBeLessThanOrEqual((SLICE / 4) * WORD_MS + 1e-9);
    expect(board.stallUntil).toBeLessThanOrEqual(before);
    // The buffers are full after the next block: dfuDNBUSY until the oldest is written.
    await dnload(device, 2 + QUEUE_BLOCKS - 1, new Uint8Array(TRANSFER_SIZE).fill(9));
    const frame = Math.ceil(board.clock.now());
    const busy = await getStatus(device);
    expect(busy.state).toBe(dfuDNBUSY);
    // Served on the next frame, after at most the slice under way.
    const served = board.clock.now() - frame - controlTransferBusMs(6);
    expect(served).toBeGreaterThanOrEqual(-1e-9);
    expect(served).toBeLessThanOrEqual((SLICE / 4) * WORD_MS + 1e-9);
    const programmed = board.events
      .filter((e) => e.type === 'program')
      .reduce((n, e) => n + (e.type === 'program' ? e.size : 0), 0);
    // What was left of the oldest block when GETSTATUS was served (a slice or so ago).
    const leftNow = ((TRANSFER_SIZE - programmed) / 4) * WORD_MS;
    expect(busy.pollTimeout).toBeGreaterThanOrEqual(Math.ceil(leftNow));
    expect(busy.pollTimeout).toBeLessThanOrEqual(Math.ceil(leftNow + 2 * (SLICE / 4) * WORD_MS));
    await board.clock.sleep(busy.pollTimeout);
    expect(await getStatus(device)).toMatchObject({ status: 0, state: dfuDNLOAD_IDLE });
  });

  test('the bootloader refuses its own sectors (errTARGET) and stalls what it does not know', async () => {
    const board = await createVirtualBoard();
    const device = await waitForDevice(board);
    await openDfu(device);
    const refused = await eraseSector(board, device, 0x08000000);
    expect(refused).toMatchObject({ status: 1, state: dfuERROR });
    expect(board.events.some((e) => e.type === 'erase')).toBe(false);
  });
});

describe('power cut during a download', () => {
  async function startDownload(cutAfter: number) {
    const board = await createVirtualBoard();
    const device = await waitForDevice(board);
    await openDfu(device);
    const image = makeApplication(32 * 1024);
    board.faults.cutPowerAfterFlashOps(cutAfter);
    return { board, device, image };
  }

  test('halfway through the data blocks: back in the bootloader, nothing bootable', async () => {
    // 2 erases, then 15 data blocks of 32 slices each; power drops after the 5th slice of
    // the second block written (the first block is held back in RAM).
    const cutAfter = 2 + SLICES_PER_BLOCK + 5;
    const { board, device, image } = await startDownload(cutAfter);
    const error = await download(board, device, image).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'NotFoundError' });
    expect(board.mode).toBe('off');
    expect(board.device).toBeNull();
    const ops = board.events.filter((e) => e.type === 'erase' || e.type === 'program');
    expect(ops).toHaveLength(cutAfter);
    expect(ops.at(-1)).toMatchObject({ size: SLICE, durationMs: (SLICE / 4) * WORD_MS });
    // What was done stays: the blocks written before the cut are in flash.
    const lastProgram = ops.at(-1)!;
    expect(lastProgram.type).toBe('program');
    // The supply drops as the operation ends, not before.
    expect(board.events.find((e) => e.type === 'power' && !e.on)?.t).toBeCloseTo(
      lastProgram.t + (lastProgram.type === 'program' ? lastProgram.durationMs : 0),
      9,
    );

    board.power(true);
    await waitForDevice(board);
    expect(board.mode).toBe('bootloader');
    expect(board.events.filter((e) => e.type === 'boot').at(-1)).toMatchObject({
      verdict: 'no-app',
    });
    expect(board.readFlash(APP_BASE, TRANSFER_SIZE).every((b) => b === 0xff)).toBe(true);
    expect(board.readFlash(APP_BASE + TRANSFER_SIZE, TRANSFER_SIZE)).toEqual(
      image.subarray(TRANSFER_SIZE, 2 * TRANSFER_SIZE),
    );
    const second = APP_BASE + 2 * TRANSFER_SIZE;
    expect(board.readFlash(second, 5 * SLICE)).toEqual(
      image.subarray(2 * TRANSFER_SIZE, 2 * TRANSFER_SIZE + 5 * SLICE),
    );
    expect(board.readFlash(second + 5 * SLICE, SLICE).every((b) => b === 0xff)).toBe(true);
  });

  test('during manifestation (first block written word by word): the stamp does not check', async () => {
    // 2 erases + 15 data blocks of 32 slices, then the held block's runs of words: cut in
    // the middle of those.
    const { board, device, image } = await startDownload(2 + 15 * SLICES_PER_BLOCK + 10);
    await download(board, device, image);
    await dnload(device, 0, new Uint8Array(0));
    await expect(pollUntilIdle(board, device)).rejects.toMatchObject({ name: 'NotFoundError' });
    expect(board.mode).toBe('off');
    board.power(true);
    await waitForDevice(board);
    expect(board.mode).toBe('bootloader');
    expect(board.events.filter((e) => e.type === 'boot').at(-1)).toMatchObject({
      verdict: 'bad-stamp',
    });
  });
});

describe('Boot0 high: the ROM bootloader model', () => {
  test('0483:df11 with the whole flash writable, leave makes it disappear and jump', async () => {
    const board = await createVirtualBoard({ boot0: true });
    const rom = await waitForDevice(board);
    expect(board.mode).toBe('rom');
    expect(rom).toMatchObject({ vendorId: 0x0483, productId: 0xdf11 });
    const alternates = rom.configurations[0]!.interfaces[0]!.alternates;
    expect(alternates).toHaveLength(4);
    const flashLayout = parseDfuseLayout(alternates[0]!.interfaceName!);
    expect(flashLayout.sectors[0]).toMatchObject({
      start: 0x08000000,
      writable: true,
      erasable: true,
    });
    expect(flashLayout.sectors.every((s) => s.writable)).toBe(true);

    await openDfu(rom);
    expect(await eraseSector(board, rom, 0x08000000)).toMatchObject({
      status: 0,
      state: dfuDNLOAD_IDLE,
    });
    expect(board.events.find((e) => e.type === 'erase')).toMatchObject({
      address: 0x08000000,
      sector: 0,
    });

    // Not manifestation-tolerant: after the leave the device is gone.
    await setAddress(board, rom, APP_BASE);
    await dnload(rom, 0, new Uint8Array(0));
    expect((await getStatus(rom)).state).toBe(dfuMANIFEST);
    await board.clock.sleep(10);
    await expect(getStatus(rom)).rejects.toMatchObject({ name: 'NotFoundError' });
    expect(board.events.find((e) => e.type === 'jump')).toMatchObject({ address: APP_BASE });
  });
});
