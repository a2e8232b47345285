/**
 * Before `flash` sends anything to a board that requires signatures: would it take this
 * image? The same checks as the bootloader's, in its order (docs/signed-firmware.md), against
 * the board's own security record (GET_SECURITY): a trailer, its format and length, the
 * board id, a key the board holds, the image's SHA-256, the Ed25519 signature when the public
 * key is known here, then the anti-rollback counter. An image the board would refuse is
 * never sent: its refusal would cost the installed application (the first erase revokes it).
 */
import { createHash, verify } from 'node:crypto';
import { basename, extname } from 'node:path';
import {
  readSignatureTrailer,
  readStamp,
  SIGNATURE_FORMAT,
  type SparseImage,
} from '@stm32dfu/image-tools';
import { publicKeyFromRaw } from '@stm32dfu/image-tools/node';
import type { BoardLayout } from '@stm32dfu/layout';
import {
  describeRefusal,
  formatId,
  type SecurityRecord,
  type SignatureRefusal,
} from '@stm32dfu/protocol';
import { CliError, EXIT } from './errors.js';
import type { PublicKey } from './keys.js';

export interface PrecheckResult {
  /** The refusal the board would give, or undefined when it would take the image. */
  readonly refusal: SignatureRefusal | undefined;
  /** Whether the Ed25519 signature itself was checked (needs the public key here). */
  readonly signatureChecked: boolean;
}

/** What the board would say about `image`; only boards that require signatures check. */
export function precheckImage(
  image: SparseImage,
  layout: BoardLayout,
  record: SecurityRecord,
  publicKeys: readonly PublicKey[],
): PrecheckResult {
  const refuse = (verdict: SignatureRefusal['verdict'], facts?: SignatureRefusal['image']) => ({
    refusal: { verdict, record, ...(facts ? { image: facts } : {}) },
    signatureChecked: false,
  });
  const region = layout.partitions.application;
  const trailer = readSignatureTrailer(image, region);
  if (!trailer) return refuse('missing');
  const facts = {
    keyId: formatId(trailer.keyId),
    boardId: formatId(trailer.boardId),
    securityCounter: trailer.securityCounter,
  };
  const stamp = readStamp(image, region);
  if (trailer.format !== SIGNATURE_FORMAT) return refuse('bad-format', facts);
  if (trailer.imageLength !== stamp.length) return refuse('wrong-length', facts);
  if (facts.boardId !== record.boardId) return refuse('wrong-board', facts);
  if (!record.keyIds.includes(facts.keyId)) return refuse('unknown-key', facts);
  const digest = createHash('sha256')
    .update(image.read(region.start, stamp.length, 0xff))
    .digest();
  if (!digest.equals(Buffer.from(trailer.digest))) return refuse('bad-digest', facts);
  const key = publicKeys.find((k) => k.keyId === facts.keyId);
  if (key && !verify(null, trailer.signedBlock, publicKeyFromRaw(key.raw), trailer.signature)) {
    return { ...refuse('bad-signature', facts), signatureChecked: true };
  }
  if (record.counterCapacity > 0) {
    if (trailer.securityCounter < record.counter) return refuse('rolled-back', facts);
    if (trailer.securityCounter > record.counterCapacity) return refuse('counter-too-high', facts);
  }
  return { refusal: undefined, signatureChecked: key !== undefined };
}

/** What the verdict is about, for the first words of the message. */
const FIELD: Record<SignatureRefusal['verdict'], string> = {
  missing: 'signature',
  'bad-format': 'signature trailer format',
  'wrong-length': 'signed length',
  'wrong-board': 'board id',
  'unknown-key': 'key id',
  'bad-digest': 'SHA-256 digest',
  'bad-signature': 'Ed25519 signature',
  'rolled-back': 'security counter',
  'counter-too-high': 'security counter',
};

/** The error `flash` stops with: the file, the field, the board, what to do. */
export function refusalError(file: string, board: string, refusal: SignatureRefusal): CliError {
  const ext = extname(file);
  const signedImage = `${basename(file, ext)}.signed${ext || '.bin'}`;
  return new CliError(
    'IMAGE_REFUSED',
    `${file}: ${FIELD[refusal.verdict]}: ${board} would refuse it, so nothing was sent: ` +
      describeRefusal(refusal, { image: file, signedImage }),
    EXIT.IMAGE_REFUSED,
  );
}
