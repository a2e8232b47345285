import {
  type Clock,
  DfuDevice,
  type DfuMode,
  detach,
  dfuProtocolsOf,
  hasDfuModeInterface,
  hasRuntimeInterface,
  realClock,
  searchBoard,
  TimeoutError,
} from '@stm32dfu/protocol';
import type { UsbDeviceLike, UsbLike } from '@stm32dfu/usb-device';
import { type HostOs, toWebUsbError, WebUsbError } from './errors.js';
import { type BrowserEnvironment, hostOsOf, webUsbProblem } from './support.js';

/** The stm32dfu default ids (pid.codes test pair): the same in the bootloader and the application. */
export const STM32DFU_VENDOR_ID = 0x1209;
/**
 * Product id of stm32dfu's bootloader and example application (with `STM32DFU_VENDOR_ID`,
 * 1209:0001).
 */
export const STM32DFU_PRODUCT_ID = 0x0001;
/** ST's ROM DfuSe bootloader (AN3156). */
export const ST_ROM_VENDOR_ID = 0x0483;
/** Product id of ST's ROM DfuSe bootloader (with `ST_ROM_VENDOR_ID`, 0483:df11). */
export const ST_ROM_PRODUCT_ID = 0xdf11;

/** A `USBDeviceFilter` as `navigator.usb.requestDevice` takes it. */
export interface UsbDeviceFilterLike {
  readonly vendorId?: number;
  readonly productId?: number;
  readonly classCode?: number;
  readonly subclassCode?: number;
  readonly protocolCode?: number;
  readonly serialNumber?: string;
}

/** `navigator.usb` as far as this package uses it. */
export interface WebUsbLike extends UsbLike {
  /**
   * Show the browser's device chooser, limited to `filters`; needs a user gesture, and rejects when
   * the user picks nothing.
   */
  requestDevice(options: { filters: UsbDeviceFilterLike[] }): Promise<UsbDeviceLike>;
}

/** A product's USB ids, when it ships its own instead of 1209:0001. */
export interface ProductIds {
  readonly vendorId: number;
  readonly productId: number;
}

/**
 * The chooser's filters: our ids (one filter covers both the bootloader and the application,
 * which share VID:PID and serial), ST's ROM bootloader, and any device with a DFU interface
 * (class 0xFE subclass 0x01, runtime or DFU mode) for products with their own ids.
 */
export function dfuFilters(products: readonly ProductIds[] = []): UsbDeviceFilterLike[] {
  return [
    { vendorId: STM32DFU_VENDOR_ID, productId: STM32DFU_PRODUCT_ID },
    ...products.map((p) => ({ vendorId: p.vendorId, productId: p.productId })),
    { vendorId: ST_ROM_VENDOR_ID, productId: ST_ROM_PRODUCT_ID },
    { classCode: 0xfe, subclassCode: 0x01 },
  ];
}

/** What a page shows about a device before opening it. */
export interface BoardSummary {
  /** `vvvv:pppp`. */
  readonly id: string;
  readonly serialNumber: string | undefined;
  readonly productName: string | undefined;
  readonly manufacturerName: string | undefined;
  /** 'dfu': a bootloader; 'runtime': an application that can DETACH. */
  readonly mode: DfuMode | undefined;
  readonly kind: 'stm32dfu' | 'st-rom' | 'other';
  /** bcdDevice as "2.00": 2.00 is stm32dfu's bootloader, 1.00 its application. */
  readonly version: string;
}

/** A VID:PID as `vvvv:pppp`, lower-case hex, the way `lsusb` and `dfu-util -d` write it. */
export function formatUsbId(vendorId: number, productId: number): string {
  const h = (n: number) => n.toString(16).padStart(4, '0');
  return `${h(vendorId)}:${h(productId)}`;
}

/**
 * What a page can show about a device without opening it: ids, names, DFU mode, whose it is and its
 * bcdDevice.
 */
export function summarize(device: UsbDeviceLike): BoardSummary {
  const protocols = dfuProtocolsOf(device);
  const kind =
    device.vendorId === ST_ROM_VENDOR_ID && device.productId === ST_ROM_PRODUCT_ID
      ? 'st-rom'
      : device.vendorId === STM32DFU_VENDOR_ID && device.productId === STM32DFU_PRODUCT_ID
        ? 'stm32dfu'
        : 'other';
  return {
    id: formatUsbId(device.vendorId, device.productId),
    serialNumber: device.serialNumber ?? undefined,
    productName: device.productName ?? undefined,
    manufacturerName: device.manufacturerName ?? undefined,
    mode: protocols.has(2) ? 'dfu' : protocols.has(1) ? 'runtime' : undefined,
    kind,
    version: `${device.deviceVersionMajor}.${String(device.deviceVersionMinor)}${String(device.deviceVersionSubminor)}`,
  };
}

/**
 * How `WebUsbTransport` measures time, words its advice and which extra product ids its chooser
 * offers.
 */
export interface WebUsbTransportOptions {
  /** Virtual time for tests; the real clock by default. */
  readonly clock?: Clock;
  /** For advice; read from the user agent by `fromBrowser`. */
  readonly os?: HostOs;
  /** A product's own ids, added to the chooser's filters. */
  readonly products?: readonly ProductIds[];
}

/**
 * How `findAgain` waits for a board to come back by serial: the mode, deadline (default 10 s),
 * abort signal and the device object to skip.
 */
export interface FindAgainOptions {
  /** 'dfu' waits for the bootloader, 'runtime' for the application, 'any' for either. */
  readonly mode?: DfuMode | 'any';
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** The device object that just left the bus. */
  readonly exclude?: UsbDeviceLike;
}

/**
 * WebUSB for stm32dfu: ask for a board, find it again by serial (permissions are per
 * VID:PID:serial, the same in both modes, so no new prompt after DETACH or a reload), open it
 * in DFU mode (detaching a running application), with browser errors turned into advice.
 */
export class WebUsbTransport {
  readonly usb: WebUsbLike;
  readonly clock: Clock;
  readonly os: HostOs;
  readonly filters: UsbDeviceFilterLike[];

  constructor(usb: WebUsbLike, options: WebUsbTransportOptions = {}) {
    this.usb = usb;
    this.clock = options.clock ?? realClock;
    this.os = options.os ?? 'other';
    this.filters = dfuFilters(options.products);
  }

  /** The page's `navigator.usb`, or a `WebUsbError` that says why there is none. */
  static fromBrowser(
    env: BrowserEnvironment = globalThis as BrowserEnvironment,
    options: Omit<WebUsbTransportOptions, 'os'> = {},
  ): WebUsbTransport {
    const problem = webUsbProblem(env);
    if (problem) throw problem;
    return new WebUsbTransport(env.navigator?.usb as WebUsbLike, {
      ...options,
      os: hostOsOf(env.navigator?.userAgent),
    });
  }

  /** Show the browser's chooser (call it from a click). */
  async request(): Promise<UsbDeviceLike> {
    try {
      return await this.usb.requestDevice({ filters: this.filters });
    } catch (error) {
      throw this.map(error, 'asking for a device');
    }
  }

  /** Boards this page was already allowed to use and that are plugged in now. */
  async known(): Promise<UsbDeviceLike[]> {
    const devices = await this.usb.getDevices();
    return devices.filter((d) => hasDfuModeInterface(d) || hasRuntimeInterface(d));
  }

  /** Find the board with `serialNumber` again (after DETACH, a leave or a reload), without a prompt. */
  async findAgain(serialNumber: string, options: FindAgainOptions = {}): Promise<UsbDeviceLike> {
    const mode = options.mode ?? 'any';
    const timeoutMs = options.timeoutMs ?? 10_000;
    const what =
      mode === 'dfu'
        ? `the board with serial ${serialNumber} to come back in the bootloader`
        : mode === 'runtime'
          ? `the board with serial ${serialNumber} to come back running its application`
          : `the board with serial ${serialNumber}`;
    try {
      return await searchBoard(this.usb, {
        clock: this.clock,
        serialNumber,
        accept:
          mode === 'dfu'
            ? hasDfuModeInterface
            : mode === 'runtime'
              ? hasRuntimeInterface
              : (d) => hasDfuModeInterface(d) || hasRuntimeInterface(d),
        timeoutMs,
        intervalMs: 100,
        what,
        phase: 'find',
        signal: options.signal,
        exclude: options.exclude,
      });
    } catch (error) {
      if (error instanceof TimeoutError) {
        throw new WebUsbError('NOT_FOUND_AGAIN', `Waited ${timeoutMs / 1000} s for ${what}.`, {
          advice:
            'Unplug the board and plug it in again, then press Connect; if it stays away, hold its button while plugging it in to start the bootloader.',
          cause: error,
        });
      }
      throw this.map(error, 'looking for the board');
    }
  }

  /** Open the board's DFU interface as it is (bootloader or running application). */
  async open(device: UsbDeviceLike, signal?: AbortSignal): Promise<DfuDevice> {
    try {
      return await DfuDevice.open(device, { clock: this.clock, ...(signal ? { signal } : {}) });
    } catch (error) {
      throw this.map(error, 'opening the board', device);
    }
  }

  /**
   * Open the board in DFU mode: a running application is sent into the bootloader (DETACH)
   * and the same board found again by serial, with the permission the page already has.
   */
  async openBootloader(
    device: UsbDeviceLike,
    options: { readonly signal?: AbortSignal; readonly onDetach?: () => void } = {},
  ): Promise<DfuDevice> {
    const dfu = await this.open(device, options.signal);
    if (dfu.mode === 'dfu') return dfu;
    options.onDetach?.();
    try {
      return await detach(dfu, {
        usb: this.usb,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      throw this.map(error, 'sending the application into the bootloader', device);
    }
  }

  /** A browser error as a `WebUsbError` with advice; anything else unchanged. */
  map(error: unknown, action: string, device?: UsbDeviceLike): unknown {
    return (
      toWebUsbError(error, {
        action,
        os: this.os,
        device: device ? formatUsbId(device.vendorId, device.productId) : undefined,
      }) ?? error
    );
  }
}
