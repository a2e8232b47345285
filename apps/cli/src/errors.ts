/**
 * Exit statuses (documented in apps/cli/README.md) and the one place errors from every
 * package become them: each error class carries a stable `code`; the CLI maps codes, never
 * message text.
 */

export const EXIT = {
  OK: 0,
  /** A bug: the message says how to report it. */
  INTERNAL: 1,
  /** Bad arguments, options, project file or sim file. */
  USAGE: 2,
  /** No device matched. */
  NO_DEVICE: 3,
  /** More than one device matched and the command needs one. */
  AMBIGUOUS_DEVICE: 4,
  /** The OS refused access to the device (udev rule, driver). */
  PERMISSION: 5,
  /** The device went away, stopped answering or broke the protocol. */
  TRANSFER_FAILED: 6,
  /** What the device holds differs from the image. */
  VERIFY_FAILED: 7,
  /** The image file cannot be read or does not fit the board. */
  INVALID_IMAGE: 8,
  /** The device refused the request (DFU error status: protected sector, bad image, ...). */
  REFUSED_BY_DEVICE: 9,
  /**
   * The board does not take this image: unsigned, signed with a key it does not hold or for
   * another board, altered, or its security counter out of range. Found by `flash` before
   * sending anything, or reported by the board (GET_SECURITY's verdict).
   */
  IMAGE_REFUSED: 10,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: string;
  readonly exitStatus: ExitStatus;
  constructor(
    code: string,
    message: string,
    exitStatus: ExitStatus,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.exitStatus = exitStatus;
  }
}

/** The exit status for an error thrown by any of our packages (by its class and `code`). */
export function exitStatusOf(error: unknown): ExitStatus {
  if (error instanceof CliError) return error.exitStatus;
  const e = error as { name?: string; code?: string } | null;
  const code = e?.code;
  switch (e?.name) {
    case 'ImageError':
    case 'LayoutError':
      return EXIT.INVALID_IMAGE;
    case 'VirtualBoardError':
      return EXIT.USAGE;
  }
  if (code === 'DFU_STATUS' && (error as { refusal?: unknown }).refusal !== undefined) {
    return EXIT.IMAGE_REFUSED;
  }
  switch (code) {
    case 'IMAGE':
      return EXIT.INVALID_IMAGE;
    case 'VERIFY':
      return EXIT.VERIFY_FAILED;
    case 'DFU_STATUS':
    case 'ADDRESS':
    case 'LOCKED':
      return EXIT.REFUSED_BY_DEVICE;
    case 'NO_DEVICE':
    case 'NOT_DFU':
    case 'USB_UNAVAILABLE':
      return EXIT.NO_DEVICE;
    case 'AMBIGUOUS':
      return EXIT.AMBIGUOUS_DEVICE;
    case 'ACCESS_DENIED':
    case 'BUSY':
    case 'NO_DRIVER':
      return EXIT.PERMISSION;
    case 'TRANSFER':
    case 'STALL':
    case 'TIMEOUT':
    case 'DEVICE_GONE':
    case 'RESET_REQUIRED':
    case 'ABORTED':
    case 'PROTOCOL':
    case 'UNSUPPORTED':
    case 'INSTALL_INCOMPLETE':
      return EXIT.TRANSFER_FAILED;
  }
  return EXIT.INTERNAL;
}

/** One line (or a few) for a person: what went wrong and what to do. */
export function describeError(error: unknown): string {
  if (exitStatusOf(error) === EXIT.INTERNAL) {
    const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return (
      `stm32dfu hit an unexpected error. Please report it with the command you ran and this text:\n${stack}\n` +
      'Run it again with --verbose for more detail.'
    );
  }
  return error instanceof Error ? error.message : String(error);
}

export function errorCodeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'INTERNAL';
}
