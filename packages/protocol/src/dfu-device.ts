import { type DfuseLayout, hex, LayoutError, parseDfuseLayout } from '@stm32dfu/layout';
import {
  DFU_ABORT,
  DFU_CLRSTATUS,
  DFU_DETACH,
  DFU_DNLOAD,
  DFU_GETSTATE,
  DFU_GETSTATUS,
  DFU_INTERFACE_CLASS,
  DFU_INTERFACE_SUBCLASS,
  DFU_PROTOCOL_DFU_MODE,
  DFU_PROTOCOL_RUNTIME,
  DFU_REQUEST_NAMES,
  DFU_UPLOAD,
  DFUSE_ERASE,
  DFUSE_FIRST_DATA_BLOCK,
  DFUSE_SET_ADDRESS_POINTER,
  DFUSE_VERSION,
  dfuDNBUSY,
  dfuDNLOAD_IDLE,
  dfuDNLOAD_SYNC,
  dfuERROR,
  dfuIDLE,
  dfuMANIFEST,
  dfuMANIFEST_SYNC,
  dfuMANIFEST_WAIT_RESET,
  dfuUPLOAD_IDLE,
  errCHECK_ERASED,
  errERASE,
  errFIRMWARE,
  errPROG,
  errVERIFY,
  errWRITE,
  OK,
  stateName,
  statusName,
  USB_DT_CONFIGURATION,
  USB_DT_STRING,
  USB_REQ_GET_DESCRIPTOR,
} from './constants.js';
import {
  type ConfigurationDescriptor,
  type DfuFunctionalDescriptor,
  parseConfigurationDescriptor,
} from './descriptors.js';
import {
  type Clock,
  isNotFoundError,
  realClock,
  type UsbControlSetup,
  type UsbDeviceLike,
  type UsbLike,
} from './device.js';
import {
  AbortError,
  DeviceGoneError,
  DfuError,
  DfuStatusError,
  InstallIncompleteError,
  ProtocolError,
  ResetRequiredError,
  StallError,
  TimeoutError,
} from './errors.js';
import { hasDfuModeInterface, hasRuntimeInterface, searchBoard } from './find.js';
import {
  parseSecurityRecord,
  SECURITY_RECORD_LENGTH,
  type SecurityRecord,
  USB_REQ_GET_SECURITY,
} from './security.js';
import { checkAborted, sleepOrAbort, withDeadline } from './timing.js';

/** Vendor command of our bootloader: 0xB1 + u32 address + u32 length → STM32 CRC (bootloader.h). */
export const DFUSE_CMD_CRC = 0xb1;
/**
 * UPLOAD of this block (from dfuIDLE) returns our bootloader's report: { address, length,
 * crc } of the last CRC command, then the address and bStatus of its last failed flash
 * operation (docs/bootloader-core.md).
 */
export const DFUSE_CRC_RESULT_BLOCK = 1;
/** Bytes of the whole report; bootloaders before the failure record sent only the first 12. */
export const DFUSE_REPORT_LENGTH = 20;

/** What UPLOAD block 1 says. `failure` is undefined when no flash operation has failed. */
export interface DeviceReport {
  readonly crcAddress: number;
  readonly crcLength: number;
  readonly crc: number;
  readonly failure: { readonly address: number; readonly status: number } | undefined;
}

/** Statuses of a flash operation that went wrong at one address, which the report names. */
const LOCATABLE_STATUSES: readonly number[] = [
  errWRITE,
  errERASE,
  errCHECK_ERASED,
  errPROG,
  errVERIFY,
];

/**
 * How `DfuDevice.open` picks the interface's memory, and the clock, deadlines and abort signal
 * every request of the device then uses.
 */
export interface DfuOpenOptions {
  readonly clock?: Clock;
  /** Alt setting by number, or by memory name ("Internal Flash"); default the first. */
  readonly alternate?: number | string;
  /** Deadline for each control transfer, ms (WebUSB transfers have none of their own). */
  readonly transferTimeoutMs?: number;
  /** Deadline for the device to leave dfuDNBUSY after one command or block, ms. */
  readonly busyTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * An alternate setting of the DFU interface: on DfuSe, one memory (internal flash, option bytes)
 * and its layout.
 */
export interface DfuAlternate {
  readonly alternateSetting: number;
  readonly name: string | undefined;
  /** The DfuSe memory layout, when the name is one. */
  readonly layout: DfuseLayout | undefined;
}

/** A decoded DFU_GETSTATUS reply, with the spec names of its state and status. */
export interface DfuStatus {
  readonly status: number;
  readonly statusName: string;
  /** bwPollTimeout: how long to wait before the next GETSTATUS, ms. */
  readonly pollTimeoutMs: number;
  readonly state: number;
  readonly stateName: string;
  readonly iString: number;
}

/**
 * Whether the interface belongs to a running application (`runtime`, only DETACH) or to the
 * bootloader (`dfu`).
 */
export type DfuMode = 'runtime' | 'dfu';

/**
 * How manifestation ended, as the host saw it (DFU 1.1 §7, A.2.6–A.2.8): `'idle'`, a
 * manifestation-tolerant device back in dfuIDLE with status OK (the image is good);
 * `'left'`, a device that is not tolerant left the bus or waits for the reset the host then
 * sent, as it does to start the image; `'vanished'`, a tolerant device left the bus or
 * stopped answering before it reported the outcome (`cause`: that request's error).
 */
export type ManifestEnd = 'idle' | 'left' | 'vanished';

/** How manifestation (the end of a download) ended, and whether the device is still there. */
export interface ManifestResult {
  /** The device is off the bus (or was reset): not for further requests. */
  readonly gone: boolean;
  readonly end: ManifestEnd;
  readonly cause?: unknown;
}

/**
 * How the host knows the application starts after `leave`: `'reported'`, the device said
 * so after manifestation (dfuIDLE/OK) and was reset to start it; `'seen-running'`, it was
 * found running the application after leaving the bus during manifestation; `'assumed'`,
 * it is not manifestation tolerant and left the bus as it should, which is all it shows.
 */
export type LeaveOutcome = 'reported' | 'seen-running' | 'assumed';

/**
 * The outcome of `DfuDevice.leave`: the device has left DFU mode, and how the host knows the
 * application starts.
 */
export interface LeaveResult {
  readonly gone: true;
  readonly outcome: LeaveOutcome;
}

/** How `DfuDevice.leave` starts the application and where it looks for the board afterwards. */
export interface LeaveOptions {
  /** The address pointer before the zero-length DNLOAD (ST's ROM jumps there). */
  readonly address?: number;
  readonly signal?: AbortSignal;
  /**
   * Where to look for the board (by serial) when a manifestation-tolerant device leaves the
   * bus during manifestation; without it that ends in `InstallIncompleteError`.
   */
  readonly usb?: UsbLike;
  /** How long to look for it, ms (default 10 s). */
  readonly reconnectTimeoutMs?: number;
}

const DEFAULT_TRANSFER_TIMEOUT_MS = 5000;
// Longer than the slowest single operation the F4 datasheet allows (mass erase, 8 s max).
const DEFAULT_BUSY_TIMEOUT_MS = 20_000;
// DfuSe block numbers are 16 bits; start a new address pointer well before they wrap.
const MAX_BLOCKS_PER_POINTER = 0x1000;
// Power-on, boot decision and enumeration of a board take well under a second.
const DEFAULT_RECONNECT_TIMEOUT_MS = 10_000;
const RECONNECT_POLL_MS = 100;

function u32le(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/**
 * One DFU interface of an opened USB device: discovery, the class requests, state recovery
 * and the DfuSe commands. Higher-level operations (download, upload, ...) build on these.
 */
export class DfuDevice {
  readonly usb: UsbDeviceLike;
  readonly clock: Clock;
  readonly mode: DfuMode;
  /** bcdDFUVersion 0x011A: ST's extensions (addresses, erase, Get Commands). */
  readonly dfuse: boolean;
  readonly functional: DfuFunctionalDescriptor;
  readonly configuration: ConfigurationDescriptor;
  readonly interfaceNumber: number;
  readonly alternates: readonly DfuAlternate[];
  readonly alternate: DfuAlternate;
  /** DfuSe Get Commands answer (command bytes), read when the device opened in DFU mode. */
  commands: readonly number[] | undefined;
  readonly transferTimeoutMs: number;
  readonly busyTimeoutMs: number;

  private constructor(init: {
    usb: UsbDeviceLike;
    clock: Clock;
    mode: DfuMode;
    functional: DfuFunctionalDescriptor;
    configuration: ConfigurationDescriptor;
    interfaceNumber: number;
    alternates: DfuAlternate[];
    alternate: DfuAlternate;
    transferTimeoutMs: number;
    busyTimeoutMs: number;
  }) {
    this.usb = init.usb;
    this.clock = init.clock;
    this.mode = init.mode;
    this.functional = init.functional;
    this.dfuse = init.functional.dfuVersion === DFUSE_VERSION;
    this.configuration = init.configuration;
    this.interfaceNumber = init.interfaceNumber;
    this.alternates = init.alternates;
    this.alternate = init.alternate;
    this.transferTimeoutMs = init.transferTimeoutMs;
    this.busyTimeoutMs = init.busyTimeoutMs;
  }

  get transferSize(): number {
    return this.functional.transferSize;
  }

  get serialNumber(): string | undefined {
    return this.usb.serialNumber ?? undefined;
  }

  /** The selected alt setting's DfuSe layout; `UNSUPPORTED` when it has none. */
  get layout(): DfuseLayout {
    const layout = this.alternate.layout;
    if (!layout) {
      throw new DfuError(
        'UNSUPPORTED',
        `Alt setting ${this.alternate.alternateSetting} (${JSON.stringify(this.alternate.name ?? '')}) has no DfuSe memory layout; ` +
          'addressed operations need a DfuSe device, or use the plain DFU download/upload.',
      );
    }
    return layout;
  }

  /** The device serves our bootloader's CRC command (listed in Get Commands). */
  get hasCrcCommand(): boolean {
    return this.commands?.includes(DFUSE_CMD_CRC) ?? false;
  }

  /**
   * Open (if needed), read the configuration descriptor, find the DFU interface, claim it,
   * select the alt setting and, in DFU mode, bring the device to dfuIDLE and read its DfuSe
   * commands.
   */
  static async open(usb: UsbDeviceLike, options: DfuOpenOptions = {}): Promise<DfuDevice> {
    const clock = options.clock ?? realClock;
    const transferTimeoutMs = options.transferTimeoutMs ?? DEFAULT_TRANSFER_TIMEOUT_MS;
    const signal = options.signal;
    const guard = <T>(work: Promise<T>, what: string): Promise<T> =>
      withDeadline(mapGone(work, what), clock, transferTimeoutMs, what, signal, 'open');
    if (!usb.opened) await guard(usb.open(), 'opening the device');
    let config = usb.configuration;
    if (!config) {
      const first = usb.configurations[0];
      if (!first) throw notDfu(usb, 'it has no configuration');
      await guard(usb.selectConfiguration(first.configurationValue), 'selecting the configuration');
      config = usb.configuration ?? first;
    }
    const configIndex = Math.max(
      0,
      usb.configurations.findIndex((c) => c.configurationValue === config.configurationValue),
    );
    const descriptor = await readConfigurationDescriptor(usb, configIndex, guard);
    const dfuAlts = descriptor.interfaces.filter(
      (i) =>
        i.interfaceClass === DFU_INTERFACE_CLASS && i.interfaceSubclass === DFU_INTERFACE_SUBCLASS,
    );
    const first = dfuAlts[0];
    if (!first) throw notDfu(usb, 'it has no DFU interface (class 0xFE, subclass 0x01)');
    if (!descriptor.functional) throw notDfu(usb, 'its DFU interface has no functional descriptor');
    const interfaceNumber = first.interfaceNumber;
    const mode: DfuMode = first.interfaceProtocol === DFU_PROTOCOL_RUNTIME ? 'runtime' : 'dfu';
    if (
      first.interfaceProtocol !== DFU_PROTOCOL_RUNTIME &&
      first.interfaceProtocol !== DFU_PROTOCOL_DFU_MODE
    ) {
      throw notDfu(
        usb,
        `its DFU interface has protocol ${first.interfaceProtocol}, neither 1 (runtime) nor 2 (DFU mode)`,
      );
    }
    const webUsbInterface = config.interfaces.find((i) => i.interfaceNumber === interfaceNumber);
    const alternates: DfuAlternate[] = [];
    for (const alt of dfuAlts.filter((a) => a.interfaceNumber === interfaceNumber)) {
      let name = webUsbInterface?.alternates.find(
        (a) => a.alternateSetting === alt.alternateSetting,
      )?.interfaceName;
      if (!name && alt.iInterface !== 0)
        name = await readStringDescriptor(usb, alt.iInterface, guard);
      alternates.push({
        alternateSetting: alt.alternateSetting,
        name: name ?? undefined,
        layout: parseLayoutName(name ?? undefined),
      });
    }
    const alternate = chooseAlternate(usb, alternates, options.alternate);
    await guard(usb.claimInterface(interfaceNumber), `claiming interface ${interfaceNumber}`);
    // dfu-util sends SET_INTERFACE even for alt 0; devices expect it before DFU requests.
    await guard(
      usb.selectAlternateInterface(interfaceNumber, alternate.alternateSetting),
      `selecting alt setting ${alternate.alternateSetting}`,
    );
    const device = new DfuDevice({
      usb,
      clock,
      mode,
      functional: descriptor.functional,
      configuration: descriptor,
      interfaceNumber,
      alternates,
      alternate,
      transferTimeoutMs,
      busyTimeoutMs: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    });
    if (mode === 'dfu') {
      await device.ensureIdle(signal, 'open');
      if (device.dfuse) device.commands = await device.getCommands(signal);
    }
    return device;
  }

  // ---- transfers -------------------------------------------------------------------

  private setup(request: number, value: number): UsbControlSetup {
    return {
      requestType: 'class',
      recipient: 'interface',
      request,
      value,
      index: this.interfaceNumber,
    };
  }

  private async classIn(
    request: number,
    value: number,
    length: number,
    what: string,
    signal?: AbortSignal,
    phase?: string,
  ): Promise<Uint8Array> {
    checkAborted(signal, phase ?? what);
    const result = await withDeadline(
      mapGone(this.usb.controlTransferIn(this.setup(request, value), length), what),
      this.clock,
      this.transferTimeoutMs,
      what,
      signal,
      phase,
    );
    if (result.status === 'stall') throw new StallError(what);
    if (result.status === 'babble') {
      throw new ProtocolError(
        'PROTOCOL',
        `The device babbled (sent more than asked) answering ${what}; check the cable or device firmware.`,
      );
    }
    const data = result.data;
    return data ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(0);
  }

  private async classOut(
    request: number,
    value: number,
    data: Uint8Array | undefined,
    what: string,
    signal?: AbortSignal,
    phase?: string,
  ): Promise<void> {
    checkAborted(signal, phase ?? what);
    const result = await withDeadline(
      mapGone(this.usb.controlTransferOut(this.setup(request, value), data), what),
      this.clock,
      this.transferTimeoutMs,
      what,
      signal,
      phase,
    );
    if (result.status === 'stall') throw new StallError(what);
    if (result.status === 'babble') {
      throw new ProtocolError(
        'PROTOCOL',
        `The device babbled answering ${what}; check the cable or device firmware.`,
      );
    }
    const expected = data?.length ?? 0;
    if (result.bytesWritten !== expected) {
      throw new ProtocolError(
        'PROTOCOL',
        `The device took ${result.bytesWritten} of ${expected} bytes of ${what}; the transfer was cut short.`,
      );
    }
  }

  // ---- DFU 1.1 requests (§6.1) ---------------------------------------------------------

  /**
   * DFU_GETSTATUS: the device's status, state and poll timeout. `phase` names the step in an
   * `AbortError`.
   */
  async getStatus(signal?: AbortSignal, phase?: string): Promise<DfuStatus> {
    const bytes = await this.classIn(DFU_GETSTATUS, 0, 6, 'DFU_GETSTATUS', signal, phase);
    if (bytes.length < 6) {
      throw new ProtocolError(
        'PROTOCOL',
        `DFU_GETSTATUS returned ${bytes.length} bytes instead of 6 (short frame); the device does not follow DFU 1.1 §6.1.2.`,
      );
    }
    const status = bytes[0]!;
    const state = bytes[4]!;
    return {
      status,
      statusName: statusName(status),
      pollTimeoutMs: bytes[1]! | (bytes[2]! << 8) | (bytes[3]! << 16),
      state,
      stateName: stateName(state),
      iString: bytes[5]!,
    };
  }

  /** DFU_GETSTATE: the bState value alone. */
  async getState(signal?: AbortSignal): Promise<number> {
    const bytes = await this.classIn(DFU_GETSTATE, 0, 1, 'DFU_GETSTATE', signal);
    if (bytes.length < 1)
      throw new ProtocolError('PROTOCOL', 'DFU_GETSTATE returned no byte (short frame).');
    return bytes[0]!;
  }

  /** DFU_CLRSTATUS: leave dfuERROR for dfuIDLE. */
  clearStatus(signal?: AbortSignal): Promise<void> {
    return this.classOut(DFU_CLRSTATUS, 0, undefined, 'DFU_CLRSTATUS', signal);
  }

  /** DFU_ABORT: end a download or upload in progress and return to dfuIDLE. */
  abort(signal?: AbortSignal): Promise<void> {
    return this.classOut(DFU_ABORT, 0, undefined, 'DFU_ABORT', signal);
  }

  /** DFU_DETACH (runtime mode): ask the application to hand over to the bootloader. */
  detachRequest(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.classOut(DFU_DETACH, Math.min(timeoutMs, 0xffff), undefined, 'DFU_DETACH', signal);
  }

  /**
   * Bring the device to dfuIDLE, whatever an earlier, interrupted operation left behind:
   * CLRSTATUS out of dfuERROR, ABORT out of dfuDNLOAD-IDLE / dfuUPLOAD-IDLE, wait out
   * dfuDNBUSY and an interrupted manifestation (DFU 1.1 §6.1.2, §7 and appendix A). A
   * device in dfuMANIFEST-WAIT-RESET answers nothing until a USB reset: `ResetRequiredError`.
   */
  async ensureIdle(signal?: AbortSignal, phase = 'recovery'): Promise<void> {
    const started = this.clock.now();
    let stalls = 0;
    // Only recovery requests count against this cap: waiting out dfuDNBUSY (an erase of a
    // 128 kB sector polled at a short bwPollTimeout) is bounded by busyTimeoutMs alone.
    let recoveries = 0;
    let manifesting = false;
    for (;;) {
      if (this.clock.now() - started > this.busyTimeoutMs) {
        throw new TimeoutError('the device to return to dfuIDLE', this.busyTimeoutMs);
      }
      if (recoveries > 8) {
        throw new ProtocolError(
          'PROTOCOL',
          'The device did not return to dfuIDLE after 8 DFU_CLRSTATUS/DFU_ABORT requests; ' +
            'reset or power-cycle the board, then try again.',
        );
      }
      let st: DfuStatus;
      try {
        st = await this.getStatus(signal, phase);
      } catch (error) {
        // A stalled GETSTATUS means the device sits in dfuERROR on some firmwares.
        if (error instanceof StallError && stalls++ < 2) {
          await this.clearStatus(signal).catch(() => {});
          continue;
        }
        // A device that is not manifestation tolerant (ST's ROM) ends manifestation by
        // leaving the bus to start the new firmware.
        if (manifesting && error instanceof DeviceGoneError) {
          throw new DeviceGoneError(
            'an interrupted manifestation (the board left DFU mode to start its firmware)',
            error.cause,
          );
        }
        throw error;
      }
      switch (st.state) {
        case dfuIDLE:
          return;
        case dfuERROR:
          recoveries++;
          await this.clearStatus(signal);
          break;
        case dfuDNLOAD_IDLE:
        case dfuUPLOAD_IDLE:
          recoveries++;
          // Our bootloader writes its queued blocks before it answers ABORT, and stalls it
          // (entering dfuERROR) when one fails: the next round clears that.
          await this.abort(signal).catch((error: unknown) => {
            if (!(error instanceof StallError)) throw error;
          });
          break;
        case dfuMANIFEST_SYNC:
        case dfuMANIFEST:
          // An interrupted leave: a manifestation-tolerant device (ours) finishes its sliced
          // work, answering with the time left, then reports dfuIDLE or dfuERROR.
          manifesting = true;
          await sleepOrAbort(this.clock, Math.max(1, st.pollTimeoutMs), signal, phase);
          break;
        case dfuDNLOAD_SYNC:
        case dfuDNBUSY:
          await sleepOrAbort(this.clock, Math.max(1, st.pollTimeoutMs), signal, phase);
          break;
        case dfuMANIFEST_WAIT_RESET:
          throw new ResetRequiredError(st.state);
        default:
          throw new ProtocolError(
            'PROTOCOL',
            `The device is in ${st.stateName} (status ${st.statusName}), not in DFU mode; ` +
              (st.state <= 1
                ? 'detach it first (runtime mode).'
                : 'DFU 1.1 defines no such state: reset or reconnect it, then try again.'),
          );
      }
    }
  }

  /**
   * GETSTATUS until the device leaves dfuDNLOAD-SYNC / dfuDNBUSY, sleeping bwPollTimeout
   * between requests (DFU 1.1 §6.1.2), under `busyTimeoutMs`. A non-OK status or dfuERROR
   * becomes `DfuStatusError` (the device is cleared for the next request first).
   */
  async waitWhileBusy(
    operation: string,
    address: number | undefined,
    signal?: AbortSignal,
    phase = operation,
  ): Promise<DfuStatus> {
    const started = this.clock.now();
    let st = await this.getStatus(signal, phase);
    while (st.state === dfuDNBUSY || st.state === dfuDNLOAD_SYNC) {
      if (this.clock.now() - started > this.busyTimeoutMs) {
        throw new TimeoutError(`the device to finish ${operation}`, this.busyTimeoutMs);
      }
      await sleepOrAbort(this.clock, Math.max(1, st.pollTimeoutMs), signal, phase);
      st = await this.getStatus(signal, phase);
    }
    if (st.status !== OK || st.state === dfuERROR) {
      if (st.state === dfuERROR) await this.clearStatus().catch(() => {});
      throw new DfuStatusError(st.status, st.state, operation, address);
    }
    return st;
  }

  /** DNLOAD one block and wait for the device to digest it; it must end in dfuDNLOAD-IDLE. */
  async dnload(
    block: number,
    data: Uint8Array,
    operation: string,
    address?: number,
    signal?: AbortSignal,
    phase = operation,
  ): Promise<void> {
    const what = `${DFU_REQUEST_NAMES[DFU_DNLOAD]} block ${block} (${operation})`;
    await this.classOut(DFU_DNLOAD, block, data, what, signal, phase);
    const st = await this.waitWhileBusy(operation, address, signal, phase).catch(
      async (error: unknown) => {
        throw await this.locateFailure(error, signal);
      },
    );
    if (st.state !== dfuDNLOAD_IDLE) {
      throw new ProtocolError(
        'PROTOCOL',
        `After ${operation}${address === undefined ? '' : ` at ${hex(address)}`} the device is in ${st.stateName}, ` +
          'not dfuDNLOAD-IDLE (DFU 1.1 §6.1.1); it does not follow the protocol.',
      );
    }
  }

  /**
   * A pipelined bootloader reports a failed block at a later GETSTATUS (the failing block
   * was queued while the host sent the next ones): the status error then names the wrong
   * address. Our bootloader records the failing word; put it in the error.
   */
  private async locateFailure(error: unknown, signal?: AbortSignal): Promise<unknown> {
    if (!(error instanceof DfuStatusError) || !LOCATABLE_STATUSES.includes(error.status)) {
      return error;
    }
    const report = await this.readReport(signal).catch(() => undefined);
    const failure = report?.failure;
    if (!failure || failure.status !== error.status || failure.address === error.address)
      return error;
    return new DfuStatusError(error.status, error.state, error.operation, failure.address);
  }

  /**
   * Our bootloader's report (UPLOAD block 1): the last CRC result and the last failed flash
   * operation. Undefined for devices without the CRC command or with the 12-byte report.
   * Starts and ends in dfuIDLE.
   */
  async readReport(signal?: AbortSignal): Promise<DeviceReport | undefined> {
    if (!this.hasCrcCommand) return undefined;
    await this.ensureIdle(signal, 'read');
    let reply: Uint8Array;
    try {
      reply = await this.uploadBlock(DFUSE_CRC_RESULT_BLOCK, DFUSE_REPORT_LENGTH, signal, 'read');
    } catch (error) {
      // It stalls while there is nothing to report.
      if (!(error instanceof StallError)) throw error;
      await this.ensureIdle(signal, 'read');
      return undefined;
    }
    await this.ensureIdle(signal, 'read');
    if (reply.length < DFUSE_REPORT_LENGTH) return undefined;
    const view = new DataView(reply.buffer, reply.byteOffset, DFUSE_REPORT_LENGTH);
    const failureAddress = view.getUint32(12, true);
    const failureStatus = view.getUint8(16);
    return {
      crcAddress: view.getUint32(0, true),
      crcLength: view.getUint32(4, true),
      crc: view.getUint32(8, true),
      failure:
        failureStatus === OK ? undefined : { address: failureAddress, status: failureStatus },
    };
  }

  /**
   * Our bootloader's security record (vendor request GET_SECURITY): whether the board
   * requires signatures, checks them at boot, refuses UPLOAD; its keys, board id and
   * anti-rollback counter; the last manifestation's verdict. Undefined when the device
   * stalls it (ST's ROM, bootloaders older than the record, applications). Any DFU state.
   */
  async readSecurity(signal?: AbortSignal): Promise<SecurityRecord | undefined> {
    const what = 'GET_SECURITY (vendor request 0x53)';
    checkAborted(signal, what);
    const result = await withDeadline(
      mapGone(
        this.usb.controlTransferIn(
          {
            requestType: 'vendor',
            recipient: 'interface',
            request: USB_REQ_GET_SECURITY,
            value: 0,
            index: this.interfaceNumber,
          },
          SECURITY_RECORD_LENGTH,
        ),
        what,
      ),
      this.clock,
      this.transferTimeoutMs,
      what,
      signal,
      'read',
    );
    if (result.status === 'stall') return undefined;
    const data = result.data;
    if (result.status !== 'ok' || !data || data.byteLength < SECURITY_RECORD_LENGTH) {
      throw new ProtocolError(
        'PROTOCOL',
        `The device answered ${what} with ${result.status === 'ok' ? `${data?.byteLength ?? 0} bytes, not ${SECURITY_RECORD_LENGTH}` : result.status}; ` +
          'its bootloader does not follow bootloader.h. Update the bootloader or report it.',
      );
    }
    return parseSecurityRecord(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /**
   * errFIRMWARE at manifestation from a board that checks signatures: its verdict, when it
   * refused the image for its signature or counter (not for its stamp or vectors).
   */
  private async explainRefusal(error: DfuStatusError, signal?: AbortSignal): Promise<unknown> {
    if (error.status !== errFIRMWARE || !this.hasCrcCommand) return error;
    const record = await this.readSecurity(signal).catch(() => undefined);
    const verdict = record?.lastVerdict;
    if (!record || verdict === undefined || verdict === 'none' || verdict === 'valid') return error;
    if (verdict === 'unknown') return error;
    return new DfuStatusError(error.status, error.state, error.operation, error.address, {
      verdict,
      record,
    });
  }

  /** UPLOAD one block; a reply shorter than `length` is returned as is (it ends an upload). */
  uploadBlock(
    block: number,
    length: number,
    signal?: AbortSignal,
    phase = 'read',
  ): Promise<Uint8Array> {
    return this.classIn(DFU_UPLOAD, block, length, `DFU_UPLOAD block ${block}`, signal, phase);
  }

  // ---- DfuSe commands (UM0424 §6.1, AN3156 §6) ---------------------------------------------

  /** Get Commands: UPLOAD block 0 in dfuIDLE, then back to dfuIDLE. */
  async getCommands(signal?: AbortSignal): Promise<number[]> {
    try {
      const bytes = await this.uploadBlock(0, Math.min(this.transferSize, 64), signal, 'open');
      return [...bytes];
    } catch (error) {
      // Some DfuSe clones stall Get Commands: assume the two commands every DfuSe device has.
      if (!(error instanceof StallError)) throw error;
      await this.ensureIdle(signal, 'open');
      return [DFUSE_SET_ADDRESS_POINTER, DFUSE_ERASE];
    } finally {
      await this.abort(signal).catch(() => {});
    }
  }

  /**
   * DfuSe Set Address Pointer: where the next data blocks or UPLOADs start; waits until the device
   * is done.
   */
  setAddress(address: number, signal?: AbortSignal, phase = 'write'): Promise<void> {
    return this.dnload(
      0,
      Uint8Array.of(DFUSE_SET_ADDRESS_POINTER, ...u32le(address)),
      'Set Address Pointer',
      address,
      signal,
      phase,
    );
  }

  /** DfuSe Erase of the sector (page) holding `address`; waits until the device has erased it. */
  eraseSector(address: number, signal?: AbortSignal): Promise<void> {
    return this.dnload(
      0,
      Uint8Array.of(DFUSE_ERASE, ...u32le(address)),
      'sector erase',
      address,
      signal,
      'erase',
    );
  }

  /**
   * DfuSe mass erase of the selected memory; waits until the device has erased it (seconds on an
   * F4).
   */
  eraseAll(signal?: AbortSignal): Promise<void> {
    return this.dnload(0, Uint8Array.of(DFUSE_ERASE), 'mass erase', undefined, signal, 'erase');
  }

  /** Our bootloader's CRC command: the STM32 CRC of `length` bytes of flash at `address`. */
  async deviceCrc(
    address: number,
    length: number,
    signal?: AbortSignal,
    phase = 'verify',
  ): Promise<number> {
    await this.dnload(
      0,
      Uint8Array.of(DFUSE_CMD_CRC, ...u32le(address), ...u32le(length)),
      'CRC',
      address,
      signal,
      phase,
    );
    await this.abort(signal);
    const reply = await this.uploadBlock(DFUSE_CRC_RESULT_BLOCK, 12, signal, phase);
    await this.abort(signal);
    if (reply.length < 12) {
      throw new ProtocolError(
        'PROTOCOL',
        `The CRC command's result at ${hex(address)} was ${reply.length} bytes, not 12 (short frame).`,
      );
    }
    const view = new DataView(reply.buffer, reply.byteOffset, 12);
    if (view.getUint32(0, true) !== address >>> 0 || view.getUint32(4, true) !== length) {
      throw new ProtocolError(
        'PROTOCOL',
        `The CRC result is for ${hex(view.getUint32(0, true))} + ${view.getUint32(4, true)} bytes, not the ${hex(address)} + ${length} asked for.`,
      );
    }
    return view.getUint32(8, true);
  }

  /**
   * Read `length` bytes at `address` with DfuSe UPLOAD (pointer + blocks from 2). Starts and
   * ends in dfuIDLE. `onBytes` reports progress after each block.
   */
  async readMemory(
    address: number,
    length: number,
    signal?: AbortSignal,
    onBytes?: (done: number, address: number) => void,
  ): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    const size = this.transferSize;
    let done = 0;
    while (done < length) {
      checkAborted(signal, 'read');
      await this.setAddress(address + done, signal, 'read');
      // UPLOAD is only allowed from dfuIDLE (AN3156 §6.4).
      await this.abort(signal);
      for (
        let block = DFUSE_FIRST_DATA_BLOCK;
        done < length && block < DFUSE_FIRST_DATA_BLOCK + MAX_BLOCKS_PER_POINTER;
        block++
      ) {
        const want = Math.min(size, length - done);
        const data = await this.uploadBlock(block, want, signal, 'read');
        if (data.length < want) {
          await this.abort().catch(() => {});
          throw new ProtocolError(
            'PROTOCOL',
            `The device returned ${data.length} of ${want} bytes at ${hex(address + done)} (short frame): ` +
              'the range runs past readable memory.',
          );
        }
        out.set(data.subarray(0, want), done);
        done += want;
        onBytes?.(done, address + done);
      }
      await this.abort(signal);
    }
    return out;
  }

  /**
   * Leave DFU mode and start the application. DfuSe (AN3156 §6.3.4): Set Address Pointer
   * (the jump address for ST's ROM; default the first writable address), a zero-length
   * DNLOAD, then GETSTATUS through manifestation. Plain DFU 1.1 (§8): a USB reset.
   *
   * Success says how the host knows (`outcome`): a manifestation-tolerant device reported
   * dfuIDLE/OK after manifestation and got the bus reset that starts the image
   * (`'reported'`); or it left the bus during manifestation and was then found by serial
   * running the application (`'seen-running'`, which needs `usb`); or the device is not
   * manifestation tolerant, so leaving the bus is all it ever shows (`'assumed'`). A
   * tolerant device that left during manifestation and is not found running the
   * application is `InstallIncompleteError`.
   */
  async leave(options: LeaveOptions = {}): Promise<LeaveResult> {
    const { signal } = options;
    try {
      await this.ensureIdle(signal, 'leave');
    } catch (error) {
      // Our bootloader writes the held first block when the host ends the download (the
      // ABORT back to dfuIDLE here, docs/bootloader-core.md): a board lost meanwhile is an
      // install whose outcome must be seen, as one lost during manifestation.
      if (error instanceof DeviceGoneError && this.dfuse && this.functional.manifestationTolerant) {
        return {
          gone: true,
          outcome: await this.findAfterManifestation({ ...options, cause: error }),
        };
      }
      throw error;
    }
    if (!this.dfuse) {
      await this.usb.reset().catch(() => {});
      return { gone: true, outcome: 'assumed' };
    }
    const result = await this.startManifestation(options.address, signal);
    return { gone: true, outcome: await this.settleManifestation(result, options) };
  }

  /**
   * From dfuIDLE: Set Address Pointer (default the first writable address; a zero-length
   * DNLOAD is only valid in dfuDNLOAD-IDLE, which it leads to), then the zero-length DNLOAD
   * and manifestation.
   */
  private async startManifestation(
    address: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ManifestResult> {
    const layout = this.alternate.layout;
    const pointer =
      address ?? (layout ? (firstWritable(layout) ?? layout.segments[0]?.address) : undefined);
    if (pointer !== undefined) await this.setAddress(pointer, signal, 'leave');
    return this.endDownload(DFUSE_FIRST_DATA_BLOCK, signal);
  }

  /**
   * What a manifestation's end means for the application (the rule in `leave`): back in
   * dfuIDLE/OK, a bus reset starts the image (DFU 1.1 §8); a device that is not tolerant
   * left to start it; a tolerant one that vanished must be found again.
   */
  async settleManifestation(
    result: ManifestResult,
    options: Omit<LeaveOptions, 'address'> = {},
  ): Promise<LeaveOutcome> {
    switch (result.end) {
      case 'idle':
        // Manifestation is complete and the device calls the image good (ours: in flash and
        // past its boot checks, so it starts at the next reset whatever the bus does now).
        await this.usb.reset().catch(() => {});
        return 'reported';
      case 'left':
        return 'assumed';
      case 'vanished':
        return this.findAfterManifestation({ ...options, cause: result.cause });
    }
  }

  /**
   * A manifestation-tolerant device left the bus during manifestation without reporting
   * the outcome (power or cable lost). Look for the board by serial (`usb.getDevices()` and
   * `connect` events, under `reconnectTimeoutMs` on the clock): running the application
   * (a runtime DFU interface) is success; back in DFU mode, a DfuSe device is asked whether
   * the image in flash boots by manifesting it again (Set Address Pointer, zero-length
   * DNLOAD: with nothing held back our bootloader only runs its boot checks), and dfuIDLE/OK
   * is success, after the bus reset that starts it. Anything else is
   * `InstallIncompleteError`.
   */
  async findAfterManifestation(
    options: Omit<LeaveOptions, 'address'> & { readonly cause?: unknown } = {},
  ): Promise<'seen-running' | 'reported'> {
    const { signal, usb, cause } = options;
    const serialNumber = this.serialNumber;
    if (!usb || serialNumber === undefined) {
      throw new InstallIncompleteError('not-searched', { serialNumber, cause });
    }
    const timeoutMs = options.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS;
    const started = this.clock.now();
    const left = new Set<UsbDeviceLike>();
    for (;;) {
      let found: UsbDeviceLike;
      try {
        found = await searchBoard(usb, {
          clock: this.clock,
          serialNumber,
          accept: (d) => !left.has(d) && (hasRuntimeInterface(d) || hasDfuModeInterface(d)),
          timeoutMs: Math.max(1, timeoutMs - (this.clock.now() - started)),
          intervalMs: RECONNECT_POLL_MS,
          what: `the board with serial ${serialNumber} to come back after manifestation`,
          phase: 'leave',
          signal,
        });
      } catch (error) {
        if (error instanceof TimeoutError) {
          throw new InstallIncompleteError('nothing', { serialNumber, timeoutMs, cause });
        }
        throw error;
      }
      if (!hasDfuModeInterface(found)) return 'seen-running';
      try {
        return await this.askInstalled(found, signal);
      } catch (error) {
        // Seen before the OS noticed it leave, or gone again: keep looking.
        if (error instanceof DeviceGoneError) {
          left.add(found);
          continue;
        }
        if (error instanceof InstallIncompleteError || error instanceof AbortError) throw error;
        throw new InstallIncompleteError('bootloader', { serialNumber, cause: error });
      }
    }
  }

  /** The board is back in DFU mode: does the image in flash boot? (See findAfterManifestation.) */
  private async askInstalled(found: UsbDeviceLike, signal?: AbortSignal): Promise<'reported'> {
    const again = await DfuDevice.open(found, {
      clock: this.clock,
      alternate: this.alternate.alternateSetting,
      transferTimeoutMs: this.transferTimeoutMs,
      busyTimeoutMs: this.busyTimeoutMs,
      ...(signal ? { signal } : {}),
    });
    const serialNumber = this.serialNumber;
    if (!again.dfuse || again.mode !== 'dfu') {
      await again.release();
      throw new InstallIncompleteError('bootloader', { serialNumber });
    }
    const result = await again.startManifestation(undefined, signal).catch(async (error) => {
      await again.release();
      throw error;
    });
    if (result.end !== 'idle') {
      if (result.end === 'vanished' && result.cause instanceof DeviceGoneError) throw result.cause;
      throw new InstallIncompleteError('bootloader', { serialNumber, cause: result.cause });
    }
    await again.usb.reset().catch(() => {});
    return 'reported';
  }

  /** The zero-length DNLOAD that ends a download (DFU 1.1 §7), then manifestation. */
  async endDownload(block: number, signal?: AbortSignal): Promise<ManifestResult> {
    try {
      await this.classOut(
        DFU_DNLOAD,
        block,
        undefined,
        'DFU_DNLOAD (zero length, manifest)',
        signal,
        'leave',
      );
    } catch (error) {
      if (error instanceof DeviceGoneError) return this.lost(error);
      throw error;
    }
    return this.manifest(signal);
  }

  /** The device left the bus, stalled or stopped answering during manifestation. */
  private lost(cause: unknown): ManifestResult {
    // Only a device that is not manifestation tolerant ends manifestation by leaving (DFU
    // 1.1 §7: it then needs a reset); a tolerant one reports the outcome first.
    return this.functional.manifestationTolerant
      ? { gone: true, end: 'vanished', cause }
      : { gone: true, end: 'left' };
  }

  /**
   * After the zero-length DNLOAD: GETSTATUS through dfuMANIFEST-SYNC / dfuMANIFEST until the
   * device is idle again (manifestation tolerant: `'idle'`), waits for a reset or leaves the
   * bus (`'left'`), or, tolerant, leaves or stops answering before it says how manifestation
   * ended (`'vanished'`). A device that reports an error here (our bootloader: errFIRMWARE
   * for an image it would not boot) raises `DfuStatusError`.
   */
  async manifest(signal?: AbortSignal): Promise<ManifestResult> {
    const started = this.clock.now();
    let seenManifest = false;
    for (;;) {
      let st: DfuStatus;
      try {
        st = await this.getStatus(signal, 'leave');
      } catch (error) {
        if (error instanceof DeviceGoneError || error instanceof StallError)
          return this.lost(error);
        // A device that is not manifestation tolerant resets itself after dfuMANIFEST: on real
        // buses the request then fails in transport-specific ways, all meaning it left.
        if (seenManifest && error instanceof DfuError && error.code !== 'ABORTED')
          return this.lost(error);
        throw error;
      }
      if (st.status !== OK || st.state === dfuERROR) {
        if (st.state === dfuERROR) await this.clearStatus().catch(() => {});
        const error = new DfuStatusError(st.status, st.state, 'manifestation');
        throw st.status === errFIRMWARE
          ? await this.explainRefusal(error, signal)
          : await this.locateFailure(error, signal);
      }
      if (st.state === dfuIDLE) return { gone: false, end: 'idle' };
      if (st.state === dfuMANIFEST_WAIT_RESET) {
        await this.usb.reset().catch(() => {});
        return { gone: true, end: 'left' };
      }
      if (st.state !== dfuMANIFEST && st.state !== dfuMANIFEST_SYNC) {
        throw new ProtocolError(
          'PROTOCOL',
          `During manifestation the device went to ${st.stateName} (DFU 1.1 §7).`,
        );
      }
      if (st.state === dfuMANIFEST) seenManifest = true;
      if (this.clock.now() - started > this.busyTimeoutMs) {
        throw new TimeoutError('the device to finish manifestation', this.busyTimeoutMs);
      }
      await sleepOrAbort(this.clock, Math.max(1, st.pollTimeoutMs), signal, 'leave');
    }
  }

  /** Release the interface (the device stays open for its owner to close). */
  async release(): Promise<void> {
    await this.usb.releaseInterface(this.interfaceNumber).catch(() => {});
  }
}

function firstWritable(layout: DfuseLayout): number | undefined {
  return layout.sectors.find((s) => s.writable)?.start;
}

function notDfu(usb: UsbDeviceLike, why: string): DfuError {
  return new DfuError(
    'NOT_DFU',
    `USB device ${hex(usb.vendorId, 4)}:${hex(usb.productId, 4)} (${usb.productName ?? 'unnamed'}) is not a DFU device: ${why}. ` +
      'Pick the board in DFU mode or the application with a DFU runtime interface.',
  );
}

/** Reject with `DeviceGoneError` when the transport says the device is gone (`NotFoundError`). */
async function mapGone<T>(work: Promise<T>, what: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (isNotFoundError(error)) throw new DeviceGoneError(what, error);
    if (error instanceof DfuError) throw error;
    throw new DfuError(
      'PROTOCOL',
      `The USB transport failed during ${what}: ${error instanceof Error ? error.message : String(error)}. ` +
        'Check the cable, permissions (udev/WinUSB) and that no other program holds the device.',
      { cause: error },
    );
  }
}

type Guard = <T>(work: Promise<T>, what: string) => Promise<T>;

async function standardIn(
  usb: UsbDeviceLike,
  value: number,
  index: number,
  length: number,
  what: string,
  guard: Guard,
): Promise<Uint8Array> {
  const result = await guard(
    usb.controlTransferIn(
      {
        requestType: 'standard',
        recipient: 'device',
        request: USB_REQ_GET_DESCRIPTOR,
        value,
        index,
      },
      length,
    ),
    what,
  );
  if (result.status !== 'ok') {
    throw new ProtocolError(
      'PROTOCOL',
      `The device answered ${what} with ${result.status}; its descriptors cannot be read.`,
    );
  }
  const data = result.data;
  return data ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(0);
}

/** GET_DESCRIPTOR(configuration): the 9-byte header for wTotalLength, then all of it. */
async function readConfigurationDescriptor(
  usb: UsbDeviceLike,
  index: number,
  guard: Guard,
): Promise<ConfigurationDescriptor> {
  const value = (USB_DT_CONFIGURATION << 8) | index;
  const what = 'GET_DESCRIPTOR (configuration)';
  const header = await standardIn(usb, value, 0, 9, what, guard);
  if (header.length < 4) {
    throw new ProtocolError(
      'PROTOCOL',
      `${what} returned ${header.length} bytes (short frame); expected 9.`,
    );
  }
  const total = header[2]! | (header[3]! << 8);
  const full = await standardIn(usb, value, 0, total, what, guard);
  if (full.length < total) {
    throw new ProtocolError(
      'PROTOCOL',
      `${what} returned ${full.length} of its ${total} bytes (short frame).`,
    );
  }
  return parseConfigurationDescriptor(full);
}

async function readStringDescriptor(
  usb: UsbDeviceLike,
  index: number,
  guard: Guard,
): Promise<string | undefined> {
  try {
    const bytes = await standardIn(
      usb,
      (USB_DT_STRING << 8) | index,
      0x0409,
      255,
      `GET_DESCRIPTOR (string ${index})`,
      guard,
    );
    if (bytes.length < 2 || bytes[1] !== USB_DT_STRING) return undefined;
    const length = Math.min(bytes[0]!, bytes.length) & ~1;
    let text = '';
    for (let i = 2; i + 1 < length; i += 2)
      text += String.fromCharCode(bytes[i]! | (bytes[i + 1]! << 8));
    return text;
  } catch (error) {
    if (error instanceof DeviceGoneError) throw error;
    return undefined;
  }
}

function parseLayoutName(name: string | undefined): DfuseLayout | undefined {
  if (!name?.startsWith('@')) return undefined;
  try {
    return parseDfuseLayout(name);
  } catch (error) {
    if (error instanceof LayoutError) return undefined;
    throw error;
  }
}

function chooseAlternate(
  usb: UsbDeviceLike,
  alternates: readonly DfuAlternate[],
  wanted: number | string | undefined,
): DfuAlternate {
  if (wanted === undefined) return alternates[0]!;
  const found =
    typeof wanted === 'number'
      ? alternates.find((a) => a.alternateSetting === wanted)
      : alternates.find(
          (a) =>
            a.layout?.name.toLowerCase() === wanted.toLowerCase() ||
            a.name?.toLowerCase().includes(wanted.toLowerCase()),
        );
  if (!found) {
    const list = alternates.map(
      (a) => `${a.alternateSetting}: ${a.layout?.name ?? a.name ?? '(unnamed)'}`,
    );
    throw notDfu(
      usb,
      `it has no alt setting ${JSON.stringify(wanted)} (it has ${list.join('; ')})`,
    );
  }
  return found;
}
