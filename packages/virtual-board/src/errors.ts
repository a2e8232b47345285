/** Stable codes for every way the virtual board refuses a request. */
export type VirtualBoardErrorCode =
  | 'UNKNOWN_BOARD'
  | 'NO_CHIP_TIMINGS'
  | 'FLASH_IMAGE_SIZE'
  | 'FLASH_FILE'
  | 'ADDRESS_OUTSIDE_FLASH'
  | 'INVALID_UID'
  | 'INVALID_TIME'
  | 'INVALID_TRANSFER_SIZE'
  | 'WASM_LOAD_FAILED'
  | 'WASM_INTERFACE'
  | 'CORE_TRAP'
  | 'INVALID_SIGNING_KEYS'
  | 'OTP_IMAGE_SIZE';

/**
 * What a `VirtualBoardError` points at: an address, the offending value as given, or a file path.
 */
export interface VirtualBoardErrorDetails {
  readonly address?: number;
  readonly value?: string;
  readonly path?: string;
}

/**
 * A refused board operation. `code` is for programs; `message` names the offending value
 * (file, address, option) and says what to do, for people.
 */
export class VirtualBoardError extends Error {
  override readonly name = 'VirtualBoardError';
  readonly code: VirtualBoardErrorCode;
  readonly details: VirtualBoardErrorDetails;

  constructor(
    code: VirtualBoardErrorCode,
    message: string,
    details: VirtualBoardErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

/**
 * The errors a WebUSB `USBDevice` rejects with are `DOMException`s distinguished by name
 * (W3C WebUSB §6); hosts and the protocol match on `name`, so the board does the same.
 */
export type WebUsbErrorName = 'NotFoundError' | 'InvalidStateError' | 'NetworkError' | 'AbortError';

export function webUsbError(name: WebUsbErrorName, message: string): DOMException {
  return new DOMException(message, name);
}
