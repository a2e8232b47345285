import { VirtualBoardError } from './errors.js';
import type { Ep0Reply, UsbFunction } from './usb-function.js';

/** hal_status_t (hal.h). */
export const HAL_OK = 0;
export const HAL_ERR_PROTECTED = 1;
export const HAL_ERR_ALIGNMENT = 2;
export const HAL_ERR_SEQUENCE = 3;
export const HAL_ERR_VERIFY = 5;

/** boot_verdict_t (bootloader.h). */
export const BOOT_VERDICTS = [
  'requested',
  'button',
  'no-app',
  'bad-stamp',
  'bad-vectors',
  'jump',
  'bad-signature',
] as const;
/**
 * Why the bootloader stayed or started the application at reset: asked to stay (boot request,
 * button), no valid application (none, bad stamp, bad vectors, or — on a board that verifies at
 * every boot — a signature or security counter that does not check), or `jump`.
 */
export type BootVerdict = (typeof BOOT_VERDICTS)[number];

/**
 * The board's side of hal.h: everything the core asks of the hardware. The wasm port
 * (firmware/src/port/wasm) imports these functions from `env`; the core's pointers are
 * resolved here into views of the module's memory.
 */
export interface CoreHardware {
  flashErase(sectorIndex: number): number;
  flashProgram(address: number, data: Uint8Array): number;
  flashRead(address: number, out: Uint8Array): void;
  /** hal_otp_read: bytes of the one-time-programmable area from `offset`. */
  otpRead(offset: number, out: Uint8Array): void;
  /** hal_otp_program: clear bits of one OTP byte (a hal_status_t). */
  otpProgram(offset: number, value: number): number;
  /** hal_crc_stm32: the STM32 CRC continued from `crc` over memory (contract 4). */
  crcStm32(crc: number, address: number, length: number): number;
  /** hal_crc_words_per_ms: the chip's rate at its current clock, at least 1. */
  crcWordsPerMs(): number;
  usbSetAddress(address: number): void;
  usbConnect(connected: boolean): void;
  millis(): number;
  uniqueId(): Uint8Array;
  buttonPressed(): boolean;
  led(pattern: number): void;
  bootRequestRead(): readonly [number, number];
  bootRequestWrite(magic: number, check: number): void;
  systemReset(): void;
  jumpToApplication(vectorTable: number): void;
}

/** GET_SECURITY flag bits (bootloader.h), as vb_configure_signing takes them. */
const SECURITY_FLAG_REQUIRED = 0x01;
const SECURITY_FLAG_VERIFY_AT_BOOT = 0x02;
const SECURITY_FLAG_LOCK_UPLOAD = 0x04;

/** A signing policy with its keys as raw bytes, as the core takes it. */
export interface CoreSigning {
  readonly keys: readonly Uint8Array[];
  readonly required: boolean;
  readonly verifyAtBoot: boolean;
  readonly lockUpload: boolean;
}

interface CoreExports {
  readonly memory: WebAssembly.Memory;
  readonly __stack_pointer?: WebAssembly.Global;
  vb_setup_buffer(): number;
  vb_signing_keys_buffer(): number;
  vb_configure_signing(flags: number, keyCount: number): number;
  vb_reset(boot0: number, transferSize: number): number;
  vb_transfer_size_supported(size: number): number;
  vb_bus_reset(): void;
  vb_setup(): void;
  vb_ep0_out_complete(length: number): void;
  vb_ep0_transfer_complete(): void;
  vb_poll(): void;
  vb_work_pending(): number;
  vb_dfu_state(): number;
  vb_dfu_status(): number;
}

const REQUIRED_EXPORTS = [
  'memory',
  'vb_setup_buffer',
  'vb_signing_keys_buffer',
  'vb_configure_signing',
  'vb_reset',
  'vb_transfer_size_supported',
  'vb_bus_reset',
  'vb_setup',
  'vb_ep0_out_complete',
  'vb_ep0_transfer_complete',
  'vb_poll',
  'vb_work_pending',
  'vb_dfu_state',
  'vb_dfu_status',
] as const;

/**
 * One chip's worth of the bootloader core compiled to WebAssembly. A chip reset restores
 * the module's memory to its state at instantiation (fresh .data and .bss, as the startup
 * code would), so one instance serves a board for its whole life and resets stay
 * synchronous, which browsers require for modules above 4 kB on the main thread.
 */
export class WasmCore implements UsbFunction {
  readonly #exports: CoreExports;
  readonly #memorySnapshot: Uint8Array;
  readonly #stackPointer: number | undefined;
  #hardware: CoreHardware;
  #signing: CoreSigning | undefined;
  #reply: Ep0Reply | undefined;
  #receive: { pointer: number; length: number } | undefined;

  private constructor(instance: WebAssembly.Instance, hardware: CoreHardware) {
    const exports = instance.exports as Record<string, unknown>;
    for (const name of REQUIRED_EXPORTS) {
      if (!(name in exports)) {
        throw new VirtualBoardError(
          'WASM_INTERFACE',
          `The bootloader wasm module does not export "${name}": rebuild it from firmware/src/port/wasm with \`pnpm --filter @stm32dfu/virtual-board build\`.`,
          { value: name },
        );
      }
    }
    this.#exports = exports as unknown as CoreExports;
    this.#hardware = hardware;
    this.#memorySnapshot = new Uint8Array(this.#exports.memory.buffer).slice();
    this.#stackPointer = this.#exports.__stack_pointer?.value as number | undefined;
  }

  static async instantiate(module: WebAssembly.Module, hardware: CoreHardware): Promise<WasmCore> {
    let core: WasmCore | undefined;
    const hal = () => {
      if (!core) throw new Error('HAL called during instantiation');
      return core;
    };
    const env = {
      hal_flash_erase_sector: (index: number) => hal().#hardware.flashErase(index),
      hal_flash_program: (address: number, pointer: number, length: number) =>
        hal().#hardware.flashProgram(address >>> 0, hal().#bytes(pointer, length).slice()),
      hal_flash_read: (address: number, pointer: number, length: number) =>
        hal().#hardware.flashRead(address >>> 0, hal().#bytes(pointer, length)),
      hal_otp_read: (offset: number, pointer: number, length: number) =>
        hal().#hardware.otpRead(offset >>> 0, hal().#bytes(pointer, length)),
      hal_otp_program: (offset: number, value: number) =>
        hal().#hardware.otpProgram(offset >>> 0, value & 0xff),
      hal_crc_stm32: (crc: number, address: number, length: number) =>
        hal().#hardware.crcStm32(crc >>> 0, address >>> 0, length >>> 0) | 0,
      hal_crc_words_per_ms: () => hal().#hardware.crcWordsPerMs() | 0,
      hal_usb_ep0_send: (pointer: number, length: number) =>
        hal().#answer({ kind: 'send', data: hal().#bytes(pointer, length).slice() }),
      hal_usb_ep0_receive: (pointer: number, length: number) => {
        hal().#receive = { pointer, length };
        hal().#answer({ kind: 'receive', length });
      },
      hal_usb_ep0_ack: () => hal().#answer({ kind: 'ack' }),
      hal_usb_ep0_stall: () => hal().#answer({ kind: 'stall' }),
      hal_usb_set_address: (address: number) => hal().#hardware.usbSetAddress(address),
      hal_usb_connect: (connected: number) => hal().#hardware.usbConnect(connected !== 0),
      hal_millis: () => Math.floor(hal().#hardware.millis()) >>> 0,
      hal_unique_id: (pointer: number) => hal().#bytes(pointer, 12).set(hal().#hardware.uniqueId()),
      hal_button_pressed: () => (hal().#hardware.buttonPressed() ? 1 : 0),
      hal_led: (pattern: number) => hal().#hardware.led(pattern),
      hal_boot_request_read: (magicPointer: number, checkPointer: number) => {
        const [magic, check] = hal().#hardware.bootRequestRead();
        const view = new DataView(hal().#exports.memory.buffer);
        view.setUint32(magicPointer, magic >>> 0, true);
        view.setUint32(checkPointer, check >>> 0, true);
      },
      hal_boot_request_write: (magic: number, check: number) =>
        hal().#hardware.bootRequestWrite(magic >>> 0, check >>> 0),
      hal_system_reset: () => hal().#hardware.systemReset(),
      hal_jump_to_application: (vectorTable: number) =>
        hal().#hardware.jumpToApplication(vectorTable >>> 0),
    };
    let instance: WebAssembly.Instance;
    try {
      instance = await WebAssembly.instantiate(module, { env });
    } catch (cause) {
      throw new VirtualBoardError(
        'WASM_INTERFACE',
        `The bootloader wasm module imports something the board does not provide (${String(cause)}): the port and the board are out of step; rebuild with \`pnpm --filter @stm32dfu/virtual-board build\`.`,
        {},
        { cause },
      );
    }
    core = new WasmCore(instance, hardware);
    return core;
  }

  /**
   * A chip reset: fresh RAM for the core, then the port's reset path (boot decision unless
   * Boot0 is high, then bl_init with our profile or the ROM's). `transferSize` is the
   * wTransferSize our profile announces (0: the profile's own). Returns the boot verdict.
   */
  reset(boot0: boolean, transferSize = 0): BootVerdict | 'rom' {
    new Uint8Array(this.#exports.memory.buffer).set(this.#memorySnapshot);
    if (this.#stackPointer !== undefined && this.#exports.__stack_pointer) {
      this.#exports.__stack_pointer.value = this.#stackPointer;
    }
    this.#receive = undefined;
    this.#reply = undefined;
    if (this.#signing) this.#applySigning(this.#signing);
    const verdict = this.#call(() => this.#exports.vb_reset(boot0 ? 1 : 0, transferSize));
    return boot0 ? 'rom' : (BOOT_VERDICTS[verdict] ?? 'no-app');
  }

  /**
   * The signing policy our profile runs with from the next reset on (the chip compiles it in
   * from its board JSON); undefined: the board's own header (none for the built-in boards).
   */
  configureSigning(signing: CoreSigning | undefined): void {
    if (signing) this.#applySigning(signing);
    this.#signing = signing;
  }

  #applySigning(signing: CoreSigning): void {
    if (signing.keys.length > 4 || signing.keys.some((k) => k.length !== 32)) {
      throw new VirtualBoardError(
        'INVALID_SIGNING_KEYS',
        `A board holds 1 to 4 raw 32-byte Ed25519 public keys; got ${signing.keys.length} of ` +
          `${signing.keys.map((k) => k.length).join(', ')} bytes.`,
        {},
      );
    }
    const buffer = this.#bytes(this.#exports.vb_signing_keys_buffer(), 4 * 32);
    buffer.fill(0);
    signing.keys.forEach((key, i) => {
      buffer.set(key, i * 32);
    });
    const flags =
      (signing.required ? SECURITY_FLAG_REQUIRED : 0) |
      (signing.verifyAtBoot ? SECURITY_FLAG_VERIFY_AT_BOOT : 0) |
      (signing.lockUpload ? SECURITY_FLAG_LOCK_UPLOAD : 0);
    if (this.#exports.vb_configure_signing(flags, signing.keys.length) === 0) {
      throw new VirtualBoardError(
        'INVALID_SIGNING_KEYS',
        'A board that requires signatures needs at least one key to check them with.',
        {},
      );
    }
  }

  /** Whether the port serves this wTransferSize (firmware/src/port/wasm/port.c). */
  supportsTransferSize(size: number): boolean {
    return this.#exports.vb_transfer_size_supported(size >>> 0) !== 0;
  }

  busReset(): void {
    this.#call(() => this.#exports.vb_bus_reset());
  }

  setup(setup: Uint8Array): Ep0Reply {
    this.#bytes(this.#exports.vb_setup_buffer(), 8).set(setup);
    this.#reply = undefined;
    this.#receive = undefined;
    this.#call(() => this.#exports.vb_setup());
    return this.#reply ?? { kind: 'none' };
  }

  outData(data: Uint8Array): 'ack' | 'stall' | 'none' {
    const target = this.#receive;
    if (!target) return 'none';
    this.#bytes(target.pointer, Math.min(target.length, data.length)).set(
      data.subarray(0, target.length),
    );
    this.#receive = undefined;
    this.#reply = undefined;
    this.#call(() => this.#exports.vb_ep0_out_complete(Math.min(target.length, data.length)));
    const reply = this.#reply as Ep0Reply | undefined;
    if (reply?.kind === 'ack' || reply?.kind === 'stall') return reply.kind;
    return 'none';
  }

  transferComplete(): void {
    this.#call(() => this.#exports.vb_ep0_transfer_complete());
  }

  poll(): void {
    this.#call(() => this.#exports.vb_poll());
  }

  workPending(): boolean {
    return this.#exports.vb_work_pending() !== 0;
  }

  get dfuState(): number {
    return this.#exports.vb_dfu_state();
  }

  get dfuStatus(): number {
    return this.#exports.vb_dfu_status();
  }

  #answer(reply: Ep0Reply): void {
    this.#reply = reply;
  }

  #bytes(pointer: number, length: number): Uint8Array {
    return new Uint8Array(this.#exports.memory.buffer, pointer >>> 0, length >>> 0);
  }

  #call<T>(fn: () => T): T {
    try {
      return fn();
    } catch (cause) {
      if (cause instanceof WebAssembly.RuntimeError) {
        throw new VirtualBoardError(
          'CORE_TRAP',
          `The bootloader core trapped (${cause.message}): on the chip this is a HardFault. ` +
            'Reproduce it with the firmware host tests (firmware/tests) and fix the core.',
          {},
          { cause },
        );
      }
      throw cause;
    }
  }
}
