import { hex, type LayoutError } from '@stm32dfu/layout';
import { stateName, statusName } from './constants.js';
import { describeRefusal, type SignatureRefusal } from './security.js';

/** Stable codes for every way a DFU operation can fail; programs switch on these. */
export type DfuErrorCode =
  | 'DFU_STATUS'
  | 'STALL'
  | 'TIMEOUT'
  | 'DEVICE_GONE'
  | 'RESET_REQUIRED'
  | 'ADDRESS'
  | 'ABORTED'
  | 'PROTOCOL'
  | 'NOT_DFU'
  | 'UNSUPPORTED'
  | 'VERIFY'
  | 'IMAGE'
  | 'INSTALL_INCOMPLETE'
  | 'LOCKED';

/** Base class: `code` is for programs, `message` names the request/address and says what to do. */
export class DfuError extends Error {
  override readonly name: string = 'DfuError';
  readonly code: DfuErrorCode;

  constructor(code: DfuErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The device answered GETSTATUS with a non-OK bStatus or with dfuERROR. */
export class DfuStatusError extends DfuError {
  override readonly name = 'DfuStatusError';
  readonly status: number;
  readonly statusName: string;
  readonly state: number;
  readonly stateName: string;
  /** The flash address the failed command or block targeted, when there is one. */
  readonly address: number | undefined;
  /** What the host was doing ("erase", "write block 7", ...). */
  readonly operation: string;
  /**
   * A board that checks signatures refused the image at manifestation (errFIRMWARE): its
   * verdict from GET_SECURITY, its record, and the image's trailer when the host knows it.
   */
  readonly refusal: SignatureRefusal | undefined;

  constructor(
    status: number,
    state: number,
    operation: string,
    address?: number,
    refusal?: SignatureRefusal,
  ) {
    const where = address === undefined ? '' : ` at ${hex(address)}`;
    super(
      'DFU_STATUS',
      refusal
        ? `The board refused the image: ${describeRefusal(refusal)} ` +
            `(It reported ${statusName(status)} at ${operation}, verdict ${refusal.verdict}; it stays in DFU mode.)`
        : `The device reported ${statusName(status)} in ${stateName(state)} during ${operation}${where}. ` +
            hintForStatus(status),
    );
    this.refusal = refusal;
    this.status = status;
    this.statusName = statusName(status);
    this.state = state;
    this.stateName = stateName(state);
    this.address = address;
    this.operation = operation;
  }
}

function hintForStatus(status: number): string {
  switch (status) {
    case 8:
      return 'The address is outside what the device accepts: check the image is linked for the application region.';
    case 1:
      return 'The device refused the target: the address or memory may be protected.';
    case 3:
    case 6:
    case 7:
      return 'Programming failed: retry; if it persists the flash may be worn or write-protected.';
    case 4:
    case 5:
      return 'Erase failed: retry; check the sector is not write-protected (option bytes).';
    case 10:
      // errFIRMWARE: our bootloader's boot checks at manifestation (contracts 4 and 6).
      return (
        'The device will not start this image. From the stm32dfu bootloader this means the image is not ' +
        'stamped, or its stamp (magic, length, CRC) or vector table (initial SP in SRAM, reset handler inside ' +
        'the image) does not check. Stamp the linked application for the board and flash the stamped .bin or ' +
        '.hex, not the .elf: `node firmware/scripts/stamp-app.mjs --board <board> --version <x.y.z> --elf ' +
        'app.elf --bin app.bin --hex app.hex`, or stampImage(image, getLayout(board), { version }) from ' +
        '@stm32dfu/image-tools. The board stays in DFU mode.'
      );
    default:
      return 'Retry the operation; a power cycle of the board clears most device errors.';
  }
}

/** The device stalled a request (DFU 1.1: it also enters dfuERROR). */
export class StallError extends DfuError {
  override readonly name = 'StallError';
  readonly request: string;

  constructor(request: string, detail = '') {
    super(
      'STALL',
      `The device stalled ${request}${detail ? ` (${detail})` : ''}. It rejected the request in its current state; ` +
        'the next operation clears the error (DFU_CLRSTATUS) and starts again.',
    );
    this.request = request;
  }
}

/** Something did not happen before its deadline. */
export class TimeoutError extends DfuError {
  override readonly name = 'TimeoutError';
  readonly what: string;
  /** The time allowed, milliseconds. */
  readonly deadlineMs: number;

  constructor(what: string, deadlineMs: number) {
    super(
      'TIMEOUT',
      `Timed out after ${deadlineMs} ms waiting for ${what}. Check the cable and that the board is still in DFU mode; ` +
        'a power cycle may be needed.',
    );
    this.what = what;
    this.deadlineMs = deadlineMs;
  }
}

/** The device left the bus (unplugged, reset, or re-enumerated). */
export class DeviceGoneError extends DfuError {
  override readonly name = 'DeviceGoneError';
  readonly during: string;

  constructor(during: string, cause?: unknown) {
    super(
      'DEVICE_GONE',
      `The device disconnected during ${during}. Reconnect it and run the operation again; ` +
        'if it was mid-download the bootloader keeps the board in DFU mode.',
      { cause },
    );
    this.during = during;
  }
}

/**
 * The device sits in dfuMANIFEST-WAIT-RESET: an earlier download (an interrupted leave)
 * finished manifestation and the device answers nothing until a USB reset (DFU 1.1 §7).
 */
export class ResetRequiredError extends DfuError {
  override readonly name = 'ResetRequiredError';
  readonly state: number;
  readonly stateName: string;

  constructor(state: number) {
    super(
      'RESET_REQUIRED',
      `The device is in ${stateName(state)}: it finished installing an earlier download and waits for a USB reset ` +
        "to start it (DFU 1.1 §7), accepting no other request. Press the board's reset button or unplug and replug " +
        'it, then try again (enter DFU mode again if the application starts).',
    );
    this.state = state;
    this.stateName = stateName(state);
  }
}

/** An address outside the device's layout or in a sector it does not allow. */
export class AddressError extends DfuError {
  override readonly name = 'AddressError';
  readonly address: number;

  constructor(address: number, message: string, cause?: LayoutError) {
    super('ADDRESS', message, { cause });
    this.address = address;
  }
}

/** The caller's AbortSignal fired. */
export class AbortError extends DfuError {
  override readonly name = 'AbortError';
  readonly phase: string;

  constructor(phase: string, reason?: unknown) {
    super(
      'ABORTED',
      `Aborted during ${phase}. The device is left in DFU mode; run the operation again to finish.`,
      { cause: reason },
    );
    this.phase = phase;
  }
}

/**
 * The board is locked (our bootloader's upload lock-down, GET_SECURITY): it does not read its
 * flash out, so UPLOAD is refused; compare by its whole-sector CRC instead.
 */
export class LockedError extends DfuError {
  override readonly name = 'LockedError';
  constructor(what: string) {
    super(
      'LOCKED',
      `Cannot ${what}: the board is locked (upload lock-down): its bootloader refuses to read its flash out over USB (no UPLOAD). ` +
        'Compare an image with it instead: it answers CRCs of whole sectors (`stm32dfu verify <image>`).',
    );
  }
}

/** The device answered in a way DFU 1.1 / DfuSe does not allow (wrong state, short reply, babble). */
export class ProtocolError extends DfuError {
  override readonly name = 'ProtocolError';
}

/** Read-back or CRC after writing did not match the image. */
export class VerifyError extends DfuError {
  override readonly name = 'VerifyError';
  readonly address: number;

  constructor(address: number, detail: string) {
    super(
      'VERIFY',
      `Verification failed at ${hex(address)}: ${detail}. Flash again; if it persists the sector may be worn or protected.`,
    );
    this.address = address;
  }
}

/**
 * What the host found after a manifestation-tolerant board left the bus during
 * manifestation: the board back in the bootloader, nothing before the deadline, or no
 * search at all (no `usb` to look with, or no serial number to look for).
 */
export type InstallFinding = 'bootloader' | 'nothing' | 'not-searched';

/**
 * A manifestation-tolerant device left the bus (power or cable lost) during manifestation,
 * after the last data block, before reporting that the new image boots, and was not found
 * running it afterwards. Its bootloader writes the application's first block only at
 * manifestation, so the board waits in the bootloader with no bootable application.
 */
export class InstallIncompleteError extends DfuError {
  override readonly name = 'InstallIncompleteError';
  readonly found: InstallFinding;
  readonly serialNumber: string | undefined;

  constructor(
    found: InstallFinding,
    detail: { serialNumber?: string | undefined; timeoutMs?: number; cause?: unknown } = {},
  ) {
    const board =
      detail.serialNumber === undefined ? 'the board' : `the board (serial ${detail.serialNumber})`;
    const seen =
      found === 'bootloader'
        ? `${board} came back in the bootloader${bootloaderVerdict(detail.cause)}`
        : found === 'nothing'
          ? `${board} was not seen running the application within ${detail.timeoutMs ?? 0} ms`
          : `${board} could not be looked for (${detail.serialNumber === undefined ? 'it has no serial number' : 'no `usb` was given to find it with'})`;
    super(
      'INSTALL_INCOMPLETE',
      'The install did not complete: the board left the bus during manifestation (after the last data block), ' +
        `before reporting that the new image boots, and ${seen}. ` +
        `It waits in the bootloader without a bootable application${found === 'bootloader' ? '' : ' (once it has power and its cable again)'}: ` +
        'flash the image again.',
      { cause: detail.cause },
    );
    this.found = found;
    this.serialNumber = detail.serialNumber;
  }
}

function bootloaderVerdict(cause: unknown): string {
  if (cause instanceof DfuStatusError) {
    return `, which reports ${cause.statusName} for the image in flash`;
  }
  return '';
}
