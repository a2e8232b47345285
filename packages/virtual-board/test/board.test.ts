import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32Stm32Words } from '@stm32dfu/image-tools';
import { getChip, getLayout } from '@stm32dfu/layout';
import { afterAll, describe, expect, test } from 'vitest';
import { FlashMemory } from '../src/flash.ts';
import {
  controlTransferBusMs,
  createVirtualBoard as createBrowserBoard,
  VirtualClock,
} from '../src/index.ts';
import { createVirtualBoard, readWasm } from '../src/node.ts';
import {
  ABORT,
  dfuDNBUSY,
  dfuDNLOAD_IDLE,
  dnload,
  eraseSector,
  GETSTATUS,
  getStatus,
  le32,
  makeApplication,
  openDfu,
  pollUntilIdle,
  setAddress,
  UPLOAD,
  waitForDevice,
} from './dfu-helpers.ts';

const APP_BASE = getLayout('blackpill-f411').partitions.application.start;
const dir = mkdtempSync(join(tmpdir(), 'virtual-board-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('flash', () => {
  test('NOR semantics: erase sets 0xFF, programming only clears bits and fails read-back otherwise', () => {
    const flash = new FlashMemory(getChip('stm32f411xe'));
    expect(flash.bytes.every((b) => b === 0xff)).toBe(true);
    expect(flash.program(0x08008000, Uint8Array.of(0xf0, 0x0f, 0xaa, 0x55))).toMatchObject({
      ok: true,
    });
    const again = flash.program(0x08008000, Uint8Array.of(0x3c, 0xff, 0xff, 0xff));
    expect(again).toMatchObject({ ok: false, reason: 'verify' });
    expect(flash.read(0x08008000, 4)).toEqual(Uint8Array.of(0x30, 0x0f, 0xaa, 0x55));
    expect(flash.program(0x08008002, Uint8Array.of(0, 0, 0, 0))).toMatchObject({
      reason: 'alignment',
    });
    expect(flash.erase(2)).toMatchObject({ address: 0x08008000, size: 0x4000, durationMs: 250 });
    expect(flash.read(0x08008000, 4)).toEqual(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    expect(flash.erase(7)?.durationMs).toBe(1000);
    // 2048 bytes = 512 words at 16 µs.
    expect(flash.programDurationMs(2048)).toBeCloseTo(8.192, 9);
  });

  test('out-of-flash access is a typed error naming the address', () => {
    const flash = new FlashMemory(getChip('stm32f411xe'));
    expect(() => flash.write(0x0807fffe, new Uint8Array(4))).toThrow(
      expect.objectContaining({
        code: 'ADDRESS_OUTSIDE_FLASH',
        message: expect.stringContaining('0x0807FFFE'),
      }),
    );
  });

  test('save and load round trip through a file; wrong sizes and missing files are refused', async () => {
    const board = await createVirtualBoard();
    const app = makeApplication(6000);
    board.writeFlash(APP_BASE, app);
    const path = join(dir, 'flash.bin');
    board.saveFlash(path);
    expect(readFileSync(path).length).toBe(512 * 1024);

    const copy = await createVirtualBoard({ flash: path });
    expect(copy.readFlash(APP_BASE, app.length)).toEqual(app);
    expect(copy.mode).toBe('application'); // a stamped image boots

    const short = join(dir, 'short.bin');
    writeFileSync(short, new Uint8Array(1000));
    expect(() => copy.loadFlash(short)).toThrow(
      expect.objectContaining({
        code: 'FLASH_IMAGE_SIZE',
        message: expect.stringContaining(short),
      }),
    );
    await expect(createVirtualBoard({ flash: join(dir, 'missing.bin') })).rejects.toMatchObject({
      code: 'FLASH_FILE',
    });
  });
});

describe('boot decision on the real core', () => {
  test('a stamped application boots at power-on; a corrupted byte or the button keeps the bootloader', async () => {
    const board = await createVirtualBoard({ powered: false });
    board.writeFlash(APP_BASE, makeApplication(9000));
    board.power(true);
    expect(board.mode).toBe('application');
    expect(board.events.map((e) => e.type)).toEqual([
      'power',
      'reset',
      'crc',
      'crc',
      'boot',
      'jump',
    ]);
    // The stamp check's CRC skips the crc word at +0x24 and runs on the reset clock (HSI,
    // 16 MHz): 12 cycles per word, 1333 words per ms.
    const crcs = board.events.flatMap((e) => (e.type === 'crc' ? [e] : []));
    expect(crcs.map((e) => [e.address - APP_BASE, e.length])).toEqual([
      [0, 0x24],
      [0x28, 9000 - 0x28],
    ]);
    const crcMs = crcs.reduce((ms, e) => ms + e.durationMs, 0);
    expect(crcMs).toBeCloseTo((9000 / 4 - 1) / 1333, 9);

    board.setButton(true);
    board.reset();
    expect(board.mode).toBe('bootloader');
    expect(board.events.at(-1)).toMatchObject({ type: 'boot', verdict: 'button' });

    board.setButton(false);
    board.faults.corrupt(APP_BASE + 5000);
    board.reset();
    expect(board.events.at(-1)).toMatchObject({ type: 'boot', verdict: 'bad-stamp' });
  });
});

describe("the CRC command at the chip's rate", () => {
  test('480 kB: bwPollTimeout 16 ms, the CPU busy 15.36 ms (CRC unit, 12 cycles per word at 96 MHz)', async () => {
    const board = await createVirtualBoard();
    const app = makeApplication(480 * 1024);
    board.writeFlash(APP_BASE, app);
    board.setButton(true); // stay in DFU mode despite the valid image
    board.reset();
    const device = await waitForDevice(board);
    await openDfu(device);
    expect(
      (await dnload(device, 0, Uint8Array.from([0xb1, ...le32(APP_BASE), ...le32(app.length)])))
        .status,
    ).toBe('ok');
    const busy = await getStatus(device);
    expect(busy).toMatchObject({ state: dfuDNBUSY, pollTimeout: 16 });
    expect((await pollUntilIdle(board, device)).state).toBe(dfuDNLOAD_IDLE);
    const crc = board.events.filter((e) => e.type === 'crc').at(-1);
    expect(crc).toMatchObject({ address: APP_BASE, length: app.length });
    expect(crc?.type === 'crc' && crc.durationMs).toBeCloseTo(122_880 / 8000, 9);
    // The result, read back as a host does (ABORT, UPLOAD block 1), is the image's CRC.
    const abort = await device.controlTransferOut({
      requestType: 'class',
      recipient: 'interface',
      request: ABORT,
      value: 0,
      index: 0,
    });
    expect(abort.status).toBe('ok');
    const report = await device.controlTransferIn(
      { requestType: 'class', recipient: 'interface', request: UPLOAD, value: 1, index: 0 },
      12,
    );
    expect(report.data?.getUint32(8, true)).toBe(crc32Stm32Words(app));
  });
});

describe('the WebUSB-shaped device', () => {
  test('behaves as WebUSB: open first, claim before interface requests, NotFoundError once gone', async () => {
    const board = await createVirtualBoard();
    const device = await waitForDevice(board);
    const getStatus = {
      requestType: 'class',
      recipient: 'interface',
      request: GETSTATUS,
      value: 0,
      index: 0,
    } as const;
    await expect(device.controlTransferIn(getStatus, 6)).rejects.toMatchObject({
      name: 'InvalidStateError',
    });
    await device.open();
    expect(device.configuration?.configurationValue).toBe(1);
    await expect(device.controlTransferIn(getStatus, 6)).rejects.toMatchObject({
      name: 'InvalidStateError',
    });
    await expect(device.selectAlternateInterface(0, 0)).rejects.toMatchObject({
      name: 'InvalidStateError',
    });
    await device.claimInterface(0);
    await expect(device.selectAlternateInterface(0, 3)).rejects.toMatchObject({
      name: 'NotFoundError',
    });
    expect((await device.controlTransferIn(getStatus, 6)).status).toBe('ok');
    // An unknown request stalls, as the chip's EP0 does.
    const bogus = await device.controlTransferIn({ ...getStatus, request: 0x77 }, 1);
    expect(bogus.status).toBe('stall');

    const disconnects: unknown[] = [];
    const connects: unknown[] = [];
    board.usb.addEventListener('disconnect', (e) => disconnects.push(e.device));
    board.usb.addEventListener('connect', (e) => connects.push(e.device));
    board.reset();
    expect(disconnects).toEqual([device]);
    await expect(device.controlTransferIn(getStatus, 6)).rejects.toMatchObject({
      name: 'NotFoundError',
    });
    await expect(device.open()).rejects.toMatchObject({ name: 'NotFoundError' });
    const again = await waitForDevice(board);
    expect(again).not.toBe(device);
    expect(connects).toEqual([again]);
    expect(await board.usb.getDevices()).toEqual([again]);
    expect(again.serialNumber).toBe(device.serialNumber);
  });

  test('the serial number comes from the UID the core reads', async () => {
    const board = await createVirtualBoard({ uid: '0123456789abcdef00112233' });
    expect((await waitForDevice(board)).serialNumber).toBe('0123456789ABCDEF00112233');
    await expect(createVirtualBoard({ uid: 'xyz' })).rejects.toMatchObject({ code: 'INVALID_UID' });
    await expect(createVirtualBoard({ board: 'no-such-board' })).rejects.toMatchObject({
      code: 'UNKNOWN_BOARD',
    });
  });
});

describe('faults', () => {
  test('unplug during a transfer: the transfer rejects, the bus-powered board is off until plugged', async () => {
    const board = await createVirtualBoard();
    const device = await waitForDevice(board);
    await openDfu(device);
    board.faults.unplugAfterTransfers(1);
    await setAddress(board, device, APP_BASE).catch(() => undefined);
    await expect(dnload(device, 0, Uint8Array.of(0x41, 0, 0x80, 0, 8))).rejects.toMatchObject({
      name: 'NotFoundError',
    });
    expect(board.mode).toBe('off');
    board.plug();
    await waitForDevice(board);
    expect(board.mode).toBe('bootloader');
  });

  test('unplug at a virtual time', async () => {
    const board = await createVirtualBoard();
    await waitForDevice(board);
    board.faults.unplugAt(500);
    await board.clock.sleep(499 - board.clock.now());
    expect(board.device).not.toBeNull();
    await board.clock.sleep(1);
    expect(board.device).toBeNull();
    expect(board.events.findLast((e) => e.type === 'cable')).toMatchObject({
      plugged: false,
      t: 500,
    });
    expect(board.mode).toBe('off');
  });
});

describe('clock and timing', () => {
  test('virtual sleeps advance time at once and honour abort signals', async () => {
    const clock = new VirtualClock();
    await clock.sleep(1500);
    expect(clock.now()).toBe(1500);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(clock.sleep(10, controller.signal)).rejects.toThrow('stop');
    await expect(clock.sleep(-1)).rejects.toMatchObject({ code: 'INVALID_TIME' });
    const fired: number[] = [];
    clock.schedule(1600, () => fired.push(clock.now()));
    clock.schedule(1550, () => fired.push(clock.now()));
    await clock.sleep(100);
    expect(fired).toEqual([1550, 1600]);
  });

  test('full-speed control transfer model: 45 bytes of overhead for one data packet', () => {
    expect(controlTransferBusMs(64)).toBeCloseTo(((45 + 64) * 8) / 12000, 12);
    expect(controlTransferBusMs(0)).toBeCloseTo(((8 + (2 * 37) / 3) * 8) / 12000, 12);
    expect(controlTransferBusMs(2048)).toBeGreaterThan((2048 * 8) / 12000);
  });

  test('the same session gives the same events and the same duration on every run', async () => {
    const run = async () => {
      const board = await createVirtualBoard();
      const device = await waitForDevice(board);
      await openDfu(device);
      await eraseSector(board, device, 0x08010000);
      await setAddress(board, device, 0x08010000);
      for (let block = 2; block < 6; block++) {
        await dnload(device, block, new Uint8Array(2048).fill(block));
        expect((await pollUntilIdle(board, device)).state).toBe(dfuDNLOAD_IDLE);
      }
      // ABORT returns once every queued block is written.
      const abort = await device.controlTransferOut({
        requestType: 'class',
        recipient: 'interface',
        request: ABORT,
        value: 0,
        index: 0,
      });
      expect(abort.status).toBe('ok');
      return { events: board.events, now: board.clock.now() };
    };
    const first = await run();
    const second = await run();
    expect(second).toEqual(first);
    // Each 2 kB block is programmed in 32 slices of 64 bytes (256 µs each).
    const programs = first.events.filter((e) => e.type === 'program');
    expect(programs).toHaveLength(4 * 32);
    expect(programs.every((e) => e.size === 64 && Math.abs(e.durationMs - 0.256) < 1e-9)).toBe(
      true,
    );
    expect(first.events.find((e) => e.type === 'erase')).toMatchObject({
      address: 0x08010000,
      size: 0x10000,
      durationMs: 550,
    });
    // Enumeration (~130 ms) + 550 ms erase + 4 × (8.192 ms program + a few frames of USB).
    expect(first.now).toBeGreaterThan(130 + 550 + 4 * 8.192);
    expect(first.now).toBeLessThan(130 + 550 + 4 * 8.192 + 100);
  });
});

describe('loading the core', () => {
  test('the main entry takes bytes; without them in Node it says to use the node entry', async () => {
    const board = await createBrowserBoard({ wasm: await readWasm('blackpill-f411') });
    expect((await waitForDevice(board)).productName).toBe('stm32dfu bootloader');
    await expect(createBrowserBoard()).rejects.toMatchObject({
      code: 'WASM_LOAD_FAILED',
      message: expect.stringContaining('@stm32dfu/virtual-board/node'),
    });
    await expect(createBrowserBoard({ wasm: new Uint8Array([1, 2, 3]) })).rejects.toMatchObject({
      code: 'WASM_LOAD_FAILED',
    });
  });
});
