import { hex } from '@stm32dfu/layout';

/** Stable codes for every way an image can be refused. */
export type ImageErrorCode =
  | 'UNKNOWN_FORMAT'
  | 'BASE_REQUIRED'
  | 'TRUNCATED'
  | 'HEX_SYNTAX'
  | 'HEX_CHECKSUM'
  | 'HEX_RECORD_TYPE'
  | 'SREC_SYNTAX'
  | 'SREC_CHECKSUM'
  | 'SREC_RECORD_TYPE'
  | 'SREC_COUNT'
  | 'ELF_MAGIC'
  | 'ELF_CLASS'
  | 'ELF_ENDIAN'
  | 'ELF_NOT_ARM'
  | 'ELF_NO_SEGMENTS'
  | 'DFU_SUFFIX_MISSING'
  | 'DFU_SUFFIX_CRC'
  | 'DFUSE_SIGNATURE'
  | 'DFUSE_VERSION'
  | 'DFUSE_SIZE_MISMATCH'
  | 'OVERLAP'
  | 'ADDRESS_RANGE'
  | 'INVALID_ARGUMENT'
  | 'NOT_WORD_ALIGNED'
  | 'EMPTY_IMAGE'
  | 'OUTSIDE_REGION'
  | 'IN_BOOTLOADER'
  | 'BAD_VECTOR_TABLE'
  | 'STAMP_SLOTS_IN_USE'
  | 'STAMP_NO_BASE'
  | 'FILE_UNREADABLE'
  | 'FILE_UNWRITABLE';

/** Where in the input something went wrong; every field is optional. */
export interface ImageErrorDetails {
  /** File name as the user gave it. */
  file?: string;
  /** 1-based line of a text format. */
  line?: number;
  /** Byte offset into the file (binary formats) or 1-based column (text formats). */
  offset?: number;
  /** Target address the problem is about. */
  address?: number;
  /** ELF section name(s) involved. */
  section?: string;
  /** The path as the caller gave it, for file-system failures. */
  path?: string;
  /** The file-system error code (`ENOENT`, `EACCES`, ...), for file-system failures. */
  errno?: string;
}

/**
 * A refused image. `code` is stable and meant for programs; `message` names the file and
 * the line, offset or address, and says what to do, and is meant for people.
 */
export class ImageError extends Error {
  override readonly name = 'ImageError';
  readonly code: ImageErrorCode;
  readonly details: ImageErrorDetails;

  constructor(
    code: ImageErrorCode,
    message: string,
    details: ImageErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

/** `app.hex line 17`, `app.elf offset 0x34`, `app.bin`: the prefix of every parse message. */
export function where(details: ImageErrorDetails): string {
  const file = details.file ?? 'input';
  if (details.line !== undefined) return `${file} line ${details.line}`;
  if (details.offset !== undefined) return `${file} offset ${hex(details.offset, 1)}`;
  return file;
}

/** Throw an `ImageError` whose message starts with the position from `details`. */
export function fail(code: ImageErrorCode, details: ImageErrorDetails, text: string): never {
  throw new ImageError(code, `${where(details)}: ${text}`, details);
}

export { hex };
