/**
 * The signature trailer of a signed application image (docs/signed-firmware.md): 128 bytes
 * right after the stamped image (at application base + the stamp's length), all fields
 * little-endian. Mirrored in firmware/src/core/signature.h, checked against the same
 * vectors (fixtures/signature-vectors.txt).
 *
 *   0  u32 magic 0x4E474953 ("SIGN")     24 u32 key id (first 4 bytes of SHA-256(public key))
 *   4  u32 format (1)                    28 32 bytes SHA-256 of the image [base, base + length)
 *   8  u32 image length (= stamp length) 60 u32 reserved, 0
 *  12  u32 version (as the stamp's)      64 64 bytes Ed25519 signature of bytes 0–63
 *  16  u32 security counter
 *  20  u32 board id (first 4 bytes of SHA-256 of the board id, e.g. "blackpill-f411")
 */
import { hex, ImageError } from './errors.js';
import { type ImageLike, SparseImage } from './sparse-image.js';
import { type AppStamp, readStamp, STAMP_MAGIC, type StampRegion } from './stamp.js';

/** First word of a signature trailer: bytes "SIGN". */
export const SIGNATURE_MAGIC = 0x4e474953;
/** Trailer format version the tools write and the bootloader accepts. */
export const SIGNATURE_FORMAT = 1;
/** Bytes in a signature trailer: the 64-byte signed block and the 64-byte Ed25519 signature. */
export const SIGNATURE_TRAILER_LENGTH = 128;
/** Bytes 0–63 of the trailer are what the signature covers. */
export const SIGNED_BLOCK_LENGTH = 64;

/**
 * What the bootloader concludes about a signed image, in the order it checks: `valid`, or the
 * first check that failed. `rolled-back` and `counter-too-high` come after a valid signature,
 * from the board's anti-rollback counter.
 */
export type SignatureVerdict =
  | 'valid'
  | 'missing'
  | 'bad-format'
  | 'wrong-length'
  | 'wrong-board'
  | 'unknown-key'
  | 'bad-digest'
  | 'bad-signature'
  | 'rolled-back'
  | 'counter-too-high';

/**
 * Every verdict at its number in the bootloader (`sig_verdict_t` in firmware/src/crypto/
 * signature.h). The bootloader reports a verdict as that number + 1, 0 meaning none: byte 17
 * of the DfuSe report and byte 3 of the security record.
 */
export const SIGNATURE_VERDICTS: readonly SignatureVerdict[] = [
  'valid',
  'missing',
  'bad-format',
  'wrong-length',
  'wrong-board',
  'unknown-key',
  'bad-digest',
  'bad-signature',
  'rolled-back',
  'counter-too-high',
];

/**
 * The result of checking a signature (`checkSignature` in `/node`, `verifySignature` with Web
 * Crypto): the verdict, the trailer as found and a sentence explaining it.
 */
export interface SignatureCheck {
  readonly verdict: SignatureVerdict;
  readonly trailer?: SignatureTrailer;
  /** One sentence for people. */
  readonly message: string;
  /**
   * False when the check went past the Ed25519 signature without checking it: the board's key
   * was known by its id only (`keyIds`), not given as a public key. The board checks it.
   */
  readonly signatureChecked?: boolean;
}

/**
 * Steps of the anti-rollback counter a board keeps in the STM32F4's OTP area: 64 bytes, one
 * bit per step.
 */
export const SECURITY_COUNTER_CAPACITY = 512;

/**
 * The fields of the trailer's signed block (bytes 0–63): image length, version, counter, board and
 * key ids and the image's SHA-256 digest.
 */
export interface SignedBlock {
  readonly format: number;
  /** Bytes of the image the digest covers: the stamp's length. */
  readonly imageLength: number;
  readonly version: number;
  /** Anti-rollback: a board refuses an image whose counter is below its own. */
  readonly securityCounter: number;
  readonly boardId: number;
  readonly keyId: number;
  readonly digest: Uint8Array;
}

/**
 * A trailer as read from an image: its fields, where it starts, and the raw signed block and
 * signature bytes.
 */
export interface SignatureTrailer extends SignedBlock {
  /** Where the trailer starts. */
  readonly address: number;
  readonly signedBlock: Uint8Array;
  readonly signature: Uint8Array;
}

/** The 64 bytes a signature covers. */
export function encodeSignedBlock(block: SignedBlock): Uint8Array {
  if (block.digest.length !== 32) {
    throw new ImageError(
      'INVALID_ARGUMENT',
      `The image digest must be 32 bytes (SHA-256), not ${block.digest.length}.`,
    );
  }
  const out = new Uint8Array(SIGNED_BLOCK_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint32(0, SIGNATURE_MAGIC, true);
  view.setUint32(4, block.format, true);
  view.setUint32(8, block.imageLength, true);
  view.setUint32(12, block.version, true);
  view.setUint32(16, block.securityCounter, true);
  view.setUint32(20, block.boardId, true);
  view.setUint32(24, block.keyId, true);
  out.set(block.digest, 28);
  return out;
}

/** The trailer of a stamped image, or undefined when the bytes after the image carry none. */
export function readSignatureTrailer(
  image: ImageLike,
  region: StampRegion,
): SignatureTrailer | undefined {
  const img = SparseImage.from(image);
  const stamp = readStamp(img, region);
  if (stamp.magic !== STAMP_MAGIC) return undefined;
  const address = region.start + stamp.length;
  if (stamp.length % 4 !== 0 || stamp.length + SIGNATURE_TRAILER_LENGTH > region.size)
    return undefined;
  const bytes = img.read(address, SIGNATURE_TRAILER_LENGTH, 0xff);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== SIGNATURE_MAGIC) return undefined;
  return {
    address,
    format: view.getUint32(4, true),
    imageLength: view.getUint32(8, true),
    version: view.getUint32(12, true),
    securityCounter: view.getUint32(16, true),
    boardId: view.getUint32(20, true),
    keyId: view.getUint32(24, true),
    digest: bytes.slice(28, 60),
    signedBlock: bytes.slice(0, SIGNED_BLOCK_LENGTH),
    signature: bytes.slice(SIGNED_BLOCK_LENGTH, SIGNATURE_TRAILER_LENGTH),
  };
}

/** The stamp of an image about to be signed; an unstamped image is refused. */
export function stampToSign(image: SparseImage, region: StampRegion): AppStamp {
  const stamp = readStamp(image, region);
  if (stamp.magic !== STAMP_MAGIC) {
    throw new ImageError(
      'INVALID_ARGUMENT',
      `The image is not stamped at ${hex(region.start + 0x1c)}: stamp it before signing.`,
    );
  }
  return stamp;
}

/** A stamped image with a trailer appended at base + stamp length. */
export function appendSignatureTrailer(
  image: ImageLike,
  region: StampRegion,
  signedBlock: Uint8Array,
  signature: Uint8Array,
): SparseImage {
  const img = SparseImage.from(image);
  const stamp = stampToSign(img, region);
  if (stamp.length + SIGNATURE_TRAILER_LENGTH > region.size) {
    throw new ImageError(
      'OUTSIDE_REGION',
      `The image and its ${SIGNATURE_TRAILER_LENGTH}-byte signature need ${stamp.length + SIGNATURE_TRAILER_LENGTH} bytes from ` +
        `${hex(region.start)}, but the application region holds ${region.size}.`,
      { address: region.start + region.size },
    );
  }
  const trailer = new Uint8Array(SIGNATURE_TRAILER_LENGTH);
  trailer.set(signedBlock.subarray(0, SIGNED_BLOCK_LENGTH), 0);
  trailer.set(signature.subarray(0, 64), SIGNED_BLOCK_LENGTH);
  const body = img.read(region.start, stamp.length, 0xff);
  const out = new Uint8Array(stamp.length + SIGNATURE_TRAILER_LENGTH);
  out.set(body, 0);
  out.set(trailer, stamp.length);
  return SparseImage.fromBytes(region.start, out);
}
