/**
 * The bootloader's signature check (`sig_check_image`, docs/signed-firmware.md) as steps
 * shared by the two hosts' checks — `checkSignature` (Node's crypto, `/node`) and
 * `verifySignature` (Web Crypto, async) — so the order of the checks and what each verdict
 * says are written once; each host only supplies its hashing and Ed25519. Internal: not
 * exported from the package's entry points.
 */
import { hex } from './errors.js';
import {
  readSignatureTrailer,
  SECURITY_COUNTER_CAPACITY,
  SIGNATURE_FORMAT,
  type SignatureCheck,
  type SignatureTrailer,
} from './signature.js';
import type { SparseImage } from './sparse-image.js';
import { readStamp, type StampRegion } from './stamp.js';

/** What the steps before any cryptography found: a verdict, or the trailer to go on with. */
export type TrailerFound =
  | { readonly check: SignatureCheck }
  | { readonly trailer: SignatureTrailer; readonly body: Uint8Array };

/**
 * The checks that need no cryptography, in the bootloader's order: a trailer after the stamped
 * image (*missing*), its format (*bad-format*), its length against the stamp's
 * (*wrong-length*). Gives the signed bytes (`body`) to hash on success.
 */
export function findTrailer(img: SparseImage, region: StampRegion): TrailerFound {
  const trailer = readSignatureTrailer(img, region);
  if (!trailer) {
    return {
      check: {
        verdict: 'missing',
        message: 'The image is not signed: no signature trailer follows the stamped image.',
      },
    };
  }
  const stamp = readStamp(img, region);
  const at = hex(trailer.address);
  if (trailer.format !== SIGNATURE_FORMAT) {
    return {
      check: {
        verdict: 'bad-format',
        trailer,
        message: `The signature at ${at} has format ${trailer.format}; this version reads format ${SIGNATURE_FORMAT}.`,
      },
    };
  }
  if (trailer.imageLength !== stamp.length) {
    return {
      check: {
        verdict: 'wrong-length',
        trailer,
        message: `The signature at ${at} covers ${trailer.imageLength} bytes, the stamp ${stamp.length}.`,
      },
    };
  }
  return { trailer, body: img.read(region.start, stamp.length, 0xff) };
}

/** *wrong-board*: signed for another board than `board` (its name, for the message). */
export function wrongBoard(trailer: SignatureTrailer, board: string): SignatureCheck {
  return {
    verdict: 'wrong-board',
    trailer,
    message: `The image at ${hex(trailer.address)} is signed for another board (${hex(trailer.boardId)}), not ${board}.`,
  };
}

/** *unknown-key*: no key the board holds has the trailer's key id. */
export function unknownKey(trailer: SignatureTrailer): SignatureCheck {
  return {
    verdict: 'unknown-key',
    trailer,
    message: `The image is signed with key ${hex(trailer.keyId)}, which the board does not hold.`,
  };
}

/** *bad-digest* when the image's SHA-256 is not the trailer's, else undefined. */
export function digestCheck(
  trailer: SignatureTrailer,
  digest: Uint8Array,
): SignatureCheck | undefined {
  const same =
    digest.length === trailer.digest.length && digest.every((b, i) => b === trailer.digest[i]);
  if (same) return undefined;
  return {
    verdict: 'bad-digest',
    trailer,
    message:
      'The image differs from what was signed: its SHA-256 does not match the signature trailer.',
  };
}

/** *bad-signature*: the Ed25519 signature does not check with the trailer's key. */
export function badSignature(trailer: SignatureTrailer): SignatureCheck {
  return {
    verdict: 'bad-signature',
    trailer,
    message: `The signature at ${hex(trailer.address)} does not check with key ${hex(trailer.keyId)}.`,
  };
}

/**
 * After a valid signature: the anti-rollback counter (*rolled-back*, *counter-too-high*) when
 * the board's `counter` is given and it keeps one (`capacity`, default 512; 0: none), else
 * *valid*.
 */
export function counterCheck(
  trailer: SignatureTrailer,
  counter: number | undefined,
  capacity: number = SECURITY_COUNTER_CAPACITY,
): SignatureCheck {
  if (counter !== undefined && capacity > 0) {
    if (trailer.securityCounter < counter) {
      return {
        verdict: 'rolled-back',
        trailer,
        message: `The image's security counter is ${trailer.securityCounter}, below the board's ${counter}: the board refuses older firmware (anti-rollback).`,
      };
    }
    if (trailer.securityCounter > capacity) {
      return {
        verdict: 'counter-too-high',
        trailer,
        message: `The image's security counter is ${trailer.securityCounter}, above the ${capacity} the board can record.`,
      };
    }
  }
  return {
    verdict: 'valid',
    trailer,
    message: `Signed with key ${hex(trailer.keyId)}, security counter ${trailer.securityCounter}.`,
  };
}
