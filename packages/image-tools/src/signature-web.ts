/**
 * Checking a signed image with Web Crypto (`globalThis.crypto.subtle`: SHA-256 and Ed25519),
 * so a browser can do it: the web flasher checks an image before it sends anything to a board.
 * The checks, their order and their verdicts are those of the bootloader's `sig_check_image`
 * and of `checkSignature` in `@stm32dfu/image-tools/node` (docs/signed-firmware.md), plus the
 * bootloader's anti-rollback checks when a counter is given.
 */
import { hex, ImageError } from './errors.js';
import type { SignatureCheck } from './signature.js';
import {
  badSignature,
  counterCheck,
  digestCheck,
  findTrailer,
  unknownKey,
  wrongBoard,
} from './signature-steps.js';
import { type ImageLike, SparseImage } from './sparse-image.js';
import type { StampRegion } from './stamp.js';

/** What `verifySignature` checks an image against: a board's keys, id and counter. */
export interface VerifySignatureOptions {
  /** The raw 32-byte Ed25519 public keys the board holds. */
  readonly publicKeys: readonly Uint8Array[];
  /**
   * The board's id (its layout id, e.g. "blackpill-f411"), or the board id word itself as a
   * board's security record reports it.
   */
  readonly boardId: string | number;
  /** The board's anti-rollback counter: an image whose counter is below it is `rolled-back`. */
  readonly counter?: number;
  /**
   * The highest counter the board can record: an image above it is `counter-too-high`. A board
   * that keeps no counter reports 0, and then neither counter check applies (as on the board).
   */
  readonly counterCapacity?: number;
}

/**
 * The part of Web Crypto used here, declared locally: the main entry compiles without the DOM
 * or Node types, and both browsers and Node 20 provide `globalThis.crypto.subtle`.
 */
interface SubtleLike {
  digest(algorithm: 'SHA-256', data: Uint8Array): Promise<ArrayBuffer>;
  importKey(
    format: 'raw',
    key: Uint8Array,
    algorithm: { name: 'Ed25519' },
    extractable: false,
    usages: ['verify'],
  ): Promise<unknown>;
  verify(
    algorithm: { name: 'Ed25519' },
    key: unknown,
    signature: Uint8Array,
    data: Uint8Array,
  ): Promise<boolean>;
}

function subtle(): SubtleLike {
  const s = (globalThis as { crypto?: { subtle?: SubtleLike } }).crypto?.subtle;
  if (!s) {
    throw new ImageError(
      'INVALID_ARGUMENT',
      'Web Crypto (crypto.subtle) is not available here: signatures can be checked only in a secure context (https or localhost) of a current browser, or in Node 20 or later.',
    );
  }
  return s;
}

async function firstWordOfSha256(bytes: Uint8Array): Promise<number> {
  const digest = await subtle().digest('SHA-256', bytes);
  return new DataView(digest).getUint32(0, true);
}

/** The key id in a trailer (first 4 bytes of SHA-256 of the raw public key, little-endian). */
export function computeKeyId(publicKey: Uint8Array): Promise<number> {
  return firstWordOfSha256(publicKey);
}

/** The board id word in a trailer (first 4 bytes of SHA-256 of the board id string). */
export function computeBoardId(boardId: string): Promise<number> {
  // TextEncoder is in every browser and Node; declared here as the main entry has no DOM types.
  const { TextEncoder } = globalThis as unknown as {
    TextEncoder: new () => { encode(text: string): Uint8Array };
  };
  return firstWordOfSha256(new TextEncoder().encode(boardId));
}

async function ed25519Verify(
  publicKey: Uint8Array,
  signature: Uint8Array,
  message: Uint8Array,
): Promise<boolean> {
  const s = subtle();
  try {
    const key = await s.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
    return await s.verify({ name: 'Ed25519' }, key, signature, message);
  } catch (error) {
    // A key that is not a point on the curve verifies nothing; a missing algorithm is a
    // platform problem, said as such.
    if ((error as { name?: unknown } | null)?.name === 'NotSupportedError') {
      throw new ImageError(
        'INVALID_ARGUMENT',
        'This browser has no Ed25519 in Web Crypto: use a current Chromium, Firefox or Safari, or Node 20 or later.',
      );
    }
    return false;
  }
}

/**
 * What a board will say about an image's signature, checked here with Web Crypto in the
 * bootloader's order: a trailer after the stamped image, its format, its length against the
 * stamp's, the board id, a key the board holds with the trailer's key id, the image's
 * SHA-256, the Ed25519 signature, then (with `counter`) the anti-rollback counter.
 */
export async function verifySignature(
  image: ImageLike,
  region: StampRegion,
  options: VerifySignatureOptions,
): Promise<SignatureCheck> {
  const found = findTrailer(SparseImage.from(image), region);
  if ('check' in found) return found.check;
  const { trailer, body } = found;
  const named = typeof options.boardId === 'string';
  const boardWord = named ? await computeBoardId(options.boardId as string) : options.boardId;
  if (trailer.boardId !== boardWord) {
    return wrongBoard(
      trailer,
      named ? String(options.boardId) : `board id ${hex(boardWord as number)}`,
    );
  }
  let key: Uint8Array | undefined;
  for (const candidate of options.publicKeys) {
    if ((await computeKeyId(candidate)) === trailer.keyId) {
      key = candidate;
      break;
    }
  }
  if (!key) return unknownKey(trailer);
  const bad = digestCheck(trailer, new Uint8Array(await subtle().digest('SHA-256', body)));
  if (bad) return bad;
  if (!(await ed25519Verify(key, trailer.signature, trailer.signedBlock))) {
    return badSignature(trailer);
  }
  return counterCheck(trailer, options.counter, options.counterCapacity);
}
