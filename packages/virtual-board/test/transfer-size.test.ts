/**
 * The `transferSize` option: our bootloader announcing and serving a smaller wTransferSize,
 * run by the real C core (firmware/src/port/wasm/port.c overrides the profile at reset).
 */
import { getLayout } from '@stm32dfu/layout';
import { describe, expect, test } from 'vitest';
import { parseConfigurationDescriptor } from '../src/descriptors.ts';
import {
  DEFAULT_TRANSFER_SIZE,
  type UsbDeviceLike,
  VirtualBoard,
  type VirtualBoardOptions,
} from '../src/index.ts';
import { createVirtualBoard, readWasm } from '../src/node.ts';
import { type CoreHardware, WasmCore } from '../src/wasm-core.ts';
import { compileWasm } from '../src/wasm-loader.ts';
import {
  dfuDNLOAD_IDLE,
  dfuERROR,
  dfuIDLE,
  dnload,
  getStatus,
  makeApplication,
  openDfu,
  pollUntilIdle,
  setAddress,
  UPLOAD,
  waitForDevice,
} from './dfu-helpers.ts';

const layout = getLayout('blackpill-f411');
const APP_BASE = layout.partitions.application.start;
const STALLED_PKT = 15;

/** What the board documents: whole 64-byte packets, from one packet to one 2 kB buffer. */
const served = (n: number) => Number.isInteger(n) && n >= 64 && n <= 2048 && n % 64 === 0;

async function announcedTransferSize(device: UsbDeviceLike): Promise<number | undefined> {
  const setup = { requestType: 'standard', recipient: 'device', request: 6, index: 0 } as const;
  const head = await device.controlTransferIn({ ...setup, value: 0x0200 }, 9);
  const total = head.data!.getUint16(2, true);
  const full = await device.controlTransferIn({ ...setup, value: 0x0200 }, total);
  const bytes = new Uint8Array(full.data!.buffer, full.data!.byteOffset, full.data!.byteLength);
  // DFU 1.1 §4.2.4: one functional descriptor, after the interface's alt settings.
  const interfaces = parseConfigurationDescriptor(bytes).interfaces;
  return interfaces.find((i) => i.dfuFunctional)?.dfuFunctional?.wTransferSize;
}

const upload = (device: UsbDeviceLike, block: number, length: number) =>
  device.controlTransferIn(
    { requestType: 'class', recipient: 'interface', request: UPLOAD, value: block, index: 0 },
    length,
  );

describe('the transferSize option', () => {
  test.each([0, 32, 100, 1000, 2049, 4096, 63.5, Number.NaN, -64])(
    'refuses %s with a typed error that names the value and says what to give',
    async (size) => {
      const error = await createVirtualBoard({ transferSize: size }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        name: 'VirtualBoardError',
        code: 'INVALID_TRANSFER_SIZE',
        details: { value: String(size) },
      });
      expect((error as Error).message).toContain(`transferSize ${size} `);
      expect((error as Error).message).toMatch(/multiple of 64 .* from 64 to 2048/);
    },
  );

  test('the board accepts exactly the sizes the compiled core serves', async () => {
    const module = await compileWasm(await readWasm('blackpill-f411'), 'blackpill-f411');
    // Only the size check is called: no hardware is touched.
    const core = await WasmCore.instantiate(module, {} as CoreHardware);
    for (let n = 0; n <= 4160; n++)
      expect(core.supportsTransferSize(n), `size ${n}`).toBe(served(n));
    const boardAccepts = (n: number) => {
      try {
        new VirtualBoard(layout, { transferSize: n } as VirtualBoardOptions);
        return true;
      } catch {
        return false;
      }
    };
    for (let n = 0; n <= 4160; n += 16) expect(boardAccepts(n), `size ${n}`).toBe(served(n));
  });

  test('our bootloader announces the size, takes blocks up to it and stalls longer ones', async () => {
    const board = await createVirtualBoard({ transferSize: 64 });
    expect(board.transferSize).toBe(64);
    const device = await waitForDevice(board);
    await openDfu(device);
    expect(await announcedTransferSize(device)).toBe(64);
    await setAddress(board, device, APP_BASE + 0x4000);
    expect((await dnload(device, 2, new Uint8Array(64).fill(0x3c))).status).toBe('ok');
    expect((await pollUntilIdle(board, device)).state).toBe(dfuDNLOAD_IDLE);
    expect((await dnload(device, 3, new Uint8Array(65).fill(0x3c))).status).toBe('stall');
    expect(await getStatus(device)).toMatchObject({ state: dfuERROR, status: STALLED_PKT });
    expect(board.readFlash(APP_BASE + 0x4000, 128)).toEqual(
      Uint8Array.from({ length: 128 }, (_, i) => (i < 64 ? 0x3c : 0xff)),
    );
  });

  test('uploads are limited to the size; the default board and ST ROM keep 2048', async () => {
    const small = await createVirtualBoard({ transferSize: 256 });
    const device = await waitForDevice(small);
    await openDfu(device);
    await setAddress(small, device, APP_BASE);
    await device.controlTransferOut({
      requestType: 'class',
      recipient: 'interface',
      request: 6, // ABORT: UPLOAD starts from dfuIDLE
      value: 0,
      index: 0,
    });
    expect((await upload(device, 2, 256)).data?.byteLength).toBe(256);
    expect((await upload(device, 3, 257)).status).toBe('stall');

    const plain = await createVirtualBoard();
    expect(plain.transferSize).toBe(DEFAULT_TRANSFER_SIZE);
    const plainDevice = await waitForDevice(plain);
    await openDfu(plainDevice);
    expect(await announcedTransferSize(plainDevice)).toBe(2048);

    const rom = await createVirtualBoard({ transferSize: 64, boot0: true });
    const romDevice = await waitForDevice(rom);
    await openDfu(romDevice);
    expect(rom.mode).toBe('rom');
    expect(await announcedTransferSize(romDevice)).toBe(2048);
  });

  test('blocks that straddle the held first 2 kB (192 bytes) still leave a bootable image', async () => {
    const board = await createVirtualBoard({ transferSize: 192 });
    const device = await waitForDevice(board);
    await openDfu(device);
    const app = makeApplication(10 * 1024);
    await setAddress(board, device, APP_BASE);
    // Block 12 covers [APP_BASE + 1920, APP_BASE + 2112): 128 held bytes, 64 for the flash.
    for (let offset = 0, block = 2; offset < app.length; offset += 192, block++) {
      const data = app.subarray(offset, offset + 192);
      expect((await dnload(device, block, data)).status).toBe('ok');
      expect((await pollUntilIdle(board, device)).state).toBe(dfuDNLOAD_IDLE);
    }
    // Before manifestation the vector table and stamp are only in RAM; the rest is in flash.
    expect(board.readFlash(APP_BASE, 2048).every((b) => b === 0xff)).toBe(true);
    expect(board.readFlash(APP_BASE + 2048, app.length - 2048)).toEqual(app.subarray(2048));
    expect((await dnload(device, 0, new Uint8Array(0))).status).toBe('ok');
    expect((await pollUntilIdle(board, device)).state).toBe(dfuIDLE);
    await device.reset(); // DFU 1.1 §8: a bus reset starts the new firmware
    await board.clock.sleep(200);
    expect(board.mode).toBe('application');
    expect(board.readFlash(APP_BASE, app.length)).toEqual(app);
  });
});
