/**
 * Signing and checking signed images with Node's crypto (Ed25519, RFC 8032; SHA-256): the
 * host side of docs/signed-firmware.md. The bootloader's check (firmware/src/crypto/
 * signature.c) gives the same verdicts on the same vectors (fixtures/signature-vectors.txt).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { hex, ImageError } from './errors.js';
import {
  appendSignatureTrailer,
  encodeSignedBlock,
  SIGNATURE_FORMAT,
  type SignatureCheck,
  stampToSign,
} from './signature.js';
import {
  badSignature,
  counterCheck,
  digestCheck,
  findTrailer,
  unknownKey,
  wrongBoard,
} from './signature-steps.js';

export type { SignatureCheck, SignatureVerdict } from './signature.js';

import { type ImageLike, SparseImage } from './sparse-image.js';
import type { StampRegion } from './stamp.js';

/** DER prefixes that wrap a raw 32-byte Ed25519 key (RFC 8410). */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function firstWord(bytes: Uint8Array): number {
  const digest = createHash('sha256').update(bytes).digest();
  return digest.readUInt32LE(0);
}

/** The key id in a trailer: the first 4 bytes of SHA-256 of the raw public key, little-endian. */
export function keyIdOf(publicKey: Uint8Array): number {
  return firstWord(publicKey);
}

/** The board id in a trailer: the first 4 bytes of SHA-256 of the board id string. */
export function boardIdOf(boardId: string): number {
  return firstWord(new TextEncoder().encode(boardId));
}

/**
 * The 32 raw bytes of an Ed25519 public key (of a public key, or of a private key's public half),
 * the form the bootloader's key list and `keyIdOf` take.
 */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const der = (key.type === 'private' ? createPublicKey(key) : key).export({
    format: 'der',
    type: 'spki',
  });
  return new Uint8Array(der.subarray(SPKI_PREFIX.length));
}

/** A Node public key object from 32 raw Ed25519 public-key bytes, for `crypto.verify`. */
export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** An Ed25519 private key from its 32-byte seed (RFC 8032 §5.1.5's secret key). */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
}

/**
 * What `signImage` needs: the Ed25519 private key, the anti-rollback security counter and the board
 * the image is for.
 */
export interface SignImageOptions {
  readonly privateKey: KeyObject;
  readonly securityCounter: number;
  /** The board the image is for (its layout id, e.g. "blackpill-f411"). */
  readonly boardId: string;
}

/** Sign a stamped image: the trailer goes right after the stamped length. */
export function signImage(
  image: ImageLike,
  region: StampRegion,
  options: SignImageOptions,
): SparseImage {
  const img = SparseImage.from(image);
  const stamp = stampToSign(img, region);
  if (
    !Number.isInteger(options.securityCounter) ||
    options.securityCounter < 0 ||
    options.securityCounter > 0xffffffff
  ) {
    throw new ImageError(
      'INVALID_ARGUMENT',
      `The security counter ${options.securityCounter} is not a 32-bit unsigned number.`,
    );
  }
  const body = img.read(region.start, stamp.length, 0xff);
  const block = encodeSignedBlock({
    format: SIGNATURE_FORMAT,
    imageLength: stamp.length,
    version: stamp.version,
    securityCounter: options.securityCounter,
    boardId: boardIdOf(options.boardId),
    keyId: keyIdOf(rawPublicKey(options.privateKey)),
    digest: createHash('sha256').update(body).digest(),
  });
  const signature = sign(null, block, options.privateKey);
  return appendSignatureTrailer(img, region, block, signature);
}

/**
 * The board `checkSignature` checks an image for: its keys and id and, optionally, its
 * anti-rollback counter.
 */
export interface CheckSignatureOptions {
  /** The raw 32-byte Ed25519 public keys the board holds (1 to 4), as far as they are known. */
  readonly publicKeys: readonly Uint8Array[];
  /**
   * The ids of the keys the board holds, as its security record lists them, when not all of its
   * public keys are known here: an image signed with one of these whose public key is not in
   * `publicKeys` passes with `signatureChecked: false` (the board checks the signature itself).
   * Default: the ids of `publicKeys`.
   */
  readonly keyIds?: readonly number[];
  /** The board's layout id, e.g. "blackpill-f411", or its board id word as its record reports it. */
  readonly boardId: string | number;
  /**
   * The board's security counter (GET_SECURITY's `counter`). When given, a valid image with a
   * lower counter is `rolled-back`; left out, the counter is not checked.
   */
  readonly counter?: number;
  /**
   * Steps the board's counter can record (default `SECURITY_COUNTER_CAPACITY`); an image above
   * it is `counter-too-high`. 0: the board keeps no counter, so it is not checked.
   */
  readonly counterCapacity?: number;
}

/**
 * What the bootloader will say about an image's signature, in the same order of checks; with
 * `counter`, also what its anti-rollback counter says.
 */
export function checkSignature(
  image: ImageLike,
  region: StampRegion,
  options: CheckSignatureOptions,
): SignatureCheck {
  const found = findTrailer(SparseImage.from(image), region);
  if ('check' in found) return found.check;
  const { trailer, body } = found;
  const board = options.boardId;
  if (trailer.boardId !== (typeof board === 'number' ? board : boardIdOf(board))) {
    return wrongBoard(trailer, typeof board === 'number' ? `board id ${hex(board)}` : board);
  }
  const key = options.publicKeys.find((k) => keyIdOf(k) === trailer.keyId);
  if (!key && !options.keyIds?.includes(trailer.keyId)) return unknownKey(trailer);
  const bad = digestCheck(trailer, createHash('sha256').update(body).digest());
  if (bad) return bad;
  if (key && !verify(null, trailer.signedBlock, publicKeyFromRaw(key), trailer.signature)) {
    return badSignature(trailer);
  }
  const result = counterCheck(trailer, options.counter, options.counterCapacity);
  return key ? result : { ...result, signatureChecked: false };
}
