/**
 * Our bootloader's security record (vendor request GET_SECURITY, firmware/src/core/
 * bootloader.h, docs/signed-firmware.md): what a board that checks signatures enforces,
 * the keys it holds, its anti-rollback counter and why it refused the last image. ST's ROM
 * and bootloaders older than the record stall the request.
 *
 * The record is 32 bytes, little-endian (docs/bootloader-core.md, "GET_SECURITY"):
 *
 *   0  u8  format (1)                    8  u32 security counter
 *   1  u8  flags                        12  u32 counter capacity (0: no counter kept)
 *   2  u8  key count (0–4)              16  u32[4] key ids (0 when unused)
 *   3  u8  last verdict + 1 (0: none)
 *   4  u32 board id word
 *
 * firmware/tests/test_security.c asserts the bytes that test/security-record.test.ts decodes.
 */
import { SIGNATURE_VERDICTS, type SignatureVerdict } from '@stm32dfu/image-tools';
import { ProtocolError } from './errors.js';

/** bRequest of GET_SECURITY (bmRequestType 0xC1: IN, vendor, recipient the DFU interface). */
export const USB_REQ_GET_SECURITY = 0x53;
/** Bytes of the security record. */
export const SECURITY_RECORD_LENGTH = 32;

/** Flag bits of the record's byte 1. */
const FLAG_REQUIRED = 0x01;
const FLAG_VERIFY_AT_BOOT = 0x02;
const FLAG_LOCK_UPLOAD = 0x04;
const FLAG_PROTECT_FLASH = 0x08;
const FLAG_CHECK_BUILT = 0x80;

/** What GET_SECURITY says about a board. */
export interface SecurityRecord {
  /** Record format (1). */
  readonly format: number;
  /** The board installs only images signed by one of `keyIds`. */
  readonly signaturesRequired: boolean;
  /** The board checks the signature and counter at every boot too. */
  readonly verifyAtBoot: boolean;
  /** Upload lock-down: UPLOAD refused (bitCanUpload clear), CRCs of whole sectors only. */
  readonly uploadLocked: boolean;
  /** The bootloader sets read protection level 1 and write-protects its own sectors. */
  readonly flashProtected: boolean;
  /** The signature check is compiled into the bootloader. */
  readonly checkBuiltIn: boolean;
  /** The keys it holds: the first 4 bytes of SHA-256 of each raw public key, 8 hex digits. */
  readonly keyIds: readonly string[];
  /** The board id word images must carry (first 4 bytes of SHA-256 of the board's id), 8 hex digits. */
  readonly boardId: string;
  /** The anti-rollback counter: images below it are refused. */
  readonly counter: number;
  /** The highest counter the board can keep; 0 when it keeps none. */
  readonly counterCapacity: number;
  /**
   * The last manifestation's verdict since reset (byte 3, numbered from 1 in the order of
   * `SIGNATURE_VERDICTS`); `'none'` when none was checked, `'unknown'` for a verdict newer
   * than this version.
   */
  readonly lastVerdict: SignatureVerdict | 'none' | 'unknown';
}

/** A 32-bit id as the tools print it: 8 lowercase hex digits (`stm32dfu keygen`, `sign`). */
export function formatId(word: number): string {
  return (word >>> 0).toString(16).padStart(8, '0');
}

/**
 * Decode the 32 bytes of a GET_SECURITY reply; longer input is read up to its 32 bytes, shorter
 * input is a `ProtocolError`. More than 4 key ids are read as 4.
 */
export function parseSecurityRecord(bytes: Uint8Array): SecurityRecord {
  if (bytes.length < SECURITY_RECORD_LENGTH) {
    throw new ProtocolError(
      'PROTOCOL',
      `A security record is ${SECURITY_RECORD_LENGTH} bytes; got ${bytes.length}.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SECURITY_RECORD_LENGTH);
  const flags = view.getUint8(1);
  const keyCount = Math.min(view.getUint8(2), 4);
  const verdictByte = view.getUint8(3);
  const keyIds: string[] = [];
  for (let i = 0; i < keyCount; i++) keyIds.push(formatId(view.getUint32(16 + 4 * i, true)));
  return {
    format: view.getUint8(0),
    signaturesRequired: (flags & FLAG_REQUIRED) !== 0,
    verifyAtBoot: (flags & FLAG_VERIFY_AT_BOOT) !== 0,
    uploadLocked: (flags & FLAG_LOCK_UPLOAD) !== 0,
    flashProtected: (flags & FLAG_PROTECT_FLASH) !== 0,
    checkBuiltIn: (flags & FLAG_CHECK_BUILT) !== 0,
    keyIds,
    boardId: formatId(view.getUint32(4, true)),
    counter: view.getUint32(8, true),
    counterCapacity: view.getUint32(12, true),
    lastVerdict: verdictByte === 0 ? 'none' : (SIGNATURE_VERDICTS[verdictByte - 1] ?? 'unknown'),
  };
}

/** What an image's signature trailer says, as far as explaining a refusal needs it. */
export interface SignedImageFacts {
  /** Key id the image was signed with, 8 hex digits. */
  readonly keyId: string;
  /** Board id word the image was signed for, 8 hex digits. */
  readonly boardId: string;
  readonly securityCounter: number;
}

/**
 * Why a board refused an image at manifestation: its verdict, its record, and the image's
 * trailer when the host knows the image.
 */
export interface SignatureRefusal {
  readonly verdict: Exclude<SignatureVerdict, 'valid'>;
  readonly record: SecurityRecord;
  /** Undefined for an unsigned image or when the host did not know which image it was. */
  readonly image?: SignedImageFacts | undefined;
}

const keys = (record: SecurityRecord) =>
  record.keyIds.length === 0
    ? 'no key'
    : `key${record.keyIds.length > 1 ? 's' : ''} ${record.keyIds.join(', ')}`;

/** The file names `describeRefusal` puts in the `stm32dfu sign` command it suggests. */
export interface RefusalNames {
  /** The image to sign (default `<image>`). */
  readonly image?: string;
  /** Where to write the signed image (default `<signed image>`). */
  readonly signedImage?: string;
  /** The private key (default `<private key>`). */
  readonly privateKey?: string;
}

/**
 * One sentence on why the board refused (or would refuse) the image, then what to do. Used
 * by the protocol's errors and by hosts that check an image before sending it.
 */
export function describeRefusal(refusal: SignatureRefusal, names: RefusalNames = {}): string {
  const { record, image } = refusal;
  const counter = Math.max(record.counter, image?.securityCounter ?? 0);
  const command = (n: number) =>
    `\`stm32dfu sign ${names.image ?? '<image>'} ${names.signedImage ?? '<signed image>'} ` +
    `--key ${names.privateKey ?? '<private key>'} --counter ${n}`;
  const sign = (extra = '') => `${command(counter)}${extra}\``;
  switch (refusal.verdict) {
    case 'missing':
      return (
        `the image is not signed, and the board installs only images signed with ${keys(record)}: ` +
        `sign it with ${sign()}, using the private key of one of those.`
      );
    case 'bad-format':
      return `its signature trailer has a format this bootloader does not read: sign it again with ${sign()}.`;
    case 'wrong-length':
      return (
        'its signature covers a different length than its stamp (the image was changed or stamped again after it was signed): ' +
        `sign it again after the last change, with ${sign()}.`
      );
    case 'wrong-board':
      return (
        `it is signed for another board${image ? ` (board id ${image.boardId})` : ''}, and this board's id is ${record.boardId}: ` +
        `sign the build for this board with ${sign(' --board <this board>')}.`
      );
    case 'unknown-key':
      return (
        `signed with a key it does not hold${image ? ` (key id ${image.keyId})` : ''}; it holds ${keys(record)}: ` +
        `sign it with ${sign()}, using the private key of one of those.`
      );
    case 'bad-digest':
      return (
        'the image differs from what was signed (its SHA-256 does not match the signature trailer): ' +
        `sign it again after the last change, with ${sign()}.`
      );
    case 'bad-signature':
      return (
        `its signature does not check with key ${image?.keyId ?? 'the one it names'} (not made with that key's private half, or the trailer was altered): ` +
        `sign it again with ${sign()}, using that key's private half.`
      );
    case 'rolled-back':
      return (
        `its security counter${image ? ` ${image.securityCounter}` : ''} is below the board's ${record.counter} ` +
        '(anti-rollback: the board never goes back to older firmware): ' +
        `sign a current build with ${sign()} or higher.`
      );
    case 'counter-too-high':
      return (
        `its security counter${image ? ` ${image.securityCounter}` : ''} is above the most the board can count (${record.counterCapacity}): ` +
        `sign it with a counter from ${record.counter} to ${record.counterCapacity}, e.g. ${command(record.counter)}\`.`
      );
  }
}
