/**
 * The rig's errors: a stable `code` a runner or CI script can map, and a message that says
 * what went wrong and what to do. Scenario failures are plain assertions (`HilAssertionError`).
 */
export type HilErrorCode =
  | 'INVALID_RIG_CONFIG'
  | 'RIG_CONFIG_FILE'
  | 'RELAY_CHANNEL'
  | 'RELAY_IO'
  | 'RELAY_NOT_FOUND'
  | 'WRONG_STATE'
  | 'RIG_LOCKED'
  | 'CLI_FAILED'
  | 'UNSUPPORTED';

export class HilError extends Error {
  readonly code: HilErrorCode;
  /** The config field at fault (`relay.channels.nrst`), where there is one. */
  readonly field: string | undefined;

  constructor(
    code: HilErrorCode,
    message: string,
    options: { field?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HilError';
    this.code = code;
    this.field = options.field;
  }
}

/** A scenario's check that did not hold: what was expected and what the board did. */
export class HilAssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HilAssertionError';
  }
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new HilAssertionError(message);
}
