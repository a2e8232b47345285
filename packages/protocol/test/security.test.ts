/**
 * The protocol against a locked virtual board (docs/signed-firmware.md): it reads the board's
 * security record, flashes and verifies a signed image with CRCs of whole sectors only (a
 * locked board answers no other), says "locked" when asked to read, and names the board's
 * verdict when it refuses an image.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SparseImage } from '@stm32dfu/image-tools';
import { boardIdOf, keyIdOf, rawPublicKey, signImage } from '@stm32dfu/image-tools/node';
import type { VirtualBoardSigning } from '@stm32dfu/virtual-board';
import { createVirtualBoard } from '@stm32dfu/virtual-board/node';
import { describe, expect, it } from 'vitest';
import {
  type DfuDevice,
  DfuStatusError,
  download,
  formatId,
  LockedError,
  planDownload,
  upload,
} from '../src/index.ts';
import { makeApp } from './app-image.ts';
import { backToDfu, flashDifference, imageOf, openBootloader } from './board-helpers.ts';

const APP_BASE = 0x08008000;
const REGION = { start: APP_BASE, size: 480 * 1024 };

function keyPair(): { privateKey: KeyObject; raw: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, raw: rawPublicKey(publicKey) };
}
const product = keyPair();
const stranger = keyPair();

/** A 40 kB application (sectors 2 and 3, 16 kB each, and part of the 64 kB sector 4) signed as `stm32dfu sign` does. */
function signedApp(counter: number, key = product.privateKey, seed = 1): Uint8Array {
  const app = makeApp(40 * 1024, seed);
  const signed = signImage(SparseImage.fromBytes(APP_BASE, app), REGION, {
    privateKey: key,
    securityCounter: counter,
    boardId: 'blackpill-f411',
  });
  return signed.read(APP_BASE, signed.end - APP_BASE, 0xff);
}

async function lockedBoard(signing: Partial<VirtualBoardSigning> = {}) {
  const board = await createVirtualBoard({
    signing: { keys: [product.raw], lockUpload: true, ...signing },
  });
  return { board, device: await openBootloader(board) };
}

/** Record the CRC commands (DNLOAD block 0, 0xB1) the host sends: [address, length]. */
function recordCrcCommands(device: DfuDevice): [number, number][] {
  const seen: [number, number][] = [];
  const usb = device.usb;
  const send = usb.controlTransferOut.bind(usb);
  usb.controlTransferOut = (setup, data) => {
    const bytes =
      data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : data && new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (setup.request === 1 && setup.value === 0 && bytes?.[0] === 0xb1 && bytes.length === 9) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, 9);
      seen.push([view.getUint32(1, true), view.getUint32(5, true)]);
    }
    return send(setup, data);
  };
  return seen;
}

describe('a locked board', () => {
  it('tells its policy, keys, board id and counter; ST’s ROM stalls the request', async () => {
    const { device } = await lockedBoard();
    expect(await device.readSecurity()).toEqual({
      format: 1,
      signaturesRequired: true,
      verifyAtBoot: false,
      uploadLocked: true,
      flashProtected: false,
      checkBuiltIn: true,
      keyIds: [formatId(keyIdOf(product.raw))],
      boardId: formatId(boardIdOf('blackpill-f411')),
      counter: 0,
      counterCapacity: 512,
      lastVerdict: 'none',
    });
    const open = await openBootloader(await createVirtualBoard());
    expect(await open.readSecurity()).toMatchObject({
      signaturesRequired: false,
      uploadLocked: false,
      keyIds: [],
    });
    const rom = await openBootloader(await createVirtualBoard({ boot0: true }), 'rom');
    expect(await rom.readSecurity()).toBeUndefined();
    // The stall left the ROM's DFU state machine alone: it still reads.
    await expect(upload(rom, [{ address: APP_BASE, length: 16 }])).resolves.toBeDefined();
  });

  it('takes a signed image, compared and verified by CRCs of whole sectors, and raises its counter', async () => {
    const { board, device } = await lockedBoard();
    const image = signedApp(3);
    const result = await download(device, imageOf(image, APP_BASE), {
      leave: true,
      usb: board.usb,
    });
    expect(result).toMatchObject({ verified: 'crc', left: true, outcome: 'reported' });
    expect(flashDifference(board, APP_BASE, image)).toBeNull();
    await board.clock.sleep(500);
    expect(board.mode).toBe('application');

    const again = await backToDfu(board);
    expect(await again.readSecurity()).toMatchObject({ counter: 3 });
    // The same image again: every sector compared by CRC and skipped.
    const crcs = recordCrcCommands(again);
    const plan = await planDownload(again, imageOf(image, APP_BASE));
    expect(plan.sectors.map((s) => s.action)).toEqual(['skip', 'skip', 'skip']);
    expect(crcs).toEqual([
      [APP_BASE, 0x4000],
      [APP_BASE + 0x4000, 0x4000],
      [APP_BASE + 0x8000, 0x10000],
    ]);
  });

  it('refuses to be read with an error that says it is locked', async () => {
    const { device } = await lockedBoard();
    const error = await upload(device, [{ address: APP_BASE, length: 1024 }]).catch((e) => e);
    expect(error).toBeInstanceOf(LockedError);
    expect(error.code).toBe('LOCKED');
    expect(error.message).toMatch(/the board is locked .*no UPLOAD/);
  });

  it.each([
    [
      'an unsigned image',
      () => makeApp(40 * 1024),
      'missing',
      /the image is not signed, and the board installs only images signed with key [0-9a-f]{8}/,
    ],
    [
      'an image signed with another key',
      () => signedApp(1, stranger.privateKey),
      'unknown-key',
      new RegExp(
        `signed with a key it does not hold \\(key id ${formatId(keyIdOf(stranger.raw))}\\); it holds key ${formatId(keyIdOf(product.raw))}`,
      ),
    ],
  ])('names its verdict when it refuses %s', async (_name, image, verdict, message) => {
    const { device } = await lockedBoard();
    const error = (await download(device, imageOf(image(), APP_BASE), { leave: true }).catch(
      (e) => e,
    )) as DfuStatusError;
    expect(error).toBeInstanceOf(DfuStatusError);
    expect(error.statusName).toBe('errFIRMWARE');
    expect(error.refusal?.verdict).toBe(verdict);
    expect(error.message).toMatch(/^The board refused the image: /);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/stm32dfu sign/);
  });

  it('names the counters when it refuses a rolled-back image', async () => {
    const { board, device } = await lockedBoard({ lockUpload: false });
    await download(device, imageOf(signedApp(5), APP_BASE), { leave: true, usb: board.usb });
    const again = await backToDfu(board);
    const error = (await download(again, imageOf(signedApp(4, undefined, 2), APP_BASE), {
      leave: true,
    }).catch((e) => e)) as DfuStatusError;
    expect(error.refusal).toMatchObject({
      verdict: 'rolled-back',
      image: { securityCounter: 4 },
      record: { counter: 5 },
    });
    expect(error.message).toMatch(/security counter 4 is below the board's 5/);
    expect(error.message).toMatch(/--counter 5/);
  });
});
