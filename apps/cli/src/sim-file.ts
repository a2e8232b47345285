/**
 * A virtual board's whole state in one file (`--sim FILE`): the raw flash image, exactly
 * the flash size, so any tool that reads a flash dump reads it, followed by a short trailer
 * with the rest — the board id, the Boot0 pin, a power cut armed for the next command, a
 * locked board's signing policy and its OTP area (where its anti-rollback counter lives):
 *
 *   flash bytes | JSON (UTF-8) | u32 LE length of the JSON | "STM32SIM"
 *
 * A file without the trailer is a plain flash dump of the default board.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { getLayout } from '@stm32dfu/layout';
import { CliError, EXIT } from './errors.js';

const MAGIC = new TextEncoder().encode('STM32SIM');

export interface SimState {
  /** Board id from @stm32dfu/layout. */
  readonly board: string;
  /** Boot0 held high: ST's ROM bootloader answers at power-on. */
  readonly boot0: boolean;
  /** The next command loses power after this many flash operations (erases, program slices). */
  readonly powerCutAfterOps?: number;
  /** A locked board (`stm32dfu sim lock`): the keys and policy its bootloader runs with. */
  readonly signing?: SimSigning;
  /** The chip's OTP area as hex (the anti-rollback counter is its last 64 bytes); absent: blank. */
  readonly otp?: string;
}

/** What `stm32dfu sim lock` sets: as a board JSON's `signing` compiles into the bootloader. */
export interface SimSigning {
  /** 1 to 4 raw Ed25519 public keys, 64 hex digits each. */
  readonly keys: readonly string[];
  readonly required: boolean;
  readonly verifyAtBoot: boolean;
  readonly lockUpload: boolean;
}

/** The OTP bytes of a sim state, or undefined for a blank (never programmed) area. */
export function otpOf(state: SimState): Uint8Array | undefined {
  return state.otp === undefined ? undefined : new Uint8Array(Buffer.from(state.otp, 'hex'));
}

/** Bytes at the end of the OTP area that hold the anti-rollback counter (counter.c). */
const COUNTER_OTP_BYTES = 64;

/**
 * The anti-rollback counter in an OTP area, as the bootloader reads it (counter.c): a
 * thermometer in the last 64 bytes, the number of cleared bits before the first set one,
 * least significant bit first. Capacity 0 when the chip has no OTP area for it.
 */
export function counterIn(otp: Uint8Array): { counter: number; capacity: number } {
  if (otp.length < COUNTER_OTP_BYTES) return { counter: 0, capacity: 0 };
  const bytes = otp.subarray(otp.length - COUNTER_OTP_BYTES);
  let counter = 0;
  for (const byte of bytes) {
    for (let bit = 0; bit < 8; bit++, counter++) {
      if ((byte >> bit) & 1) return { counter, capacity: COUNTER_OTP_BYTES * 8 };
    }
  }
  return { counter, capacity: COUNTER_OTP_BYTES * 8 };
}

/** The OTP area for the trailer: omitted while blank, so unlocked files stay as they were. */
export function otpField(otp: Uint8Array): { otp?: string } {
  return otp.every((b) => b === 0xff) ? {} : { otp: Buffer.from(otp).toString('hex') };
}

export interface SimFile {
  readonly path: string;
  readonly state: SimState;
  readonly flash: Uint8Array;
}

export function hasTrailer(bytes: Uint8Array): boolean {
  if (bytes.length < MAGIC.length + 4) return false;
  return MAGIC.every((b, i) => bytes[bytes.length - MAGIC.length + i] === b);
}

/** Read a sim file; a missing one is a new blank board (with `bootloader` at the start). */
export function readSimFile(
  path: string,
  defaults: { board: string; bootloader?: Uint8Array | undefined },
): SimFile {
  if (!existsSync(path)) {
    const layout = getLayout(defaults.board);
    const flash = new Uint8Array(layout.chip.flash.size).fill(0xff);
    if (defaults.bootloader)
      flash.set(defaults.bootloader.subarray(0, layout.partitions.bootloader.size));
    return { path, state: { board: layout.board.id, boot0: false }, flash };
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (cause) {
    throw new CliError(
      'SIM_FILE',
      `Cannot read the virtual board ${path} (${(cause as NodeJS.ErrnoException).code}): check the path and permissions.`,
      EXIT.USAGE,
    );
  }
  let state: SimState = { board: defaults.board, boot0: false };
  let flashLength = bytes.length;
  if (hasTrailer(bytes)) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const jsonLength = view.getUint32(bytes.length - MAGIC.length - 4, true);
    flashLength = bytes.length - MAGIC.length - 4 - jsonLength;
    try {
      const text = new TextDecoder().decode(bytes.subarray(flashLength, flashLength + jsonLength));
      state = { ...state, ...(JSON.parse(text) as Partial<SimState>) };
    } catch {
      throw new CliError(
        'SIM_FILE',
        `${path}: its board state is damaged; delete the file to start blank.`,
        EXIT.USAGE,
      );
    }
  }
  const layout = getLayout(state.board);
  if (flashLength !== layout.chip.flash.size) {
    throw new CliError(
      'SIM_FILE',
      `${path} holds ${flashLength} bytes of flash, but the ${layout.board.id} flash is ${layout.chip.flash.size}: ` +
        'give another file, or delete it to start blank.',
      EXIT.USAGE,
    );
  }
  return { path, state, flash: bytes.slice(0, flashLength) };
}

export function writeSimFile(path: string, state: SimState, flash: Uint8Array): void {
  const json = new TextEncoder().encode(JSON.stringify(state));
  const out = new Uint8Array(flash.length + json.length + 4 + MAGIC.length);
  out.set(flash, 0);
  out.set(json, flash.length);
  new DataView(out.buffer).setUint32(flash.length + json.length, json.length, true);
  out.set(MAGIC, flash.length + json.length + 4);
  try {
    writeFileSync(path, out);
  } catch (cause) {
    throw new CliError(
      'SIM_FILE',
      `Cannot write the virtual board ${path} (${(cause as NodeJS.ErrnoException).code}): check the directory exists and is writable.`,
      EXIT.USAGE,
    );
  }
}
