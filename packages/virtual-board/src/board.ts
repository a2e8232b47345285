import { crc32Stm32Words } from '@stm32dfu/image-tools';
import {
  type BoardDefinition,
  type BoardLayout,
  DEFAULT_BOARD,
  getLayout,
  hex,
  LayoutError,
} from '@stm32dfu/layout';
import { ApplicationModel } from './app-model.js';
import { VirtualClock } from './clock.js';
import {
  type ConfigurationDescriptor,
  DESCRIPTOR_CONFIGURATION,
  DESCRIPTOR_DEVICE,
  DESCRIPTOR_STRING,
  parseConfigurationDescriptor,
  parseDeviceDescriptor,
  parseStringDescriptor,
} from './descriptors.js';
import { VirtualBoardError, webUsbError } from './errors.js';
import { FlashMemory, type FlashOperation } from './flash.js';
import {
  ATTACH_DEBOUNCE_MS,
  BUS_RESET_MS,
  controlTransferBusMs,
  crcWordsPerMs,
  HSI_HZ,
  nextFrame,
  SET_ADDRESS_RECOVERY_MS,
} from './timing.js';
import {
  type DeviceHost,
  type EnumeratedDevice,
  endpointsOf,
  setupBytes,
  VirtualUsbDevice,
} from './usb-device.js';
import type { UsbFunction } from './usb-function.js';
import type {
  UsbConnectionEventLike,
  UsbConnectionListener,
  UsbLike,
  UsbTransferStatus,
} from './usb-types.js';
import {
  type BootVerdict,
  type CoreHardware,
  type CoreSigning,
  HAL_ERR_ALIGNMENT,
  HAL_ERR_SEQUENCE,
  HAL_ERR_VERIFY,
  HAL_OK,
  WasmCore,
} from './wasm-core.js';
import { compileWasm, type WasmSource } from './wasm-loader.js';

/**
 * What the chip runs: our bootloader, the example application, ST's ROM bootloader (Boot0 high), or
 * nothing (unpowered).
 */
export type BoardMode = 'bootloader' | 'application' | 'rom' | 'off';

/**
 * Why the chip reset: power coming up, an NRST pulse, or a software reset (the bootloader leaving,
 * the application asking for it).
 */
export type ResetCause = 'power-on' | 'nrst' | 'software';

/** One entry of `board.events`; `t` is virtual milliseconds. */
export type BoardEvent =
  | {
      readonly t: number;
      readonly type: 'power';
      readonly on: boolean;
      readonly cause: 'pin' | 'cable' | 'fault';
    }
  | { readonly t: number; readonly type: 'cable'; readonly plugged: boolean }
  | { readonly t: number; readonly type: 'reset'; readonly cause: ResetCause }
  | {
      readonly t: number;
      readonly type: 'boot';
      readonly mode: 'bootloader' | 'rom' | 'application';
      readonly verdict: BootVerdict | 'rom';
    }
  | {
      readonly t: number;
      readonly type: 'enumerate';
      readonly mode: BoardMode;
      readonly vendorId: number;
      readonly productId: number;
      readonly serialNumber: string | null;
    }
  | { readonly t: number; readonly type: 'enumerate-failed'; readonly reason: string }
  | { readonly t: number; readonly type: 'disconnect'; readonly mode: BoardMode }
  | {
      readonly t: number;
      readonly type: 'erase';
      readonly address: number;
      readonly size: number;
      readonly sector: number;
      readonly durationMs: number;
    }
  | {
      readonly t: number;
      readonly type: 'program';
      readonly address: number;
      readonly size: number;
      readonly durationMs: number;
      readonly ok: boolean;
    }
  | {
      readonly t: number;
      readonly type: 'crc';
      readonly address: number;
      readonly length: number;
      readonly durationMs: number;
    }
  | { readonly t: number; readonly type: 'jump'; readonly address: number }
  | { readonly t: number; readonly type: 'detach' }
  | {
      readonly t: number;
      readonly type: 'fault';
      readonly fault: string;
      readonly address?: number;
    };

/** The `type` of a board event, for listening to one kind with `on`. */
export type BoardEventType = BoardEvent['type'];

/**
 * How to build a virtual board: which board, its initial flash, clock, core, unique id, pins and
 * the transfer size it announces.
 */
export interface VirtualBoardOptions {
  /** Board id from @stm32dfu/layout (default 'blackpill-f411') or a custom definition. */
  readonly board?: string | BoardDefinition;
  /** Initial flash contents: the whole flash, e.g. from a previous `board.flash` copy. */
  readonly flash?: Uint8Array;
  /** A clock to share with other boards or a test; a new one starting at 0 otherwise. */
  readonly clock?: VirtualClock;
  /** The compiled core: bytes, a compiled module, or a URL (browser); default: next to dist. */
  readonly wasm?: WasmSource;
  /** The chip's 96-bit unique id (12 bytes or 24 hex digits); deterministic per board otherwise. */
  readonly uid?: Uint8Array | string;
  /** Boot0 pin level at the first power-on. */
  readonly boot0?: boolean;
  /** Power the board at once (default true); otherwise call `power(true)`. */
  readonly powered?: boolean;
  /**
   * The wTransferSize our bootloader announces and serves (default 2048): a multiple of 64
   * from 64 to 2048, to play the many DFU devices that announce 64, 256 or 1024. ST's ROM
   * model (Boot0 high) always announces its 2048.
   */
  readonly transferSize?: number;
  /**
   * Signed firmware (docs/signed-firmware.md): the keys and policy the bootloader runs with, as
   * the chip compiles them in from its board JSON. Default: the board definition's `signing`
   * (none for the built-in boards: any stamped image installs).
   */
  readonly signing?: VirtualBoardSigning;
  /** The chip's OTP area (its size, e.g. 512 bytes on the F411), e.g. from `board.otpImage()`. */
  readonly otp?: Uint8Array;
}

/**
 * A virtual board created locked: the Ed25519 public keys it accepts and what it enforces.
 */
export interface VirtualBoardSigning {
  /** 1 to 4 raw public keys: 32 bytes, or 64 hex digits (what `stm32dfu keygen` prints). */
  readonly keys: readonly (Uint8Array | string)[];
  /** Install only images signed by one of `keys` (default true). */
  readonly required?: boolean;
  /** Check the signature and security counter at every boot too (default false). */
  readonly verifyAtBoot?: boolean;
  /** Lock-down: UPLOAD refused, CRC of whole sectors only (default false). */
  readonly lockUpload?: boolean;
}

function parseSigning(
  signing: VirtualBoardSigning | undefined,
  board: BoardDefinition,
): CoreSigning | undefined {
  const given =
    signing ??
    (board.signing && {
      keys: board.signing.keys,
      required: board.signing.required,
      verifyAtBoot: board.signing.verifyAtBoot,
      lockUpload: board.signing.lockUpload,
    });
  if (!given) return undefined;
  if (given.keys.length < 1 || given.keys.length > 4) {
    throw new VirtualBoardError(
      'INVALID_SIGNING_KEYS',
      `signing.keys holds ${given.keys.length} keys; a board holds 1 to 4 Ed25519 public keys.`,
      { value: String(given.keys.length) },
    );
  }
  const keys = given.keys.map((key, i) => {
    if (typeof key === 'string') {
      if (!/^[0-9a-fA-F]{64}$/.test(key)) {
        throw new VirtualBoardError(
          'INVALID_SIGNING_KEYS',
          `signing.keys[${i}] is not a raw Ed25519 public key (64 hex digits, as \`stm32dfu keygen\` prints it).`,
          { value: key },
        );
      }
      return Uint8Array.from(key.match(/../g)!, (b) => Number.parseInt(b, 16));
    }
    if (key.length !== 32) {
      throw new VirtualBoardError(
        'INVALID_SIGNING_KEYS',
        `signing.keys[${i}] is ${key.length} bytes; a raw Ed25519 public key is 32.`,
        { value: String(key.length) },
      );
    }
    return Uint8Array.from(key);
  });
  const required = given.required ?? true;
  const verifyAtBoot = given.verifyAtBoot ?? false;
  const lockUpload = given.lockUpload ?? false;
  return { keys, required, verifyAtBoot, lockUpload };
}

/**
 * wTransferSizes the bootloader core serves (firmware/src/port/wasm/port.c): whole 64-byte
 * EP0 packets, which are also whole 64-byte program slices, so every block starts on a
 * flash word (DfuSe puts block n at pointer + (n − 2) × wTransferSize); at least one packet,
 * which holds the 20-byte report (UPLOAD block 1) and the 9-byte CRC command; at most one
 * write-queue buffer (BL_MAX_TRANSFER_SIZE).
 */
export const TRANSFER_SIZE_STEP = 64;
/** Smallest wTransferSize the virtual bootloader serves, bytes: one EP0 packet. */
export const TRANSFER_SIZE_MIN = 64;
/** Largest wTransferSize the virtual bootloader serves, bytes: one write-queue buffer. */
export const TRANSFER_SIZE_MAX = 2048;
/** What `bl_profile_stm32dfu` announces on the chip. */
export const DEFAULT_TRANSFER_SIZE = 2048;

function checkTransferSize(size: number | undefined): number {
  if (size === undefined) return DEFAULT_TRANSFER_SIZE;
  if (
    !Number.isInteger(size) ||
    size < TRANSFER_SIZE_MIN ||
    size > TRANSFER_SIZE_MAX ||
    size % TRANSFER_SIZE_STEP !== 0
  ) {
    throw new VirtualBoardError(
      'INVALID_TRANSFER_SIZE',
      `transferSize ${size} is not one the bootloader serves: give a multiple of ` +
        `${TRANSFER_SIZE_STEP} (the EP0 packet and program slice) from ${TRANSFER_SIZE_MIN} ` +
        `to ${TRANSFER_SIZE_MAX} (its block buffer), e.g. 64, 256 or 1024.`,
      { value: String(size) },
    );
  }
  return size;
}

/**
 * Faults to arm on a board (`board.faults`) for testing recovery: power cuts during flash
 * operations, cable pulls, flipped flash bits.
 */
export interface BoardFaults {
  /** Power drops right after the n-th flash erase/program from now (n ≥ 1). */
  cutPowerAfterFlashOps(n: number): void;
  /** The cable is pulled during the control transfer after the next n (n ≥ 0). */
  unplugAfterTransfers(n: number): void;
  /** The cable is pulled at virtual time `t` ms. */
  unplugAt(t: number): void;
  /** Flip bits of one flash byte (default: the lowest bit). */
  corrupt(address: number, xorMask?: number): void;
  /** Cancel every armed fault. */
  clear(): void;
}

/** bl_poll calls per wake-up before the loop waits for the next millisecond tick. */
const MAX_POLLS_PER_WAKE = 64;

/**
 * Create a virtual board with the bootloader core loaded and powered (unless told not to).
 * The returned promise resolves once the wasm core is instantiated; the board then boots at
 * virtual time 0 and enumerates about 130 ms later (attach debounce, bus reset, descriptors).
 */
export function createVirtualBoard(options: VirtualBoardOptions = {}): Promise<VirtualBoard> {
  return buildBoard(VirtualBoard, options);
}

/** @internal Shared by the Node entry, whose board class adds file helpers. */
export async function buildBoard<T extends VirtualBoard>(
  BoardClass: new (layout: BoardLayout, options: VirtualBoardOptions) => T,
  options: VirtualBoardOptions,
): Promise<T> {
  const layout = resolveLayout(options.board);
  const module = await compileWasm(options.wasm, layout.board.id);
  const board = new BoardClass(layout, options);
  await board.attachCore(module);
  if (options.powered ?? true) board.power(true);
  return board;
}

/** @internal */
export function resolveLayout(board: string | BoardDefinition | undefined): BoardLayout {
  try {
    return getLayout(board ?? DEFAULT_BOARD);
  } catch (cause) {
    if (cause instanceof LayoutError) {
      throw new VirtualBoardError(
        'UNKNOWN_BOARD',
        cause.message,
        { value: String(board) },
        { cause },
      );
    }
    throw cause;
  }
}

/** A deterministic UID per board id: FNV-1a bytes, stable across runs and machines. */
export function defaultUid(boardId: string): Uint8Array {
  const out = new Uint8Array(12);
  let h = 0x811c9dc5;
  for (let i = 0; i < 12; i++) {
    for (const ch of `${boardId}#${i}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    out[i] = h & 0xff;
  }
  return out;
}

function parseUid(uid: Uint8Array | string | undefined, boardId: string): Uint8Array {
  if (uid === undefined) return defaultUid(boardId);
  if (typeof uid === 'string') {
    if (!/^[0-9a-fA-F]{24}$/.test(uid)) {
      throw new VirtualBoardError(
        'INVALID_UID',
        `uid "${uid}" is not 24 hex digits: give the 96-bit unique id as 12 bytes or 24 hex digits.`,
        { value: uid },
      );
    }
    return Uint8Array.from(uid.match(/../g)!.map((b) => Number.parseInt(b, 16)));
  }
  if (uid.length !== 12) {
    throw new VirtualBoardError(
      'INVALID_UID',
      `uid has ${uid.length} bytes: the STM32 unique id is 12 bytes (96 bits).`,
      { value: String(uid.length) },
    );
  }
  return uid.slice();
}

/** The serial string our firmware derives from the UID: 24 uppercase hex digits, address order. */
export function serialFromUid(uid: Uint8Array): string {
  return Array.from(uid, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
}

/**
 * An STM32 board on a virtual USB cable: pins (Boot0, NRST, power, button), the NOR flash,
 * the boot-request word in SRAM, a virtual clock, the bootloader's real C core (ours or the
 * ROM model, by Boot0) and, after a jump, a model of the example application.
 */
export class VirtualBoard {
  readonly layout: BoardLayout;
  readonly clock: VirtualClock;
  readonly uid: Uint8Array;
  readonly serialNumber: string;
  /** The wTransferSize our bootloader announces (option `transferSize`). */
  readonly transferSize: number;
  readonly events: BoardEvent[] = [];
  readonly usb: UsbLike & {
    /** Stop telling a listener added with `addEventListener`. */
    removeEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
  };
  readonly faults: BoardFaults;
  readonly #flash: FlashMemory;
  readonly #signing: CoreSigning | undefined;
  readonly #otp: Uint8Array;
  #core: WasmCore | undefined;
  #mode: BoardMode = 'off';
  #powered = false;
  #plugged = true;
  #boot0: boolean;
  #button = false;
  #led = 0;
  /** The boot-request word and its complement (SRAM: survives resets, not power cycles). */
  #bootRequest: [number, number] = [0, 0];
  #resetAt = 0;
  /** HCLK: the reset clock (HSI) during the boot decision, SYSCLK once DFU mode runs. */
  #hclkHz = HSI_HZ;
  /** End of the flash operation under way: the main loop's next bl_poll waits for it. */
  #busyUntil = 0;
  /** End of the erase under way: the chip answers nothing on the bus until then. */
  #stallUntil = 0;
  #function: UsbFunction | undefined;
  #connected = false;
  #device: VirtualUsbDevice | null = null;
  /** Bumped whenever what is on the bus changes, so stale timers do nothing. */
  #generation = 0;
  #pollTimerAt = -1;
  #transferQueue: Promise<unknown> = Promise.resolve();
  #address = 0;
  #pendingJump: number | undefined;
  #pendingReset = false;
  #powerCut = false;
  #powerCutScheduled = false;
  #flashOpsUntilPowerCut: number | undefined;
  #transfersUntilUnplug: number | undefined;
  #unplugTimers: { cancel(): void }[] = [];
  readonly #listeners = {
    connect: new Set<UsbConnectionListener>(),
    disconnect: new Set<UsbConnectionListener>(),
  };
  readonly #eventListeners = new Map<string, Set<(event: BoardEvent) => void>>();

  /** Use `createVirtualBoard`, which loads the core first. */
  constructor(layout: BoardLayout, options: VirtualBoardOptions = {}) {
    this.layout = layout;
    this.clock = options.clock ?? new VirtualClock();
    this.uid = parseUid(options.uid, layout.board.id);
    this.serialNumber = serialFromUid(this.uid);
    this.transferSize = checkTransferSize(options.transferSize);
    this.#flash = new FlashMemory(layout.chip);
    if (options.flash) this.#flash.load(options.flash, 'options.flash');
    this.#signing = parseSigning(options.signing, layout.board);
    this.#otp = new Uint8Array(layout.chip.otp?.size ?? 0).fill(0xff);
    if (options.otp) this.loadOtp(options.otp, 'options.otp');
    this.#boot0 = options.boot0 ?? false;
    this.clock.setTicker(
      () => this.#mainLoop(),
      () => this.#wantsTicks(),
    );
    const listeners = this.#listeners;
    this.usb = {
      getDevices: async () => (this.#device ? [this.#device] : []),
      addEventListener: (type, listener) => listeners[type].add(listener),
      removeEventListener: (type, listener) => listeners[type].delete(listener),
    };
    this.faults = this.#makeFaults();
  }

  /** @internal Instantiate the core; done once by `createVirtualBoard`. */
  async attachCore(module: WebAssembly.Module): Promise<void> {
    const core = await WasmCore.instantiate(module, this.#hardware());
    core.configureSigning(this.#signing);
    if (!core.supportsTransferSize(this.transferSize)) {
      throw new VirtualBoardError(
        'INVALID_TRANSFER_SIZE',
        `The bootloader core refuses wTransferSize ${this.transferSize} although the board ` +
          'allows it: the port and the board are out of step; rebuild with ' +
          '`pnpm --filter @stm32dfu/virtual-board build`.',
        { value: String(this.transferSize) },
      );
    }
    this.#core = core;
  }

  // ---- What a user sees ----

  get mode(): BoardMode {
    return this.#mode;
  }

  /** The enumerated device, or null while the board is off the bus. */
  get device(): VirtualUsbDevice | null {
    return this.#device;
  }

  /** The flash contents (live view; writes through it bypass NOR rules and timing). */
  get flash(): Uint8Array {
    return this.#flash.bytes;
  }

  get flashBase(): number {
    return this.#flash.base;
  }

  get boot0(): boolean {
    return this.#boot0;
  }

  get powered(): boolean {
    return this.#powered;
  }

  get plugged(): boolean {
    return this.#plugged;
  }

  /** The LED pattern the core last asked for (hal_led_pattern_t: 0 idle, 1 transfer, 2 error). */
  get led(): number {
    return this.#led;
  }

  /** The boot-request word pair as it sits in SRAM. */
  get bootRequest(): readonly [number, number] {
    return [this.#bootRequest[0], this.#bootRequest[1]];
  }

  /** The core's DFU bState, while the bootloader or ROM runs. */
  get dfuState(): number | undefined {
    return this.#mode === 'bootloader' || this.#mode === 'rom' ? this.#core?.dfuState : undefined;
  }

  /** The USB address the host gave with SET_ADDRESS (0 before enumeration). */
  get usbAddress(): number {
    return this.#address;
  }

  /** Virtual time until which a flash operation (an erase, or a program slice) occupies the chip. */
  get busyUntil(): number {
    return this.#busyUntil;
  }

  /** Virtual time until which an erase stalls the bus (transfers start after it). */
  get stallUntil(): number {
    return this.#stallUntil;
  }

  /**
   * Be told of each new board event of `type` (`*` for all) as it is logged; returns the function
   * that stops it.
   */
  on(type: BoardEventType | '*', listener: (event: BoardEvent) => void): () => void {
    let set = this.#eventListeners.get(type);
    if (!set) {
      set = new Set();
      this.#eventListeners.set(type, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  // ---- Pins and cable ----

  /** Boot0 level; read by the chip at its next reset, as on hardware. */
  setBoot0(high: boolean): void {
    this.#boot0 = high;
  }

  /** The bootloader button (KEY on the Black Pill); read by boot_decide at reset. */
  setButton(pressed: boolean): void {
    this.#button = pressed;
  }

  /** Pulse NRST: the chip resets (SRAM survives, so a pending boot request does too). */
  reset(): void {
    if (!this.#running) return;
    this.#chipReset('nrst');
  }

  /** Switch the supply. Power-up starts the chip with SRAM cleared. */
  power(on: boolean): void {
    if (on === this.#powered) return;
    this.#powered = on;
    this.#log({ t: this.clock.now(), type: 'power', on, cause: 'pin' });
    this.#supplyChanged(on);
  }

  /** Pull the USB cable. The Black Pill is bus-powered, so the chip loses power too. */
  unplug(): void {
    if (!this.#plugged) return;
    this.#plugged = false;
    this.#log({ t: this.clock.now(), type: 'cable', plugged: false });
    if (this.#powered) this.#supplyChanged(false);
  }

  /** Plug the USB cable back in; a bus-powered board powers up and enumerates again. */
  plug(): void {
    if (this.#plugged) return;
    this.#plugged = true;
    this.#log({ t: this.clock.now(), type: 'cable', plugged: true });
    if (this.#powered) this.#supplyChanged(true);
  }

  // ---- Flash for test setup ----

  /** Write bytes directly, as a debug probe would (no USB, no timing, no NOR rule). */
  writeFlash(address: number, bytes: Uint8Array): void {
    this.#flash.write(address, bytes);
  }

  /**
   * A copy of `length` bytes of flash from `address`, read as a debug probe would (no USB, no
   * time).
   */
  readFlash(address: number, length: number): Uint8Array {
    return this.#flash.read(address, length);
  }

  /** Replace the whole flash (exactly the flash size), e.g. with a saved image. */
  loadFlash(image: Uint8Array, source = 'loadFlash(bytes)'): void {
    this.#flash.load(image, source);
  }

  /** A copy of the whole flash, for saving. */
  flashImage(): Uint8Array {
    return this.#flash.bytes.slice();
  }

  // ---- Signed firmware ----

  /** The keys and policy the bootloader runs with (keys as 64 hex digits); undefined: none. */
  get signing():
    | { keys: string[]; required: boolean; verifyAtBoot: boolean; lockUpload: boolean }
    | undefined {
    const s = this.#signing;
    if (!s) return undefined;
    const hexKey = (k: Uint8Array) =>
      Array.from(k, (b) => b.toString(16).padStart(2, '0')).join('');
    return {
      keys: s.keys.map(hexKey),
      required: s.required,
      verifyAtBoot: s.verifyAtBoot,
      lockUpload: s.lockUpload,
    };
  }

  /**
   * The chip's one-time-programmable area (live view; empty on chips without one). Bits only
   * ever clear: the bootloader's anti-rollback counter is the last 64 bytes, one bit per step.
   */
  get otp(): Uint8Array {
    return this.#otp;
  }

  /** A copy of the OTP area, for saving next to `flashImage()`. */
  otpImage(): Uint8Array {
    return this.#otp.slice();
  }

  /** Replace the OTP area (exactly its size), e.g. with a saved one. */
  loadOtp(image: Uint8Array, source = 'loadOtp(bytes)'): void {
    if (image.length !== this.#otp.length) {
      throw new VirtualBoardError(
        'OTP_IMAGE_SIZE',
        `OTP image ${source} is ${image.length} bytes, but ${this.layout.chip.name} has ` +
          `${this.#otp.length} OTP bytes: save it with board.otpImage().`,
        { value: source },
      );
    }
    this.#otp.set(image);
  }

  // ---- Internals: power and reset ----

  get #running(): boolean {
    return this.#powered && this.#plugged;
  }

  #supplyChanged(on: boolean): void {
    if (on && this.#running) {
      this.#bootRequest = [0, 0];
      this.#chipReset('power-on');
    } else if (!on && this.#mode !== 'off') {
      this.#powerDown();
    }
  }

  #powerDown(): void {
    this.#leaveBus();
    this.#function = undefined;
    this.#mode = 'off';
    // SRAM does not survive a power cycle (RM0383 §2.3.1); zeros never match the magic.
    this.#bootRequest = [0, 0];
    this.#busyUntil = this.clock.now();
    this.#stallUntil = this.#busyUntil;
  }

  #chipReset(cause: ResetCause): void {
    const now = this.clock.now();
    this.#leaveBus();
    this.#log({ t: now, type: 'reset', cause });
    this.#resetAt = now;
    // A reset aborts a running flash operation: what it had done stays (flash.ts applies
    // operations whole, at their start).
    this.#busyUntil = now;
    this.#stallUntil = now;
    this.#function = undefined;
    this.#pendingJump = undefined;
    this.#pendingReset = false;
    this.#powerCut = false;
    this.#powerCutScheduled = false;
    const core = this.#requireCore();
    const boot0 = this.#boot0;
    this.#mode = boot0 ? 'rom' : 'bootloader';
    this.#function = core;
    // The port decides on the reset clock, then starts the PLL before bl_init.
    this.#hclkHz = HSI_HZ;
    const verdict = core.reset(boot0, this.transferSize);
    this.#hclkHz = this.layout.board.sysclkHz;
    if (verdict !== 'jump') {
      this.#log({ t: now, type: 'boot', mode: boot0 ? 'rom' : 'bootloader', verdict });
    } else {
      this.#log({ t: now, type: 'boot', mode: 'application', verdict });
    }
    this.#afterCoreCall();
  }

  /** Apply what a core call left for "after it returns": power cut, jump, reset. */
  #afterCoreCall(): void {
    if (this.#powerCut) {
      // The supply drops when the cut operation ends; until then the chip is stalled anyway.
      if (!this.#powerCutScheduled) {
        this.#powerCutScheduled = true;
        this.clock.schedule(this.#busyUntil, () => {
          if (!this.#powerCut) return;
          this.#powerCut = false;
          this.#powerCutScheduled = false;
          this.#log({ t: this.clock.now(), type: 'power', on: false, cause: 'fault' });
          this.#powered = false;
          this.#powerDown();
        });
      }
      return;
    }
    if (this.#pendingJump !== undefined) {
      const address = this.#pendingJump;
      this.#pendingJump = undefined;
      this.#startApplication(address);
      return;
    }
    if (this.#pendingReset) {
      this.#pendingReset = false;
      this.#chipReset('software');
    }
  }

  #startApplication(vectorTable: number): void {
    this.#log({ t: this.clock.now(), type: 'jump', address: vectorTable });
    this.#leaveBus();
    this.#mode = 'application';
    const app = new ApplicationModel({
      identity: this.layout.board.usbIdentity,
      serialNumber: this.serialNumber,
      onDetach: () => {
        // The example application: write the request word (contract 5), then AIRCR reset.
        const magic = this.layout.partitions.bootRequest.magic >>> 0;
        this.#bootRequest = [magic, ~magic >>> 0];
        this.#log({ t: this.clock.now(), type: 'detach' });
        this.#pendingReset = true;
      },
    });
    this.#function = app;
    this.#attach();
  }

  // ---- Internals: the bus ----

  /** The pull-up appears: the host debounces, resets the port and enumerates. */
  #attach(): void {
    this.#connected = true;
    const generation = ++this.#generation;
    const at = this.clock.now() + ATTACH_DEBOUNCE_MS;
    this.clock.schedule(at, () => {
      if (generation !== this.#generation) return;
      this.#enumerate(at, generation);
    });
  }

  /** Take the device off the bus (soft disconnect, reset, power loss, jump). */
  #leaveBus(): void {
    this.#connected = false;
    this.#generation++;
    const device = this.#device;
    if (!device) return;
    this.#device = null;
    device.markGone();
    this.#log({ t: this.clock.now(), type: 'disconnect', mode: this.#mode });
    this.#dispatch('disconnect', { device });
  }

  #enumerate(start: number, generation: number): void {
    const fn = this.#function;
    if (!fn || !this.#connected) return;
    let cursor = start;
    fn.busReset();
    cursor += BUS_RESET_MS;
    const request = (setup: Uint8Array, inLength: number, out?: Uint8Array) => {
      const start = nextFrame(Math.max(cursor, this.#busyUntil));
      const result = this.#exchange(fn, start, setup, out, inLength);
      cursor = result.end;
      if (generation !== this.#generation) throw new EnumerationAborted();
      if (result.status !== 'ok') {
        throw new Error(
          `request ${Array.from(setup.subarray(0, 4), (b) => hex(b, 2)).join(' ')} stalled`,
        );
      }
      return result.data ?? new Uint8Array(0);
    };
    try {
      // The sequence a Linux host uses: 64-byte device descriptor, address, full reads.
      request(setupBytes(0x80, 6, DESCRIPTOR_DEVICE << 8, 0, 64), 64);
      request(setupBytes(0x00, 5, 1, 0, 0), 0);
      cursor += SET_ADDRESS_RECOVERY_MS;
      const deviceBytes = request(setupBytes(0x80, 6, DESCRIPTOR_DEVICE << 8, 0, 18), 18);
      const device = parseDeviceDescriptor(deviceBytes);
      const head = request(setupBytes(0x80, 6, DESCRIPTOR_CONFIGURATION << 8, 0, 9), 9);
      const total = head[2]! | (head[3]! << 8);
      const configBytes = request(
        setupBytes(0x80, 6, DESCRIPTOR_CONFIGURATION << 8, 0, total),
        total,
      );
      const config = parseConfigurationDescriptor(configBytes);
      const langids = request(setupBytes(0x80, 6, DESCRIPTOR_STRING << 8, 0, 255), 255);
      const langid = langids.length >= 4 ? langids[2]! | (langids[3]! << 8) : 0x0409;
      const text = (index: number): string | null =>
        index === 0
          ? null
          : parseStringDescriptor(
              request(setupBytes(0x80, 6, (DESCRIPTOR_STRING << 8) | index, langid, 255), 255),
            );
      const info: EnumeratedDevice = {
        vendorId: device.idVendor,
        productId: device.idProduct,
        bcdDevice: device.bcdDevice,
        manufacturerName: text(device.iManufacturer),
        productName: text(device.iProduct),
        serialNumber: text(device.iSerialNumber),
        configurations: [describeConfiguration(config, text)],
        activeConfiguration: config.bConfigurationValue,
        descriptors: { device: deviceBytes, configuration: configBytes },
      };
      // Linux selects the first configuration itself; WebUSB then shows it as active.
      request(setupBytes(0x00, 9, config.bConfigurationValue, 0, 0), 0);
      this.clock.schedule(cursor, () => {
        if (generation !== this.#generation) return;
        this.#publish(info);
      });
    } catch (error) {
      if (error instanceof EnumerationAborted) return;
      this.#log({
        t: cursor,
        type: 'enumerate-failed',
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }

  #publish(info: EnumeratedDevice): void {
    const host: DeviceHost = {
      transfer: (device, setup, out, inLength) => this.#hostTransfer(device, setup, out, inLength),
      portReset: (device) => this.#portReset(device),
    };
    const device = new VirtualUsbDevice(info, host);
    this.#device = device;
    this.#log({
      t: this.clock.now(),
      type: 'enumerate',
      mode: this.#mode,
      vendorId: info.vendorId,
      productId: info.productId,
      serialNumber: info.serialNumber,
    });
    this.#dispatch('connect', { device });
  }

  /**
   * One control transfer as the device sees it, handled by the core at `serve` (its start
   * on the bus, or the end of the program slice under way then): SETUP, the
   * data stage, the status stage. Returns what the host gets and when the transfer ends:
   * its bus time after `serve`, or later if the core did flash work inside the request
   * (ABORT, CLRSTATUS finish the write queue before they answer).
   */
  #exchange(
    fn: UsbFunction,
    serve: number,
    setup: Uint8Array,
    out: Uint8Array | undefined,
    inLength: number,
  ): { status: UsbTransferStatus | 'timeout'; data?: Uint8Array; end: number } {
    const reply = fn.setup(setup);
    this.#afterCoreCall();
    let status: UsbTransferStatus | 'timeout' = 'ok';
    let data: Uint8Array | undefined;
    let dataLength = 0;
    if (reply.kind === 'stall') status = 'stall';
    else if (reply.kind === 'none') status = 'timeout';
    else if (reply.kind === 'send') {
      if (reply.data.length > inLength) status = 'babble';
      data = reply.data.slice(0, inLength);
      dataLength = data.length;
    } else if (reply.kind === 'receive') {
      dataLength = out?.length ?? 0;
      const verdict = this.#function === fn ? fn.outData(out ?? new Uint8Array(0)) : 'none';
      this.#afterCoreCall();
      status = verdict === 'ack' ? 'ok' : verdict === 'stall' ? 'stall' : 'timeout';
    }
    if (status === 'ok' && this.#function === fn) {
      fn.transferComplete();
      this.#afterCoreCall();
    }
    const end = Math.max(serve + controlTransferBusMs(dataLength), this.#busyUntil);
    return data ? { status, data, end } : { status, end };
  }

  async #hostTransfer(
    device: VirtualUsbDevice,
    setup: Uint8Array,
    out: Uint8Array | undefined,
    inLength: number,
  ): Promise<{ status: UsbTransferStatus; data?: Uint8Array }> {
    // One transfer at a time on EP0, in the order they were issued (as host stacks queue them).
    const run = this.#transferQueue.then(() => this.#runHostTransfer(device, setup, out, inLength));
    this.#transferQueue = run.catch(() => undefined);
    return run;
  }

  async #runHostTransfer(
    device: VirtualUsbDevice,
    setup: Uint8Array,
    out: Uint8Array | undefined,
    inLength: number,
  ): Promise<{ status: UsbTransferStatus; data?: Uint8Array }> {
    const gone = () => webUsbError('NotFoundError', 'The device was disconnected.');
    if (device !== this.#device) throw gone();
    if (this.#transfersUntilUnplug !== undefined) {
      if (this.#transfersUntilUnplug === 0) {
        this.#transfersUntilUnplug = undefined;
        this.#log({ t: this.clock.now(), type: 'fault', fault: 'unplug-during-transfer' });
        this.unplug();
        throw gone();
      }
      this.#transfersUntilUnplug--;
    }
    // An erase stalls the chip's bus: the transfer starts on the first frame after it. A
    // program slice does not: the transfer starts on the next frame, its packets wait in
    // the OTG FIFO, and the main loop serves it when the slice ends.
    const start = nextFrame(Math.max(this.clock.now(), this.#stallUntil));
    this.clock.advanceTo(start);
    if (device !== this.#device) throw gone();
    const fn = this.#function!;
    const serve = Math.max(start, this.#busyUntil);
    const result = this.#exchange(fn, serve, setup, out, inLength);
    this.clock.advanceTo(result.end);
    this.#mainLoop();
    if (device.gone && result.status !== 'ok') throw gone();
    if (result.status === 'timeout') {
      throw webUsbError(
        'NetworkError',
        `A transfer error has occurred: the device did not answer request ${hex(setup[1]!, 2)} ` +
          `(bmRequestType ${hex(setup[0]!, 2)}) and the host timed out.`,
      );
    }
    return result.data ? { status: result.status, data: result.data } : { status: result.status };
  }

  #portReset(device: VirtualUsbDevice): Promise<void> {
    const run = this.#transferQueue.then(() => this.#runPortReset(device));
    this.#transferQueue = run.catch(() => undefined);
    return run;
  }

  /**
   * USBDEVFS_RESET as the OS does it: bus reset, the same address again, the configuration
   * restored. It resolves once that is done, even if the device then leaves the bus (our
   * bootloader starts a manifested application on a bus reset, DFU 1.1 §8).
   */
  async #runPortReset(device: VirtualUsbDevice): Promise<void> {
    const gone = () => webUsbError('NotFoundError', 'The device was disconnected.');
    if (device !== this.#device) throw gone();
    const start = nextFrame(Math.max(this.clock.now(), this.#busyUntil));
    this.clock.advanceTo(start);
    if (device !== this.#device) throw gone();
    const fn = this.#function!;
    fn.busReset();
    this.#afterCoreCall();
    // The core finishes its write queue on a bus reset before it answers again.
    let cursor = Math.max(start + BUS_RESET_MS, this.#busyUntil);
    for (const setup of [
      setupBytes(0x00, 5, Math.max(this.#address, 1), 0, 0),
      setupBytes(0x00, 9, device.configuration?.configurationValue ?? 1, 0, 0),
    ]) {
      if (device !== this.#device) throw gone();
      const at = nextFrame(cursor);
      cursor = this.#exchange(fn, at, setup, undefined, 0).end + SET_ADDRESS_RECOVERY_MS;
    }
    this.clock.advanceTo(cursor);
    this.#mainLoop();
  }

  // ---- Internals: the chip's main loop ----

  #coreRuns(): boolean {
    return (this.#mode === 'bootloader' || this.#mode === 'rom') && !this.#powerCut;
  }

  #wantsTicks(): boolean {
    return this.#coreRuns() && this.#core?.workPending() === true;
  }

  /**
   * bl_poll as the chip's main loop calls it: back to back while the core has work, each
   * call doing at most one slice of flash work that occupies the chip for its datasheet
   * time; the next call comes when that slice ends (a timer), and USB transfers that
   * arrive meanwhile are served between slices.
   */
  #mainLoop(): void {
    for (let i = 0; i < MAX_POLLS_PER_WAKE; i++) {
      if (!this.#coreRuns() || !this.#core) return;
      const now = this.clock.now();
      if (now < this.#busyUntil) {
        this.#schedulePollAt(this.#busyUntil);
        return;
      }
      if (!this.#core.workPending()) return;
      this.#core.poll();
      this.#afterCoreCall();
    }
  }

  #schedulePollAt(at: number): void {
    if (this.#pollTimerAt === at) return;
    this.#pollTimerAt = at;
    this.clock.schedule(at, () => {
      this.#pollTimerAt = -1;
      this.#mainLoop();
    });
  }

  // ---- Internals: hal.h ----

  #hardware(): CoreHardware {
    return {
      flashErase: (index) => this.#flashOp(() => this.#flash.erase(index)),
      flashProgram: (address, data) => {
        if (this.#powerCut) return HAL_ERR_SEQUENCE;
        const result = this.#flash.program(address, data);
        if (!result.ok && result.reason !== 'verify') {
          return result.reason === 'alignment' ? HAL_ERR_ALIGNMENT : HAL_ERR_SEQUENCE;
        }
        this.#recordFlashOp(result.op!, result.ok);
        return result.ok ? HAL_OK : HAL_ERR_VERIFY;
      },
      flashRead: (address, out) => this.#readMemory(address, out),
      otpRead: (offset, out) => {
        for (let i = 0; i < out.length; i++) out[i] = this.#otp[offset + i] ?? 0xff;
      },
      otpProgram: (offset, value) => {
        if (this.#powerCut) return HAL_ERR_SEQUENCE;
        if (offset >= this.#otp.length) return HAL_ERR_SEQUENCE;
        // Like flash: programming clears bits; a byte is programmed in one word's time.
        this.#otp[offset] = this.#otp[offset]! & value;
        const otpBase = this.layout.chip.otp?.start ?? 0;
        this.#recordFlashOp(
          {
            kind: 'program',
            address: otpBase + offset,
            size: 1,
            durationMs: this.#flash.programDurationMs(4),
          },
          true,
        );
        return HAL_OK;
      },
      crcStm32: (crc, address, length) => {
        if (this.#powerCut) return 0;
        const data = new Uint8Array(length);
        this.#readMemory(address, data);
        // The CPU is busy as during a program slice: USB waits, the bus is not stalled.
        const t = Math.max(this.clock.now(), this.#busyUntil);
        const durationMs = Math.floor(length / 4) / crcWordsPerMs(this.#hclkHz);
        this.#busyUntil = t + durationMs;
        this.#log({ t, type: 'crc', address, length, durationMs });
        // The unit takes whole words only; a trailing partial word is not fed.
        return crc32Stm32Words(data.subarray(0, length - (length % 4)), crc);
      },
      crcWordsPerMs: () => crcWordsPerMs(this.#hclkHz),
      usbSetAddress: (address) => {
        this.#address = address;
      },
      usbConnect: (connected) => {
        if (this.#powerCut) return;
        if (connected && !this.#connected) this.#attach();
        else if (!connected && this.#connected) this.#leaveBus();
      },
      millis: () => this.clock.now() - this.#resetAt,
      uniqueId: () => this.uid,
      buttonPressed: () => this.#button,
      led: (pattern) => {
        this.#led = pattern;
      },
      bootRequestRead: () => [this.#bootRequest[0], this.#bootRequest[1]],
      bootRequestWrite: (magic, check) => {
        this.#bootRequest = [magic, check];
      },
      systemReset: () => {
        if (!this.#powerCut) this.#pendingReset = true;
      },
      jumpToApplication: (vectorTable) => {
        if (!this.#powerCut) this.#pendingJump = vectorTable;
      },
    };
  }

  #flashOp(run: () => FlashOperation | undefined): number {
    if (this.#powerCut) return HAL_ERR_SEQUENCE;
    const op = run();
    if (!op) return HAL_ERR_SEQUENCE;
    this.#recordFlashOp(op, true);
    return HAL_OK;
  }

  #recordFlashOp(op: FlashOperation, ok: boolean): void {
    const t = Math.max(this.clock.now(), this.#busyUntil);
    this.#busyUntil = t + op.durationMs;
    if (op.kind === 'erase') this.#stallUntil = this.#busyUntil;
    if (op.kind === 'erase') {
      this.#log({
        t,
        type: 'erase',
        address: op.address,
        size: op.size,
        sector: op.sector ?? -1,
        durationMs: op.durationMs,
      });
    } else {
      this.#log({
        t,
        type: 'program',
        address: op.address,
        size: op.size,
        durationMs: op.durationMs,
        ok,
      });
    }
    if (this.#flashOpsUntilPowerCut !== undefined && --this.#flashOpsUntilPowerCut === 0) {
      this.#flashOpsUntilPowerCut = undefined;
      this.#log({ t: this.#busyUntil, type: 'fault', fault: 'power-cut', address: op.address });
      // The operation completed; nothing after it happens (the core's call runs on, inert).
      this.#powerCut = true;
    }
  }

  /** Reads the core may make: flash, the UID and the flash-size register. */
  #readMemory(address: number, out: Uint8Array): void {
    const chip = this.layout.chip;
    for (let i = 0; i < out.length; i++) {
      const a = address + i;
      if (this.#flash.contains(a, 1)) out[i] = this.#flash.bytes[a - this.#flash.base]!;
      else if (a >= chip.uidAddress && a < chip.uidAddress + 12)
        out[i] = this.uid[a - chip.uidAddress]!;
      else if (a === chip.flashSizeAddress) out[i] = (chip.flash.size >> 10) & 0xff;
      else if (a === chip.flashSizeAddress + 1) out[i] = chip.flash.size >> 18;
      else out[i] = 0;
    }
  }

  // ---- Internals: faults, events ----

  #makeFaults(): BoardFaults {
    const checkCount = (n: number, min: number, what: string) => {
      if (!Number.isInteger(n) || n < min) {
        throw new VirtualBoardError(
          'INVALID_TIME',
          `${what}(${n}): give a whole number ≥ ${min}.`,
          {
            value: String(n),
          },
        );
      }
    };
    return {
      cutPowerAfterFlashOps: (n) => {
        checkCount(n, 1, 'cutPowerAfterFlashOps');
        this.#flashOpsUntilPowerCut = n;
      },
      unplugAfterTransfers: (n) => {
        checkCount(n, 0, 'unplugAfterTransfers');
        this.#transfersUntilUnplug = n;
      },
      unplugAt: (t) => {
        if (!Number.isFinite(t) || t < 0) checkCount(t, 0, 'unplugAt');
        this.#unplugTimers.push(
          this.clock.schedule(t, () => {
            this.#log({ t: this.clock.now(), type: 'fault', fault: 'unplug' });
            this.unplug();
          }),
        );
      },
      corrupt: (address, xorMask = 0x01) => {
        const [byte] = this.#flash.read(address, 1);
        this.#flash.write(address, Uint8Array.of((byte! ^ xorMask) & 0xff));
        this.#log({ t: this.clock.now(), type: 'fault', fault: 'corrupt', address });
      },
      clear: () => {
        this.#flashOpsUntilPowerCut = undefined;
        this.#transfersUntilUnplug = undefined;
        for (const timer of this.#unplugTimers) timer.cancel();
        this.#unplugTimers = [];
      },
    };
  }

  #requireCore(): WasmCore {
    if (!this.#core) {
      throw new VirtualBoardError(
        'WASM_LOAD_FAILED',
        'The board has no core loaded: create boards with createVirtualBoard(), which loads it.',
      );
    }
    return this.#core;
  }

  #log(event: BoardEvent): void {
    this.events.push(event);
    for (const key of [event.type, '*']) {
      for (const listener of this.#eventListeners.get(key) ?? []) listener(event);
    }
  }

  #dispatch(type: 'connect' | 'disconnect', event: UsbConnectionEventLike): void {
    for (const listener of [...this.#listeners[type]]) listener(event);
  }
}

class EnumerationAborted extends Error {}

function describeConfiguration(
  config: ConfigurationDescriptor,
  text: (index: number) => string | null,
): EnumeratedDevice['configurations'][number] {
  const numbers = [...new Set(config.interfaces.map((i) => i.bInterfaceNumber))];
  return {
    configurationValue: config.bConfigurationValue,
    configurationName: text(config.iConfiguration),
    interfaces: numbers.map((interfaceNumber) => ({
      interfaceNumber,
      alternates: config.interfaces
        .filter((i) => i.bInterfaceNumber === interfaceNumber)
        .map((i) => ({
          alternateSetting: i.bAlternateSetting,
          interfaceClass: i.bInterfaceClass,
          interfaceSubclass: i.bInterfaceSubClass,
          interfaceProtocol: i.bInterfaceProtocol,
          interfaceName: text(i.iInterface),
          endpoints: endpointsOf(i.endpoints),
        })),
    })),
  };
}
