/**
 * The security record a stm32dfu bootloader answers to GET_SECURITY (docs/bootloader-core.md):
 * vendor request bmRequestType 0xC1, bRequest 0x53, wValue 0, wIndex 0, wLength 32. 32 bytes,
 * little-endian:
 *
 *   0  u8  format (1)                    8  u32 security counter
 *   1  u8  flags                        12  u32 counter capacity (0: no counter kept)
 *   2  u8  key count (0–4)              16  u32[4] key ids (0 when unused)
 *   3  u8  last verdict + 1 (0: none)
 *   4  u32 board id word
 *
 * Mirrored from firmware/src/core/bootloader.h (SECURITY_*); the firmware's tests assert the
 * same bytes.
 */
import { ImageError } from './errors.js';
import { SIGNATURE_VERDICTS, type SignatureVerdict } from './signature.js';

/** bRequest of the GET_SECURITY vendor request (bmRequestType 0xC1: IN, vendor, interface). */
export const GET_SECURITY_REQUEST = 0x53;
/** Bytes in the security record; GET_SECURITY needs a wLength of at least this. */
export const SECURITY_RECORD_LENGTH = 32;
/** The record format this version reads. */
export const SECURITY_RECORD_FORMAT = 1;

const FLAG_REQUIRED = 0x01;
const FLAG_VERIFY_AT_BOOT = 0x02;
const FLAG_LOCK_UPLOAD = 0x04;
const FLAG_PROTECT_FLASH = 0x08;
const FLAG_CHECK_BUILT = 0x80;
const MAX_KEYS = 4;

/** A bootloader's security policy, keys and anti-rollback counter, decoded from GET_SECURITY. */
export interface SecurityRecord {
  /** Record format, 1. */
  readonly format: number;
  /** The board installs only images signed by one of its keys. */
  readonly signaturesRequired: boolean;
  /** The board checks the installed image's signature and counter at every boot. */
  readonly verifyAtBoot: boolean;
  /** UPLOAD is refused and the CRC command covers whole application sectors only. */
  readonly uploadLocked: boolean;
  /** The bootloader sets read protection (RDP level 1) and write-protects its own sectors. */
  readonly flashProtected: boolean;
  /** The bootloader was built with the signature check. */
  readonly checkBuiltIn: boolean;
  /**
   * The key ids of the keys the board holds, as `stm32dfu keygen` prints them: the first 4
   * bytes of SHA-256 of the raw public key read as a little-endian word, 8 hex digits.
   */
  readonly keyIds: readonly string[];
  /** The board id word: the first 4 bytes of SHA-256 of the board id, little-endian (`boardIdOf`). */
  readonly boardId: number;
  /** The board's anti-rollback counter: images signed with a lower counter are refused. */
  readonly counter: number;
  /** The highest counter the board can record; 0 when it keeps none. */
  readonly counterCapacity: number;
  /** The verdict of the last signature check since reset; undefined when there was none. */
  readonly lastVerdict: SignatureVerdict | undefined;
  /** The raw verdict byte (verdict number + 1, 0 for none), for verdicts newer than this version. */
  readonly lastVerdictCode: number;
}

/** Decode the 32-byte GET_SECURITY answer; longer input is read up to its 32 bytes. */
export function parseSecurityRecord(bytes: Uint8Array): SecurityRecord {
  if (bytes.length < SECURITY_RECORD_LENGTH) {
    throw new ImageError(
      'TRUNCATED',
      `A security record is ${SECURITY_RECORD_LENGTH} bytes; got ${bytes.length}.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SECURITY_RECORD_LENGTH);
  const format = view.getUint8(0);
  if (format !== SECURITY_RECORD_FORMAT) {
    throw new ImageError(
      'INVALID_ARGUMENT',
      `The security record has format ${format}; this version reads format ${SECURITY_RECORD_FORMAT}: update the host tools.`,
    );
  }
  const flags = view.getUint8(1);
  const keyCount = view.getUint8(2);
  if (keyCount > MAX_KEYS) {
    throw new ImageError(
      'INVALID_ARGUMENT',
      `The security record lists ${keyCount} keys; a board holds at most ${MAX_KEYS}.`,
    );
  }
  const keyIds: string[] = [];
  for (let i = 0; i < keyCount; i++) {
    keyIds.push(
      view
        .getUint32(16 + 4 * i, true)
        .toString(16)
        .padStart(8, '0'),
    );
  }
  const lastVerdictCode = view.getUint8(3);
  return {
    format,
    signaturesRequired: (flags & FLAG_REQUIRED) !== 0,
    verifyAtBoot: (flags & FLAG_VERIFY_AT_BOOT) !== 0,
    uploadLocked: (flags & FLAG_LOCK_UPLOAD) !== 0,
    flashProtected: (flags & FLAG_PROTECT_FLASH) !== 0,
    checkBuiltIn: (flags & FLAG_CHECK_BUILT) !== 0,
    keyIds,
    boardId: view.getUint32(4, true),
    counter: view.getUint32(8, true),
    counterCapacity: view.getUint32(12, true),
    lastVerdict: lastVerdictCode === 0 ? undefined : SIGNATURE_VERDICTS[lastVerdictCode - 1],
    lastVerdictCode,
  };
}
