/**
 * Signed firmware in the page (docs/signed-firmware.md): the board's security record, read
 * with @stm32dfu/protocol's `DfuDevice.readSecurity()` (the bootloader's vendor request
 * GET_SECURITY), and the check the page makes before Install with Web Crypto
 * (`verifySignature`), against the catalog's keys and the board's.
 */
import {
  computeKeyId,
  readSignatureTrailer,
  type SignatureVerdict,
  type SparseImage,
  verifySignature,
} from '@stm32dfu/image-tools';
import type { BoardLayout } from '@stm32dfu/layout';
import { type DfuDevice, formatId, type SecurityRecord } from '@stm32dfu/protocol';

/** The record format this page reads. */
const RECORD_FORMAT = 1;

/**
 * The record of a board in its bootloader, or undefined when it has none (ST's ROM, an
 * stm32dfu bootloader older than the request: they stall it), when it cannot be read, or in
 * a format this page does not read.
 */
export async function readBoardSecurity(dfu: DfuDevice): Promise<SecurityRecord | undefined> {
  const record = await dfu.readSecurity().catch(() => undefined);
  return record?.format === RECORD_FORMAT ? record : undefined;
}

/** A key id (8 hex digits, as `stm32dfu keygen` prints it, or its word) as the page shows it. */
export const keyIdText = (id: string | number) => `0x${typeof id === 'number' ? formatId(id) : id}`;

/** The board card's line about signed firmware. */
export function describeSecurity(record: SecurityRecord | undefined): string {
  if (!record) return 'no security record (this bootloader does not check signatures)';
  const counter =
    record.counterCapacity > 0
      ? `security counter ${record.counter} of ${record.counterCapacity}`
      : 'no security counter';
  if (!record.signaturesRequired) {
    return record.checkBuiltIn
      ? `not required (signature check built in; ${counter})`
      : 'not required';
  }
  const keys = record.keyIds.map(keyIdText).join(', ') || 'none';
  const extra = [
    record.verifyAtBoot ? 'checked at every boot' : '',
    record.uploadLocked ? 'upload locked' : '',
  ].filter(Boolean);
  return `required: keys ${keys}; ${counter}${extra.length ? `; ${extra.join(', ')}` : ''}`;
}

/** What the page concludes about an image before Install. */
export interface SignatureDecision {
  /** False: refused, and `text` says why and what to do. */
  readonly ok: boolean;
  readonly text: string;
  readonly verdict?: SignatureVerdict;
}

export interface SignatureContext {
  readonly layout: BoardLayout;
  /** The board id images are signed for ("blackpill-f411"). */
  readonly boardId: string;
  /** The catalog's public keys (raw 32 bytes); empty without a catalog or without keys. */
  readonly catalogKeys: readonly Uint8Array[];
  /** Where the image came from: a catalog release must be signed when the catalog lists keys. */
  readonly fromCatalog: boolean;
  /** The board's record; undefined when the board has none or it is not known yet. */
  readonly security: SecurityRecord | undefined;
}

const ADVICE: Record<Exclude<SignatureVerdict, 'valid'>, string> = {
  missing: 'Install a signed build, such as a release from the product’s catalog.',
  'bad-format': 'Sign it again with this version of the tools (stm32dfu sign).',
  'wrong-length': 'Sign it again after the last change to the image (stm32dfu sign).',
  'wrong-board': 'Use the build made for this board.',
  'unknown-key': 'Use a build signed with one of the keys the board holds.',
  'bad-digest':
    'The file was changed after it was signed: download it again from its publisher, and tell them if it persists.',
  'bad-signature':
    'The file was changed after it was signed: download it again from its publisher, and tell them if it persists.',
  'rolled-back': 'Install a newer release.',
  'counter-too-high': 'The board cannot record this counter; ask the publisher.',
};

const NOTHING_WRITTEN = 'Nothing was written to the board.';
const RESTARTED = 'Nothing was written to the board; its application was started again.';

/** A refusal's text once the application the board ran before the check runs again. */
function restartedText(text: string): string {
  return text.endsWith(NOTHING_WRITTEN)
    ? `${text.slice(0, -NOTHING_WRITTEN.length)}${RESTARTED}`
    : `${text} Its application was started again.`;
}

/**
 * The page's check of an image's signature before Install: against the board's record when it
 * requires signatures (its key ids, board id and counter; the raw keys come from the catalog),
 * else against the catalog's keys for a release, or a signed file, when the catalog lists keys.
 */
export async function checkImageSignature(
  image: SparseImage,
  context: SignatureContext,
): Promise<SignatureDecision> {
  const region = context.layout.partitions.application;
  const trailer = readSignatureTrailer(image, region);
  const { security } = context;
  if (security?.signaturesRequired) {
    // The board gives key ids only: the raw keys to check with are the catalog's that it holds.
    const known: Uint8Array[] = [];
    const knownIds: string[] = [];
    for (const key of context.catalogKeys) {
      const id = formatId(await computeKeyId(key));
      if (security.keyIds.includes(id)) {
        known.push(key);
        knownIds.push(id);
      }
    }
    const trailerKeyId = trailer && formatId(trailer.keyId);
    if (trailerKeyId && security.keyIds.includes(trailerKeyId)) {
      if (!knownIds.includes(trailerKeyId)) {
        return {
          ok: false,
          verdict: 'unknown-key',
          text: `The image is signed with key ${keyIdText(trailer.keyId)}, which the board holds but this page does not know, so it cannot check the signature: open the product’s release catalog (its ?manifest= link), which lists its public keys. ${NOTHING_WRITTEN}`,
        };
      }
    }
    const result = await verifySignature(image, region, {
      publicKeys: known,
      // The record gives the board id word in hex; verifySignature takes the word as a number.
      boardId: Number.parseInt(security.boardId, 16),
      counter: security.counter,
      counterCapacity: security.counterCapacity,
    });
    if (result.verdict === 'valid') {
      return {
        ok: true,
        verdict: 'valid',
        text: `Signature checked in this page: key ${keyIdText(result.trailer!.keyId)}, security counter ${result.trailer!.securityCounter} (the board’s is ${security.counter}); the board accepts it.`,
      };
    }
    return {
      ok: false,
      verdict: result.verdict,
      text: `The board requires firmware signed with its keys and would refuse this image: ${result.message} ${ADVICE[result.verdict]} ${NOTHING_WRITTEN}`,
    };
  }
  if (context.catalogKeys.length > 0 && (context.fromCatalog || trailer)) {
    const result = await verifySignature(image, region, {
      publicKeys: context.catalogKeys,
      boardId: context.boardId,
    });
    if (result.verdict === 'valid') {
      return {
        ok: true,
        verdict: 'valid',
        text: `Signature checked in this page: key ${keyIdText(result.trailer!.keyId)} from the catalog, security counter ${result.trailer!.securityCounter}.`,
      };
    }
    const what = context.fromCatalog
      ? 'The catalog lists signing keys, but this release does not check with them'
      : 'The file is signed, but not as the catalog’s keys say it should be';
    return {
      ok: false,
      verdict: result.verdict,
      text: `${what}: ${result.message} ${ADVICE[result.verdict]} ${NOTHING_WRITTEN}`,
    };
  }
  if (trailer) {
    return {
      ok: true,
      text: `Signed with key ${keyIdText(trailer.keyId)}, security counter ${trailer.securityCounter}; not checked here (no catalog keys).`,
    };
  }
  return { ok: true, text: 'Not signed.' };
}

/**
 * The check refused the image with the board in its bootloader: `message` is the decision's
 * text, which also says so when the application the board ran was started again.
 */
export class SignatureRefused extends Error {
  override readonly name = 'SignatureRefused';
  constructor(
    readonly decision: SignatureDecision,
    /** The board's record the check was made with. */
    readonly record: SecurityRecord | undefined,
    /** The install sent the board back to the application it was running (nothing written). */
    readonly applicationRestarted = false,
  ) {
    super(applicationRestarted ? restartedText(decision.text) : decision.text);
  }

  /** The same refusal, once the board runs its application again. */
  withApplicationRestarted(): SignatureRefused {
    return new SignatureRefused(this.decision, this.record, true);
  }
}

/**
 * The check just before writing (install's `beforeWrite`), as the page and the
 * `<stm32dfu-install>` element make it: the board's record, read now that it is in its
 * bootloader, then `checkImageSignature` with it. Throws SignatureRefused on a refusal.
 */
export async function checkBeforeWrite(
  dfu: DfuDevice,
  image: SparseImage,
  context: Omit<SignatureContext, 'security'>,
): Promise<{ readonly record: SecurityRecord | undefined; readonly decision: SignatureDecision }> {
  const record = await readBoardSecurity(dfu);
  const decision = await checkImageSignature(image, { ...context, security: record });
  if (!decision.ok) throw new SignatureRefused(decision, record);
  return { record, decision };
}
