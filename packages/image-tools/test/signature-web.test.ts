/**
 * The browser-safe check (`verifySignature`, Web Crypto) on the shared vectors: every verdict
 * the bootloader's C check and `/node`'s `checkSignature` give, and the anti-rollback counter.
 * The web flasher's browser tests run the same module in Chromium.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  computeBoardId,
  computeKeyId,
  SparseImage,
  stampImage,
  verifySignature,
} from '../src/index.ts';
import { boardIdOf, checkSignature, keyIdOf, rawPublicKey, signImage } from '../src/node.ts';
import { board, boardWord, imageOf, key, REGION, vectors } from './signature-vectors.ts';

describe('verifySignature on the shared vectors', () => {
  it('holds one vector per verdict the bootloader gives', () => {
    expect(new Set(vectors.map((v) => v[3]))).toEqual(
      new Set([
        'valid',
        'missing',
        'bad-format',
        'wrong-length',
        'wrong-board',
        'unknown-key',
        'bad-digest',
        'bad-signature',
      ]),
    );
  });

  it('computes the board id word and key ids as /node does', async () => {
    expect(await computeBoardId(board!)).toBe(Number.parseInt(boardWord!, 16));
    expect(await computeBoardId(board!)).toBe(boardIdOf(board!));
    expect(await computeKeyId(key)).toBe(keyIdOf(key));
  });

  for (const [, name, base, verdict, counter, image] of vectors) {
    it(`${name}: ${verdict}, with the board's id as a string or as its word`, async () => {
      const img = imageOf(base!, image!);
      const byName = await verifySignature(img, REGION, { publicKeys: [key], boardId: board! });
      expect(byName.verdict, byName.message).toBe(verdict);
      const node = checkSignature(img, REGION, { publicKeys: [key], boardId: board! });
      expect(byName.verdict).toBe(node.verdict);
      if (verdict !== 'wrong-board') expect(byName.message).toBe(node.message);
      if (verdict !== 'missing') expect(byName.trailer?.securityCounter).toBe(Number(counter));
      const byWord = await verifySignature(img, REGION, {
        publicKeys: [key],
        boardId: Number.parseInt(boardWord!, 16),
      });
      expect(byWord.verdict).toBe(verdict);
    });
  }

  it('a key the board does not hold is unknown-key even for the valid image', async () => {
    const [, , base, , , image] = vectors.find((v) => v[1] === 'valid')!;
    const other = rawPublicKey(generateKeyPairSync('ed25519').publicKey);
    const check = await verifySignature(imageOf(base!, image!), REGION, {
      publicKeys: [other],
      boardId: board!,
    });
    expect(check.verdict).toBe('unknown-key');
    expect(check.message).toMatch(/which the board does not hold/);
  });
});

describe('verifySignature with the board counter', () => {
  const [, , base, , counterText, image] = vectors.find((v) => v[1] === 'valid')!;
  const valid = imageOf(base!, image!);
  const counter = Number(counterText); // 5
  const check = (options: { counter?: number; counterCapacity?: number }) =>
    verifySignature(valid, REGION, { publicKeys: [key], boardId: board!, ...options });

  it('an image at or above the board counter is valid; below it is rolled-back', async () => {
    expect((await check({ counter, counterCapacity: 512 })).verdict).toBe('valid');
    expect((await check({ counter: counter - 1, counterCapacity: 512 })).verdict).toBe('valid');
    const rolled = await check({ counter: counter + 1, counterCapacity: 512 });
    expect(rolled.verdict).toBe('rolled-back');
    expect(rolled.message).toBe(
      "The image's security counter is 5, below the board's 6: the board refuses older firmware (anti-rollback).",
    );
  });

  it('an image above what the board can record is counter-too-high', async () => {
    const high = await check({ counter: 0, counterCapacity: counter - 1 });
    expect(high.verdict).toBe('counter-too-high');
    expect(high.message).toMatch(/above the 4 the board can record/);
  });

  it('a board that keeps no counter (capacity 0) checks neither', async () => {
    expect((await check({ counter: 99, counterCapacity: 0 })).verdict).toBe('valid');
  });

  it('the counter is checked only after the signature', async () => {
    const [, , b, , , tampered] = vectors.find((v) => v[3] === 'bad-signature')!;
    const result = await verifySignature(imageOf(b!, tampered!), REGION, {
      publicKeys: [key],
      boardId: board!,
      counter: 99,
      counterCapacity: 512,
    });
    expect(result.verdict).toBe('bad-signature');
  });
});

describe('verifySignature on images signed here', () => {
  it('agrees with checkSignature on a fresh key, and finds the right key among several', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const bytes = new Uint8Array(3000).fill(0x22);
    new DataView(bytes.buffer).setUint32(0, 0x20020000, true);
    new DataView(bytes.buffer).setUint32(4, 0x08008101, true);
    bytes.fill(0, 0x1c, 0x2c);
    const stamped = stampImage(SparseImage.fromBytes(REGION.start, bytes), REGION, {
      version: '3.1.4',
    });
    const signed = signImage(stamped, REGION, {
      privateKey,
      securityCounter: 7,
      boardId: 'blackpill-f411',
    });
    const others = [1, 2].map(() => rawPublicKey(generateKeyPairSync('ed25519').publicKey));
    const result = await verifySignature(signed, REGION, {
      publicKeys: [...others, rawPublicKey(privateKey)],
      boardId: 'blackpill-f411',
      counter: 7,
      counterCapacity: 512,
    });
    expect(result.verdict, result.message).toBe('valid');
    expect(result.trailer?.securityCounter).toBe(7);
    expect(
      (await verifySignature(stamped, REGION, { publicKeys: others, boardId: 'x' })).verdict,
    ).toBe('missing');
  });
});
