/**
 * A virtual board created locked with a user's keys runs the bootloader's own signature check
 * (the core's wasm build compiles firmware/src/crypto): a signed image installs and boots,
 * anything else is refused and leaves the board in the bootloader with its counter as it was;
 * the anti-rollback counter lives in the modelled OTP area; a locked board refuses UPLOAD.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SparseImage } from '@stm32dfu/image-tools';
import { rawPublicKey, signImage } from '@stm32dfu/image-tools/node';
import { restampApplication, syntheticApplication } from '@stm32dfu/image-tools/testing';
import { describe, expect, it } from 'vitest';
import type { UsbDeviceLike, VirtualBoard, VirtualBoardSigning } from '../src/index.ts';
import { createVirtualBoard } from '../src/node.ts';
import {
  dfuERROR,
  dfuIDLE,
  dnload,
  eraseSector,
  getStatus,
  openDfu,
  pollUntilIdle,
  setAddress,
  UPLOAD,
  waitForDevice,
} from './dfu-helpers.ts';

const APP = 0x08008000;
const REGION = { start: APP, size: 480 * 1024 };
const SECTOR_SIZES = [16384, 16384, 16384, 65536];
const errFIRMWARE = 10;
const errTARGET = 1;

function keyPair(): { privateKey: KeyObject; raw: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, raw: rawPublicKey(publicKey) };
}

const product = keyPair();
const stranger = keyPair();

/** A 20 kB application signed with `key` at `counter`, as `stm32dfu sign` writes it. */
function signedApp(counter: number, key = product.privateKey, seed = 1): Uint8Array {
  const app = syntheticApplication(20 * 1024, { seed, version: '1.0.0' });
  const signed = signImage(SparseImage.fromBytes(APP, app), REGION, {
    privateKey: key,
    securityCounter: counter,
    boardId: 'blackpill-f411',
  });
  return signed.read(APP, signed.end - APP, 0xff);
}

async function lockedBoard(signing: Partial<VirtualBoardSigning> = {}) {
  const board = await createVirtualBoard({ signing: { keys: [product.raw], ...signing } });
  const device = await waitForDevice(board);
  await openDfu(device);
  return { board, device };
}

/** Erase the sectors the image needs, send it in 2 kB blocks, end with a zero-length DNLOAD. */
async function download(board: VirtualBoard, device: UsbDeviceLike, image: Uint8Array) {
  let sector = APP;
  for (const size of SECTOR_SIZES) {
    if (sector >= APP + image.length) break;
    await eraseSector(board, device, sector);
    sector += size;
  }
  await setAddress(board, device, APP);
  for (let offset = 0, block = 2; offset < image.length; offset += 2048, block++) {
    const r = await dnload(device, block, image.subarray(offset, offset + 2048));
    expect(r.status).toBe('ok');
    await pollUntilIdle(board, device);
  }
  await dnload(device, 0, new Uint8Array(0));
  const manifest = await getStatus(device);
  lastManifestPollMs = manifest.pollTimeout;
  await board.clock.sleep(manifest.pollTimeout);
  return pollUntilIdle(board, device);
}

/** bwPollTimeout of the GETSTATUS that announced the last manifestation. */
let lastManifestPollMs = 0;

interface SecurityRecord {
  flags: number;
  keyCount: number;
  verdict: number;
  counter: number;
  capacity: number;
  keyId0: number;
}

/** GET_SECURITY (bootloader.h): vendor request 0x53 to the DFU interface. */
async function security(device: UsbDeviceLike): Promise<SecurityRecord> {
  const r = await device.controlTransferIn(
    { requestType: 'vendor', recipient: 'interface', request: 0x53, value: 0, index: 0 },
    32,
  );
  expect(r.status).toBe('ok');
  const d = r.data!;
  expect(d.byteLength).toBe(32);
  return {
    flags: d.getUint8(1),
    keyCount: d.getUint8(2),
    verdict: d.getUint8(3),
    counter: d.getUint32(8, true),
    capacity: d.getUint32(12, true),
    keyId0: d.getUint32(16, true),
  };
}

/** Power-cycle and report where the board ended up. */
async function powerCycle(board: VirtualBoard) {
  board.power(false);
  board.power(true);
  await board.clock.sleep(300);
  return board.events.filter((e) => e.type === 'boot').at(-1);
}

describe('a virtual board created locked with a user’s keys', () => {
  it('installs and boots a signed image and raises its counter in OTP', async () => {
    const { board, device } = await lockedBoard();
    const before = await security(device);
    expect(before).toMatchObject({ flags: 0x81, keyCount: 1, counter: 0, capacity: 512 });
    expect(board.signing?.keys).toEqual([Buffer.from(product.raw).toString('hex')]);

    const done = await download(board, device, signedApp(3));
    expect(done.state).not.toBe(dfuERROR);
    // The host is told to wait for the signature check too (docs/signature-cost.md: about
    // 0.7 s for a 20 kB image at 96 MHz), not only for the flash work.
    expect(lastManifestPollMs).toBeGreaterThanOrEqual(600);
    const after = await security(device);
    expect(after.counter).toBe(3);
    expect(after.verdict).toBe(1); // valid + 1
    // Thermometer in the last 64 OTP bytes: three bits cleared, lowest first.
    expect(board.otp[448]).toBe(0xf8);
    expect(board.otp.subarray(449).every((b) => b === 0xff)).toBe(true);
    expect(await powerCycle(board)).toMatchObject({ verdict: 'jump' });
    expect(board.mode).toBe('application');
  });

  it.each([
    ['unsigned', () => syntheticApplication(20 * 1024, { version: '1.0.0' }), 2],
    ['signed with a key the board does not hold', () => signedApp(3, stranger.privateKey), 6],
  ])('refuses an image %s and stays in the bootloader', async (_name, image, verdict) => {
    const { board, device } = await lockedBoard();
    const done = await download(board, device, image());
    expect(done).toMatchObject({ state: dfuERROR, status: errFIRMWARE });
    expect((await security(device)).verdict).toBe(verdict);
    expect(await powerCycle(board)).toMatchObject({ verdict: 'bad-stamp' });
    expect(board.mode).toBe('bootloader');
    expect(board.otp.every((b) => b === 0xff)).toBe(true);
  });

  it('refuses a rolled-back image, keeps the counter and boots nothing', async () => {
    const { board, device } = await lockedBoard();
    await download(board, device, signedApp(5));
    const done = await download(board, device, signedApp(4, product.privateKey, 2));
    expect(done).toMatchObject({ state: dfuERROR, status: errFIRMWARE });
    const record = await security(device);
    expect(record).toMatchObject({ verdict: 9, counter: 5 }); // SIG_ROLLED_BACK + 1
    // The installed image was revoked before its sectors were erased; nothing boots.
    expect(await powerCycle(board)).toMatchObject({ verdict: 'bad-stamp' });
    // The same counter again is accepted.
    const device2 = await waitForDevice(board);
    await openDfu(device2);
    const again = await download(board, device2, signedApp(5, product.privateKey, 3));
    expect(again.state).not.toBe(dfuERROR);
  });

  it('revokes an installed image with zeros over its written magic word', async () => {
    const { board, device } = await lockedBoard();
    await download(board, device, signedApp(1));
    expect(new DataView(board.readFlash(APP + 0x1c, 4).buffer).getUint32(0, true)).toBe(0x504d5453);
    // Any change to the application region first zeroes the magic (programmed over it).
    await eraseSector(board, device, APP + 0x10000);
    expect(Array.from(board.readFlash(APP + 0x1c, 4))).toEqual([0, 0, 0, 0]);
    expect(await powerCycle(board)).toMatchObject({ verdict: 'bad-stamp' });
  });

  it('refuses UPLOAD when locked, clears bitCanUpload and CRCs whole sectors only', async () => {
    const { board, device } = await lockedBoard({ lockUpload: true });
    const dfuFunctional = board.device!.configuration!.interfaces[0]!;
    expect(dfuFunctional).toBeDefined();
    const config = await device.controlTransferIn(
      { requestType: 'standard', recipient: 'device', request: 6, value: 0x0200, index: 0 },
      255,
    );
    const bytes = new Uint8Array(config.data!.buffer);
    const functional = bytes.findIndex((b, i) => b === 9 && bytes[i + 1] === 0x21);
    expect(bytes[functional + 2]! & 0x02).toBe(0); // bitCanUpload
    expect((await security(device)).flags & 0x04).toBe(0x04);

    await setAddress(board, device, APP);
    const upload = await device.controlTransferIn(
      { requestType: 'class', recipient: 'interface', request: UPLOAD, value: 2, index: 0 },
      2048,
    );
    expect(upload.status).toBe('stall');
    await device.controlTransferOut({
      requestType: 'class',
      recipient: 'interface',
      request: 4,
      value: 0,
      index: 0,
    });
    expect((await getStatus(device)).state).toBe(dfuIDLE);

    const crc = (address: number, length: number) =>
      dnload(device, 0, Uint8Array.from([0xb1, ...le(address), ...le(length)])).then(() =>
        pollUntilIdle(board, device),
      );
    expect(await crc(APP, 16384)).toMatchObject({ state: 5, status: 0 });
    expect(await crc(APP, 4)).toMatchObject({ state: dfuERROR, status: errTARGET });
  });

  it('checks the signature at every boot when asked to', async () => {
    const { board, device } = await lockedBoard({ verifyAtBoot: true });
    const image = signedApp(1);
    await download(board, device, image);
    expect(await powerCycle(board)).toMatchObject({ verdict: 'jump' });
    // A probe rewrites one byte of the application and fixes its stamp CRC: the stamp checks,
    // the signature does not.
    const tampered = syntheticApplication(20 * 1024, { version: '1.0.0' });
    tampered[0x400] = tampered[0x400]! ^ 0xff;
    board.writeFlash(APP, restampApplication(tampered, { version: '1.0.0' }));
    expect(await powerCycle(board)).toMatchObject({ verdict: 'bad-signature' });
    expect(board.mode).toBe('bootloader');
  });
});

function le(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
}
