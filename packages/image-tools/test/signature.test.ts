/**
 * Signed images (docs/signed-firmware.md): the host's verdicts on the shared vectors, which
 * the bootloader's C check must give too (firmware/tests/test_signature.c), and signing.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  readSignatureTrailer,
  SIGNATURE_TRAILER_LENGTH,
  SIGNATURE_VERDICTS,
  SparseImage,
  stampImage,
} from '../src/index.ts';
import { boardIdOf, checkSignature, keyIdOf, rawPublicKey, signImage } from '../src/node.ts';
import { board, boardWord, imageOf, key, onBoard, REGION, vectors } from './signature-vectors.ts';

describe('signed-image vectors', () => {
  it('the board id word is the first word of SHA-256 of the board id', () => {
    expect(boardIdOf(board!)).toBe(Number.parseInt(boardWord!, 16));
  });

  for (const [, name, base, verdict, counter, image] of vectors) {
    it(`${name}: ${verdict}`, () => {
      const img = imageOf(base!, image!);
      const check = checkSignature(img, REGION, { publicKeys: [key], boardId: board! });
      expect(check.verdict, check.message).toBe(verdict);
      if (verdict !== 'missing') expect(check.trailer?.securityCounter).toBe(Number(counter));
    });
  }
});

describe('checking against a board that lists its key ids only', () => {
  const image = (name: string) => {
    const vector = vectors.find((l) => l[1] === name)!;
    return imageOf(vector[2]!, vector[5]!);
  };
  const ids = { publicKeys: [], keyIds: [keyIdOf(key)], boardId: Number.parseInt(boardWord!, 16) };

  it('passes a signature it cannot check, and says so; the board checks it', () => {
    const valid = checkSignature(image('valid'), REGION, ids);
    expect(valid).toMatchObject({ verdict: 'valid', signatureChecked: false });
    expect(checkSignature(image('signature-changed'), REGION, ids)).toMatchObject({
      verdict: 'valid',
      signatureChecked: false,
    });
    expect(
      checkSignature(image('signature-changed'), REGION, { ...ids, publicKeys: [key] }).verdict,
    ).toBe('bad-signature');
  });

  it('still refuses what needs no key: another board, another key id, a changed image', () => {
    expect(checkSignature(image('other-board'), REGION, ids).verdict).toBe('wrong-board');
    expect(checkSignature(image('other-key'), REGION, ids).verdict).toBe('unknown-key');
    expect(checkSignature(image('image-changed'), REGION, ids).verdict).toBe('bad-digest');
  });
});

describe('anti-rollback counter vectors', () => {
  it('cover every counter verdict, on boards with and without a counter', () => {
    const verdicts = new Set(onBoard.map((l) => l[4]));
    expect([...verdicts]).toEqual(
      expect.arrayContaining(['valid', 'rolled-back', 'counter-too-high']),
    );
    expect(onBoard.some((l) => l[3] === '0')).toBe(true);
  });

  for (const [, name, at, capacity, verdict] of onBoard) {
    it(`${name} on a board at counter ${at} of ${capacity}: ${verdict}`, () => {
      const vector = vectors.find((l) => l[1] === name)!;
      const img = imageOf(vector[2]!, vector[5]!);
      const check = checkSignature(img, REGION, {
        publicKeys: [key],
        boardId: board!,
        counter: Number(at),
        counterCapacity: Number(capacity),
      });
      expect(check.verdict, check.message).toBe(verdict);
    });
  }

  it('checks no counter unless the board says what it reads, and assumes 512 steps', () => {
    const vector = vectors.find((l) => l[1] === 'counter-600')!;
    const img = imageOf(vector[2]!, vector[5]!);
    const options = { publicKeys: [key], boardId: board! };
    expect(checkSignature(img, REGION, options).verdict).toBe('valid');
    const high = checkSignature(img, REGION, { ...options, counter: 0 });
    expect(high.verdict).toBe('counter-too-high');
    expect(high.message).toMatch(/is 600, above the 512 the board can record/);
  });

  it('numbers the verdicts as the bootloader does', () => {
    expect(SIGNATURE_VERDICTS.indexOf('valid')).toBe(0);
    expect(SIGNATURE_VERDICTS.indexOf('bad-signature')).toBe(7);
    expect(SIGNATURE_VERDICTS.indexOf('rolled-back')).toBe(8);
    expect(SIGNATURE_VERDICTS.indexOf('counter-too-high')).toBe(9);
  });
});

describe('signImage', () => {
  function stamped(length: number): SparseImage {
    const bytes = new Uint8Array(length).fill(0x11);
    new DataView(bytes.buffer).setUint32(0, 0x20020000, true);
    new DataView(bytes.buffer).setUint32(4, 0x08008101, true);
    bytes.fill(0, 0x1c, 0x2c);
    return stampImage(SparseImage.fromBytes(REGION.start, bytes), REGION, { version: '2.0.0' });
  }

  it('appends a 128-byte trailer at the stamped length that checks with the signing key only', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const other = rawPublicKey(generateKeyPairSync('ed25519').publicKey);
    const signed = signImage(stamped(1000), REGION, {
      privateKey,
      securityCounter: 9,
      boardId: 'blackpill-f411',
    });
    expect(signed.end - signed.start).toBe(1000 + SIGNATURE_TRAILER_LENGTH);
    const trailer = readSignatureTrailer(signed, REGION)!;
    expect(trailer.address).toBe(REGION.start + 1000);
    expect(trailer).toMatchObject({ securityCounter: 9, version: 0x02000000, imageLength: 1000 });
    const mine = rawPublicKey(privateKey);
    expect(
      checkSignature(signed, REGION, { publicKeys: [other, mine], boardId: 'blackpill-f411' })
        .verdict,
    ).toBe('valid');
    expect(
      checkSignature(signed, REGION, { publicKeys: [other], boardId: 'blackpill-f411' }).verdict,
    ).toBe('unknown-key');
  });

  it('refuses an unstamped image and one whose signature would not fit the region', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const raw = SparseImage.fromBytes(REGION.start, new Uint8Array(64));
    expect(() => signImage(raw, REGION, { privateKey, securityCounter: 0, boardId: 'x' })).toThrow(
      /not stamped/,
    );
    const full = stamped(REGION.size - 64);
    expect(() => signImage(full, REGION, { privateKey, securityCounter: 0, boardId: 'x' })).toThrow(
      /application region holds/,
    );
  });
});
