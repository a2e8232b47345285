import { DFU_REQUEST_NAMES } from '../constants.js';
import type {
  Clock,
  UsbConfigurationLike,
  UsbControlSetup,
  UsbDeviceLike,
  UsbInTransferResult,
  UsbOutTransferResult,
} from '../device.js';

/** What the scripted device does when the expected request arrives. */
export type ScriptReply =
  /** IN: return these bytes (fewer than asked for is a short frame). */
  | { readonly type: 'data'; readonly data: Uint8Array }
  /** OUT: accept the data (`bytesWritten` = its length, unless given). */
  | { readonly type: 'ok'; readonly bytesWritten?: number }
  | { readonly type: 'stall' }
  | { readonly type: 'babble' }
  /** Never answer; the transfer rejects only when the device is closed. */
  | { readonly type: 'timeout' }
  /** Leave the bus: this and every later call reject with `NotFoundError`. */
  | { readonly type: 'gone' };

/**
 * One expected call on a scripted device: a control transfer IN or OUT with its exact setup (and
 * data), or a reset, and what the device answers.
 */
export type ScriptStep =
  | {
      readonly kind: 'in';
      readonly setup: UsbControlSetup;
      readonly length: number;
      readonly reply: ScriptReply;
    }
  | {
      readonly kind: 'out';
      readonly setup: UsbControlSetup;
      /** The exact bytes expected (undefined or empty: no data stage). */
      readonly data?: Uint8Array;
      readonly reply: ScriptReply;
    }
  | { readonly kind: 'reset'; readonly reply?: ScriptReply };

/** One request as it arrived, with the clock's time. */
export interface ScriptLogEntry {
  readonly at: number;
  readonly description: string;
}

/**
 * The identity and descriptors a scripted device reports; vendor and product default to 1209:0001
 * and bcdDevice to 2.00, as our bootloader.
 */
export interface ScriptedDeviceOptions {
  readonly vendorId?: number;
  readonly productId?: number;
  readonly bcdDevice?: number;
  readonly manufacturerName?: string;
  readonly productName?: string;
  readonly serialNumber?: string;
  /** The WebUSB view of the configurations (see `webUsbConfiguration`). */
  readonly configurations: readonly UsbConfigurationLike[];
  /** Timestamps the log; tests check waits (bwPollTimeout) against it. */
  readonly clock?: Clock;
}

/** The error every transfer rejects with after the device has gone (as Chromium and node-usb do). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** What a transfer pending on a closed device rejects with. */
export class TransferAbortedError extends Error {
  override readonly name = 'AbortError';
}

function hexBytes(data: Uint8Array | undefined, max = 16): string {
  if (!data || data.length === 0) return 'no data';
  const shown = [...data.subarray(0, max)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `${data.length} bytes [${shown}${data.length > max ? ' …' : ''}]`;
}

function describeSetup(setup: UsbControlSetup): string {
  const name =
    setup.requestType === 'class' && setup.recipient === 'interface'
      ? (DFU_REQUEST_NAMES[setup.request] ?? `request ${setup.request}`)
      : `${setup.requestType}/${setup.recipient} request 0x${setup.request.toString(16)}`;
  return `${name} wValue=0x${setup.value.toString(16)} wIndex=${setup.index}`;
}

/**
 * One line for a step, as the scripted device's log and failure messages show it (`IN
 * DFU_GETSTATUS wValue=0x0 wIndex=0 length=6`).
 */
export function describeStep(step: ScriptStep): string {
  if (step.kind === 'reset') return 'reset()';
  if (step.kind === 'in') return `IN  ${describeSetup(step.setup)} length=${step.length}`;
  return `OUT ${describeSetup(step.setup)} ${hexBytes(step.data)}`;
}

function sameSetup(a: UsbControlSetup, b: UsbControlSetup): boolean {
  return (
    a.requestType === b.requestType &&
    a.recipient === b.recipient &&
    a.request === b.request &&
    a.value === b.value &&
    a.index === b.index
  );
}

function sameData(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  const x = a ?? new Uint8Array(0);
  const y = b ?? new Uint8Array(0);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function toBytes(data: ArrayBuffer | ArrayBufferView | undefined): Uint8Array | undefined {
  if (data === undefined) return undefined;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * A `UsbDeviceLike` that plays a scripted exchange: each control transfer (and `reset()`)
 * must match the next expected step exactly, and gets that step's reply. A request that
 * does not match is recorded and rejected; `assertDone()` then fails the test with the
 * expected and actual requests side by side. `open`, `claimInterface` and
 * `selectAlternateInterface` are not scripted (WebUSB does them without DFU requests) but
 * are logged.
 */
export class ScriptedDevice implements UsbDeviceLike {
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly deviceVersionSubminor: number;
  readonly manufacturerName: string | undefined;
  readonly productName: string | undefined;
  readonly serialNumber: string | undefined;
  readonly configurations: readonly UsbConfigurationLike[];
  configuration: UsbConfigurationLike | null = null;
  opened = false;
  /** Every call as it arrived. */
  readonly log: ScriptLogEntry[] = [];
  readonly failures: string[] = [];
  #steps: ScriptStep[] = [];
  #gone = false;
  #pending = new Set<(error: Error) => void>();
  readonly #clock: Clock | undefined;

  constructor(options: ScriptedDeviceOptions) {
    this.vendorId = options.vendorId ?? 0x1209;
    this.productId = options.productId ?? 0x0001;
    const bcd = options.bcdDevice ?? 0x0200;
    this.deviceVersionMajor = bcd >> 8;
    this.deviceVersionMinor = (bcd >> 4) & 0xf;
    this.deviceVersionSubminor = bcd & 0xf;
    this.manufacturerName = options.manufacturerName;
    this.productName = options.productName;
    this.serialNumber = options.serialNumber;
    this.configurations = options.configurations;
    this.#clock = options.clock;
  }

  /** Append steps to the script. */
  expect(...steps: readonly ScriptStep[]): this {
    this.#steps.push(...steps);
    return this;
  }

  /** Steps not yet played. */
  get remaining(): readonly ScriptStep[] {
    return this.#steps;
  }

  /** Throw, with a readable diff, if a request did not match or steps were left unplayed. */
  assertDone(): void {
    const problems = [...this.failures];
    if (this.#steps.length > 0) {
      problems.push(
        `${this.#steps.length} expected request(s) never arrived, first: ${describeStep(this.#steps[0]!)}`,
      );
    }
    if (problems.length > 0) {
      const history = this.log.map((e) => `  t=${e.at} ${e.description}`).join('\n');
      throw new Error(
        `Scripted USB exchange failed:\n${problems.join('\n')}\nRequests received:\n${history}`,
      );
    }
  }

  #record(description: string): void {
    this.log.push({ at: this.#clock?.now() ?? 0, description });
  }

  #next(actual: ScriptStep): ScriptStep | Error {
    if (this.#gone) return new NotFoundError('The device was disconnected.');
    const expected = this.#steps[0];
    const matches =
      expected &&
      expected.kind === actual.kind &&
      (expected.kind === 'reset' ||
        (expected.kind === 'in' &&
          actual.kind === 'in' &&
          sameSetup(expected.setup, actual.setup) &&
          expected.length === actual.length) ||
        (expected.kind === 'out' &&
          actual.kind === 'out' &&
          sameSetup(expected.setup, actual.setup) &&
          sameData(expected.data, actual.data)));
    if (!matches) {
      const message =
        `Unexpected request #${this.log.length}:\n` +
        `  expected: ${expected ? describeStep(expected) : '(end of script)'}\n` +
        `  actual:   ${describeStep(actual)}`;
      this.failures.push(message);
      return new Error(message);
    }
    this.#steps.shift();
    return expected;
  }

  #settle<T>(reply: ScriptReply, ok: (reply: ScriptReply) => T): Promise<T> {
    switch (reply.type) {
      case 'gone':
        this.#gone = true;
        return Promise.reject(new NotFoundError('The device was disconnected.'));
      case 'timeout':
        return new Promise<T>((_, reject) => {
          this.#pending.add(reject);
        });
      default:
        return Promise.resolve(ok(reply));
    }
  }

  controlTransferIn(setup: UsbControlSetup, length: number): Promise<UsbInTransferResult> {
    const actual: ScriptStep = { kind: 'in', setup, length, reply: { type: 'stall' } };
    this.#record(describeStep(actual));
    const step = this.#next(actual);
    if (step instanceof Error) return Promise.reject(step);
    return this.#settle(step.kind === 'reset' ? { type: 'ok' } : step.reply, (reply) => {
      if (reply.type === 'stall' || reply.type === 'babble') return { status: reply.type };
      const data = reply.type === 'data' ? reply.data.slice(0, length) : new Uint8Array(0);
      return { status: 'ok', data: new DataView(data.buffer, data.byteOffset, data.byteLength) };
    });
  }

  controlTransferOut(
    setup: UsbControlSetup,
    data?: ArrayBuffer | ArrayBufferView,
  ): Promise<UsbOutTransferResult> {
    const bytes = toBytes(data);
    const actual: ScriptStep = {
      kind: 'out',
      setup,
      ...(bytes ? { data: bytes } : {}),
      reply: { type: 'ok' },
    };
    this.#record(describeStep(actual));
    const step = this.#next(actual);
    if (step instanceof Error) return Promise.reject(step);
    return this.#settle(step.kind === 'reset' ? { type: 'ok' } : step.reply, (reply) => {
      if (reply.type === 'stall' || reply.type === 'babble')
        return { status: reply.type, bytesWritten: 0 };
      const written =
        reply.type === 'ok' && reply.bytesWritten !== undefined
          ? reply.bytesWritten
          : (bytes?.length ?? 0);
      return { status: 'ok', bytesWritten: written };
    });
  }

  reset(): Promise<void> {
    this.#record('reset()');
    const step = this.#next({ kind: 'reset' });
    if (step instanceof Error) return Promise.reject(step);
    return this.#settle(
      (step.kind === 'reset' ? step.reply : undefined) ?? { type: 'ok' },
      () => undefined,
    );
  }

  #call(description: string, action?: () => void): Promise<void> {
    this.#record(description);
    if (this.#gone) return Promise.reject(new NotFoundError('The device was disconnected.'));
    action?.();
    return Promise.resolve();
  }

  open(): Promise<void> {
    return this.#call('open()', () => {
      this.opened = true;
    });
  }

  close(): Promise<void> {
    this.opened = false;
    for (const reject of this.#pending) reject(new TransferAbortedError('The device was closed.'));
    this.#pending.clear();
    this.#record('close()');
    return Promise.resolve();
  }

  selectConfiguration(value: number): Promise<void> {
    return this.#call(`selectConfiguration(${value})`, () => {
      this.configuration = this.configurations.find((c) => c.configurationValue === value) ?? null;
    });
  }

  claimInterface(n: number): Promise<void> {
    return this.#call(`claimInterface(${n})`);
  }

  releaseInterface(n: number): Promise<void> {
    return this.#call(`releaseInterface(${n})`);
  }

  selectAlternateInterface(n: number, alt: number): Promise<void> {
    return this.#call(`selectAlternateInterface(${n}, ${alt})`);
  }
}
