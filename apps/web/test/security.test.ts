/**
 * The page's signature rules in Node (Web Crypto as in the page): the catalog's optional keys,
 * the board's security record, and what is refused before Install with which message.
 */
import { generateKeyPairSync } from 'node:crypto';
import { SparseImage } from '@stm32dfu/image-tools';
import { boardIdOf, keyIdOf, rawPublicKey, signImage } from '@stm32dfu/image-tools/node';
import { syntheticApplication } from '@stm32dfu/image-tools/testing';
import { getLayout } from '@stm32dfu/layout';
import {
  type DfuDevice,
  formatId,
  ProtocolError,
  parseSecurityRecord,
  type SecurityRecord,
} from '@stm32dfu/protocol';
import { describe, expect, test } from 'vitest';
import { parseManifest } from '../src/catalog.ts';
import { checkImageSignature, describeSecurity, readBoardSecurity } from '../src/security.ts';

const layout = getLayout('blackpill-f411');
const region = layout.partitions.application;
const { privateKey } = generateKeyPairSync('ed25519');
const key = rawPublicKey(privateKey);
const other = rawPublicKey(generateKeyPairSync('ed25519').publicKey);
const app = (version: string) =>
  SparseImage.fromBytes(region.start, syntheticApplication(4096, { version, base: region.start }));
const signed = (counter: number) =>
  signImage(app('2.0.0'), region, {
    privateKey,
    securityCounter: counter,
    boardId: 'blackpill-f411',
  });

function record(over: Partial<SecurityRecord> = {}): SecurityRecord {
  return {
    format: 1,
    signaturesRequired: true,
    verifyAtBoot: false,
    uploadLocked: false,
    flashProtected: false,
    checkBuiltIn: true,
    keyIds: [formatId(keyIdOf(key))],
    boardId: formatId(boardIdOf('blackpill-f411')),
    counter: 3,
    counterCapacity: 512,
    lastVerdict: 'none',
    ...over,
  };
}
const context = (over: Partial<Parameters<typeof checkImageSignature>[1]> = {}) => ({
  layout,
  boardId: 'blackpill-f411',
  catalogKeys: [key],
  fromCatalog: true,
  security: record(),
  ...over,
});

describe('catalog keys', () => {
  const base = { schema: 1, product: 'Widget', releases: [] };
  test('are optional; 64 hex digits each, 1 to 4 of them', () => {
    expect(parseManifest(base, 'https://x.test/m.json').keys).toEqual([]);
    const hex = Buffer.from(key).toString('hex');
    expect(parseManifest({ ...base, keys: [hex] }, 'https://x.test/m.json').keys).toEqual([key]);
    expect(() => parseManifest({ ...base, keys: ['abc'] }, 'https://x.test/m.json')).toThrow(
      /keys\[0\] must be a raw Ed25519 public key: 64 hex digits/,
    );
    expect(() =>
      parseManifest({ ...base, keys: [hex, hex, hex, hex, hex] }, 'https://x.test/m.json'),
    ).toThrow(/"keys" must be a list of 1 to 4 public keys/);
  });
});

/** A DfuDevice whose GET_SECURITY answers `answer` (protocol's `readSecurity`). */
const answering = (answer: () => Promise<SecurityRecord | undefined>) =>
  ({ readSecurity: answer }) as unknown as DfuDevice;

describe('the security record', () => {
  test('is read with the protocol and shown on the board card', async () => {
    const bytes = new DataView(new ArrayBuffer(32));
    bytes.setUint8(0, 1);
    bytes.setUint8(1, 0x80 | 0x04 | 0x01);
    bytes.setUint8(2, 2);
    bytes.setUint32(4, 0x45daa4b7, true);
    bytes.setUint32(8, 7, true);
    bytes.setUint32(12, 512, true);
    bytes.setUint32(16, 0x11223344, true);
    bytes.setUint32(20, 0x55667788, true);
    const parsed = await readBoardSecurity(
      answering(async () => parseSecurityRecord(new Uint8Array(bytes.buffer))),
    );
    expect(parsed).toMatchObject({
      signaturesRequired: true,
      uploadLocked: true,
      verifyAtBoot: false,
      checkBuiltIn: true,
      keyIds: ['11223344', '55667788'],
      boardId: '45daa4b7',
      counter: 7,
      counterCapacity: 512,
    });
    expect(describeSecurity(parsed)).toBe(
      'required: keys 0x11223344, 0x55667788; security counter 7 of 512; upload locked',
    );
  });

  test('is none for a stall, a failed read or a format the page does not read', async () => {
    expect(await readBoardSecurity(answering(async () => undefined))).toBeUndefined();
    const failed = answering(() => Promise.reject(new ProtocolError('PROTOCOL', 'short reply')));
    expect(await readBoardSecurity(failed)).toBeUndefined();
    expect(await readBoardSecurity(answering(async () => record({ format: 2 })))).toBeUndefined();
    expect(describeSecurity(undefined)).toBe(
      'no security record (this bootloader does not check signatures)',
    );
  });
});

describe('the check before Install', () => {
  test('a signed release at or above the board counter is accepted', async () => {
    const d = await checkImageSignature(signed(3), context());
    expect(d.ok).toBe(true);
    expect(d.text).toMatch(/security counter 3 \(the board’s is 3\); the board accepts it/);
  });

  test('a locked board refuses unsigned, rolled-back, foreign-key and altered images', async () => {
    expect((await checkImageSignature(app('2.0.0'), context({ fromCatalog: false }))).verdict).toBe(
      'missing',
    );
    const rolled = await checkImageSignature(signed(2), context());
    expect(rolled).toMatchObject({ ok: false, verdict: 'rolled-back' });
    expect(rolled.text).toMatch(
      /below the board's 3.*Install a newer release\. Nothing was written/,
    );
    const foreign = await checkImageSignature(
      signed(3),
      context({
        security: record({ keyIds: [formatId(keyIdOf(other))] }),
        catalogKeys: [key, other],
      }),
    );
    expect(foreign).toMatchObject({ ok: false, verdict: 'unknown-key' });
    const altered = signed(3).read(region.start, 4096 + 128, 0xff);
    altered[100] = (altered[100] ?? 0) ^ 1;
    const d = await checkImageSignature(SparseImage.fromBytes(region.start, altered), context());
    expect(d).toMatchObject({ ok: false, verdict: 'bad-digest' });
  });

  test('a key the board holds but the page does not know is refused with what to open', async () => {
    const d = await checkImageSignature(signed(3), context({ catalogKeys: [] }));
    expect(d.ok).toBe(false);
    expect(d.text).toMatch(/holds but this page does not know.*open the product’s release catalog/);
  });

  test('without a locked board, a release must check with the catalog keys', async () => {
    const unlocked = context({ security: record({ signaturesRequired: false }) });
    expect((await checkImageSignature(signed(0), unlocked)).ok).toBe(true);
    const unsignedRelease = await checkImageSignature(app('2.0.0'), unlocked);
    expect(unsignedRelease.ok).toBe(false);
    expect(unsignedRelease.text).toMatch(/^The catalog lists signing keys, but this release/);
    // An unsigned file from the computer on an unlocked board is the user's choice.
    expect(
      (await checkImageSignature(app('2.0.0'), { ...unlocked, fromCatalog: false })).text,
    ).toBe('Not signed.');
  });
});
