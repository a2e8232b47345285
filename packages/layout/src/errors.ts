/** Stable codes for every way a layout query can be refused. */
export type LayoutErrorCode =
  | 'UNKNOWN_CHIP'
  | 'UNKNOWN_BOARD'
  | 'ADDRESS_OUTSIDE_FLASH'
  | 'RANGE_OUTSIDE_FLASH'
  | 'RANGE_OUTSIDE_REGION'
  | 'RANGE_IN_BOOTLOADER'
  | 'INVALID_RANGE'
  | 'UNALIGNED_ADDRESS'
  | 'UNALIGNED_PARTITION'
  | 'INVALID_CHIP'
  | 'INVALID_BOARD'
  | 'BOARD_FILE_UNREADABLE'
  | 'MALFORMED_DFUSE_LAYOUT'
  | 'IMPOSSIBLE_CLOCK_TREE';

/**
 * What a `LayoutError` points at, for messages and for callers that highlight the offending input.
 */
export interface LayoutErrorDetails {
  /** The offending address, when there is one. */
  address?: number;
  /** The offending value as the caller gave it (board id, layout string, ...). */
  value?: string;
  /** Character offset into a DfuSe layout string. */
  offset?: number;
  /** Path of the offending field in a board definition, e.g. `usbIdentity.productId`. */
  field?: string;
  /** Where a board definition came from (its file name). */
  source?: string;
}

/**
 * A refused layout query. `code` is stable and meant for programs; `message` names the
 * offending value and says what to do, and is meant for people.
 */
export class LayoutError extends Error {
  override readonly name = 'LayoutError';
  readonly code: LayoutErrorCode;
  readonly details: LayoutErrorDetails;

  constructor(code: LayoutErrorCode, message: string, details: LayoutErrorDetails = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

/** `0x08008000` style, the way addresses appear in datasheets and linker maps. */
export function hex(value: number, digits = 8): string {
  return `0x${(value >>> 0).toString(16).toUpperCase().padStart(digits, '0')}`;
}

/** `16 kB`, `1 MB`, `512 B`: sizes as people read them. */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} kB`;
  return `${bytes} B`;
}
