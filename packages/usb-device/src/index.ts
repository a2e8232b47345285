/**
 * The WebUSB-shaped device every stm32dfu package talks to (architecture contract 2): a
 * structural subset of the W3C WebUSB `USBDevice` and `USB` interfaces. node-usb v2's `WebUSBDevice`, Chromium's
 * `navigator.usb` devices and the virtual board all satisfy these shapes without adapters.
 */

/**
 * The type bits of a control request's bmRequestType: DFU requests are `class`, descriptor reads
 * `standard`.
 */
export type UsbRequestType = 'standard' | 'class' | 'vendor';
/** The recipient bits of bmRequestType: DFU requests go to the `interface`. */
export type UsbRecipient = 'device' | 'interface' | 'endpoint' | 'other';

/**
 * The setup packet of a control transfer, as WebUSB takes it (bRequest, wValue, wIndex; wLength is
 * the transfer's length).
 */
export interface UsbControlSetup {
  readonly requestType: UsbRequestType;
  readonly recipient: UsbRecipient;
  readonly request: number;
  readonly value: number;
  readonly index: number;
}

/** How a transfer ended: `stall` is how a DFU device refuses a request. */
export type UsbTransferStatus = 'ok' | 'stall' | 'babble';

/** The outcome of a device-to-host control transfer: its status and the bytes the device sent. */
export interface UsbInTransferResult {
  readonly status: UsbTransferStatus;
  readonly data?: DataView | undefined;
}

/**
 * The outcome of a host-to-device control transfer: its status and how many bytes the device took.
 */
export interface UsbOutTransferResult {
  readonly status: UsbTransferStatus;
  readonly bytesWritten: number;
}

/**
 * An endpoint of an alternate setting, as WebUSB lists it (a DFU interface has none besides
 * endpoint 0).
 */
export interface UsbEndpointLike {
  readonly endpointNumber: number;
  readonly direction: 'in' | 'out';
  readonly type: string;
  readonly packetSize: number;
}

/**
 * An alternate setting of an interface; on a DfuSe device each one is a memory, named by its layout
 * string in `interfaceName`.
 */
export interface UsbAlternateLike {
  readonly alternateSetting: number;
  readonly interfaceClass: number;
  readonly interfaceSubclass: number;
  readonly interfaceProtocol: number;
  readonly interfaceName?: string | null | undefined;
  readonly endpoints: readonly UsbEndpointLike[];
}

/** An interface of a configuration, its alternate settings and whether this host has claimed it. */
export interface UsbInterfaceLike {
  readonly interfaceNumber: number;
  readonly claimed: boolean;
  readonly alternate: UsbAlternateLike | null;
  readonly alternates: readonly UsbAlternateLike[];
}

/** A configuration of a device and the interfaces it holds. */
export interface UsbConfigurationLike {
  readonly configurationValue: number;
  readonly configurationName?: string | null | undefined;
  readonly interfaces: readonly UsbInterfaceLike[];
}

/**
 * A USB device as the protocol drives it: identity and descriptors read at enumeration, and the
 * control-transfer calls DFU needs. `USBDevice` in browsers, node-usb's `WebUSBDevice`, the virtual
 * board's device and test doubles all fit.
 */
export interface UsbDeviceLike {
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly deviceVersionSubminor: number;
  readonly manufacturerName?: string | null | undefined;
  readonly productName?: string | null | undefined;
  readonly serialNumber?: string | null | undefined;
  readonly opened: boolean;
  readonly configuration: UsbConfigurationLike | null | undefined;
  readonly configurations: readonly UsbConfigurationLike[];
  /** Open the device for this host; needed before any other call. */
  open(): Promise<void>;
  /** Close the device, releasing claimed interfaces. */
  close(): Promise<void>;
  /** Select a configuration by its bConfigurationValue (SET_CONFIGURATION). */
  selectConfiguration(configurationValue: number): Promise<void>;
  /** Claim an interface for exclusive use by this host, before requests to it. */
  claimInterface(interfaceNumber: number): Promise<void>;
  /** Give a claimed interface back. */
  releaseInterface(interfaceNumber: number): Promise<void>;
  /**
   * Select an alternate setting of a claimed interface (SET_INTERFACE): on DfuSe, the memory to
   * work on.
   */
  selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void>;
  /** A control transfer from the device, asking for up to `length` bytes. */
  controlTransferIn(setup: UsbControlSetup, length: number): Promise<UsbInTransferResult>;
  /**
   * A control transfer to the device, with `data` as its data stage (none for requests without
   * one).
   */
  controlTransferOut(
    setup: UsbControlSetup,
    data?: ArrayBuffer | ArrayBufferView,
  ): Promise<UsbOutTransferResult>;
  /**
   * Reset the port (USB bus reset); a DFU device in manifestation-wait-reset then starts the new
   * firmware.
   */
  reset(): Promise<void>;
}

/** A `connect` or `disconnect` event: the device that came or went. */
export interface UsbConnectionEventLike {
  readonly device: UsbDeviceLike;
}

/** Called on each `connect` or `disconnect` event. */
export type UsbConnectionListener = (event: UsbConnectionEventLike) => void;

/** A subset of `navigator.usb`: enough to find a board again after it re-enumerates. */
export interface UsbLike {
  /** The devices this host may open without asking the user again. */
  getDevices(): Promise<readonly UsbDeviceLike[]>;
  /** Be told when a device is plugged in (`connect`) or leaves the bus (`disconnect`). */
  addEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
  /** Stop telling a listener added with `addEventListener`. */
  removeEventListener?(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
}

/**
 * Injected time. The real clock uses timers; a virtual clock advances instantly, so every
 * wait the protocol does (bwPollTimeout, deadlines, re-enumeration polls) costs no real time.
 */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Resolves after `ms`; rejects (with the signal's reason) if `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Timers and `performance.now()`. */
export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** True for the error a WebUSB device rejects with once it has left the bus. */
export function isNotFoundError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'NotFoundError'
  );
}
