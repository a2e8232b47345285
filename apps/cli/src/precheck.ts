/**
 * Before `flash` sends anything to a board that requires signatures: would it take this
 * image? The same checks as the bootloader's, in its order (docs/signed-firmware.md), against
 * the board's own security record (GET_SECURITY): a trailer, its format and length, the
 * board id, a key the board holds, the image's SHA-256, the Ed25519 signature when the public
 * key is known here, then the anti-rollback counter. An image the board would refuse is
 * never sent: its refusal would cost the installed application (the first erase revokes it).
 */
import { basename, extname } from 'node:path';
import { readSignatureTrailer, type SparseImage } from '@stm32dfu/image-tools';
import { checkSignature } from '@stm32dfu/image-tools/node';
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

/**
 * What the board would say about `image` (image-tools' `checkSignature`, the bootloader's
 * checks in its order, against the board's record: its key ids, board id and counter).
 */
export function precheckImage(
  image: SparseImage,
  layout: BoardLayout,
  record: SecurityRecord,
  publicKeys: readonly PublicKey[],
): PrecheckResult {
  const region = layout.partitions.application;
  const check = checkSignature(image, region, {
    publicKeys: publicKeys.filter((k) => record.keyIds.includes(k.keyId)).map((k) => k.raw),
    keyIds: record.keyIds.map((id) => Number.parseInt(id, 16)),
    boardId: Number.parseInt(record.boardId, 16),
    counter: record.counter,
    counterCapacity: record.counterCapacity,
  });
  const signatureChecked = check.signatureChecked !== false && check.verdict !== 'missing';
  if (check.verdict === 'valid') return { refusal: undefined, signatureChecked };
  const trailer = check.trailer ?? readSignatureTrailer(image, region);
  const facts = trailer && {
    keyId: formatId(trailer.keyId),
    boardId: formatId(trailer.boardId),
    securityCounter: trailer.securityCounter,
  };
  return {
    refusal: { verdict: check.verdict, record, ...(facts ? { image: facts } : {}) },
    signatureChecked: check.verdict === 'bad-signature',
  };
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
