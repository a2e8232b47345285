import type {
  UsbConfigurationLike,
  UsbControlSetup,
  UsbDeviceLike,
  UsbInTransferResult,
  UsbOutTransferResult,
} from '@stm32dfu/usb-device';
import { type AdviceContext, TransportError, toTransportError } from './errors.js';
import type { LibusbDevice } from './node-usb.js';

/** What a `NodeUsbDevice` needs besides the two node-usb objects it wraps. */
export interface NodeUsbDeviceOptions {
  /** Deadline of every request, ms: control transfers, open, claim, alt setting, reset. */
  readonly timeoutMs: number;
  readonly advice: AdviceContext;
  /** "1209:0001 at 1-1.4", for messages. */
  readonly label: string;
  /** Whether libusb still lists the device (tells "gone" from other transfer failures). */
  readonly isPresent: () => boolean;
  /** Called when a kernel driver was detached from an interface (Linux). */
  readonly onKernelDriverDetached?: ((interfaceNumber: number) => void) | undefined;
}

/**
 * A real device in contract 2's shape: node-usb's `WebUSBDevice` with what WebUSB has and it
 * lacks. Every request has a deadline (libusb's own for control transfers, and a timer behind
 * every call, since a reset or an alt setting can hang in the OS); node-usb's errors, which
 * carry the libusb error only in their text, become `TransportError`s with DOMException-like
 * names (`NotFoundError` for a device that has left the bus, which the protocol relies on)
 * and advice; on Linux a kernel driver bound to the DFU interface is detached before the
 * claim.
 */
export class NodeUsbDevice implements UsbDeviceLike {
  readonly libusb: LibusbDevice;
  readonly inner: UsbDeviceLike;
  readonly #options: NodeUsbDeviceOptions;

  constructor(libusb: LibusbDevice, inner: UsbDeviceLike, options: NodeUsbDeviceOptions) {
    this.libusb = libusb;
    this.inner = inner;
    this.#options = options;
    // node-usb's controlTransfer uses the device's timeout for every libusb transfer.
    libusb.timeout = options.timeoutMs;
  }

  get vendorId(): number {
    return this.inner.vendorId;
  }
  get productId(): number {
    return this.inner.productId;
  }
  get deviceVersionMajor(): number {
    return this.inner.deviceVersionMajor;
  }
  get deviceVersionMinor(): number {
    return this.inner.deviceVersionMinor;
  }
  get deviceVersionSubminor(): number {
    return this.inner.deviceVersionSubminor;
  }
  get manufacturerName(): string | null | undefined {
    return this.inner.manufacturerName;
  }
  get productName(): string | null | undefined {
    return this.inner.productName;
  }
  get serialNumber(): string | null | undefined {
    return this.inner.serialNumber;
  }
  get opened(): boolean {
    return this.inner.opened;
  }
  get configuration(): UsbConfigurationLike | null | undefined {
    return this.inner.configuration;
  }
  get configurations(): readonly UsbConfigurationLike[] {
    return this.inner.configurations;
  }

  open(): Promise<void> {
    return this.#run(`opening ${this.#options.label}`, () => this.inner.open());
  }

  close(): Promise<void> {
    return this.#run(`closing ${this.#options.label}`, () => this.inner.close());
  }

  selectConfiguration(configurationValue: number): Promise<void> {
    return this.#run(
      `selecting configuration ${configurationValue} of ${this.#options.label}`,
      () => this.inner.selectConfiguration(configurationValue),
    );
  }

  claimInterface(interfaceNumber: number): Promise<void> {
    return this.#run(
      `claiming interface ${interfaceNumber} of ${this.#options.label}`,
      async () => {
        this.#detachKernelDriver(interfaceNumber);
        await this.inner.claimInterface(interfaceNumber);
      },
    );
  }

  releaseInterface(interfaceNumber: number): Promise<void> {
    return this.#run(`releasing interface ${interfaceNumber} of ${this.#options.label}`, () =>
      this.inner.releaseInterface(interfaceNumber),
    );
  }

  selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void> {
    return this.#run(
      `selecting alt setting ${alternateSetting} of interface ${interfaceNumber} of ${this.#options.label}`,
      () => this.inner.selectAlternateInterface(interfaceNumber, alternateSetting),
    );
  }

  controlTransferIn(setup: UsbControlSetup, length: number): Promise<UsbInTransferResult> {
    return this.#run(`request ${setup.request} (IN) to ${this.#options.label}`, () =>
      this.inner.controlTransferIn(setup, length),
    );
  }

  controlTransferOut(
    setup: UsbControlSetup,
    data?: ArrayBuffer | ArrayBufferView,
  ): Promise<UsbOutTransferResult> {
    return this.#run(`request ${setup.request} (OUT) to ${this.#options.label}`, () =>
      this.inner.controlTransferOut(setup, data),
    );
  }

  /**
   * A USB reset. A device that re-enumerates with it (as a DFU device leaving for its
   * application does) is gone afterwards: libusb says LIBUSB_ERROR_NOT_FOUND, this says
   * `NotFoundError`.
   */
  reset(): Promise<void> {
    return this.#run(`resetting ${this.#options.label}`, () => this.inner.reset(), true);
  }

  /**
   * Linux binds kernel drivers by interface class; none claims DFU's FE/01, but a distribution
   * or a user rule may. node-usb's WebUSB `open()` also asks libusb to detach drivers itself on
   * claim; doing it here first makes it explicit and reported.
   */
  #detachKernelDriver(interfaceNumber: number): void {
    if (this.#options.advice.platform !== 'linux' || !this.libusb.interfaces) return;
    let iface: ReturnType<LibusbDevice['interface']>;
    try {
      iface = this.libusb.interface(interfaceNumber);
    } catch {
      return; // not an interface of the current configuration: the claim will say so
    }
    let active = false;
    try {
      active = iface.isKernelDriverActive();
    } catch {
      return; // libusb cannot tell (LIBUSB_ERROR_NOT_SUPPORTED): leave it to the claim
    }
    if (!active) return;
    iface.detachKernelDriver();
    this.#options.onKernelDriverDetached?.(interfaceNumber);
  }

  async #run<T>(what: string, work: () => Promise<T>, goneOnNotFound = false): Promise<T> {
    const { timeoutMs } = this.#options;
    // libusb's own timeout ends a control transfer first; this timer catches calls that have
    // none (reset, SET_INTERFACE on some backends) and a libusb that never calls back.
    const backstopMs = timeoutMs + 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new TransportError('TIMEOUT', `${capitalise(what)} got no answer in ${timeoutMs} ms.`, {
              device: this.#options.advice.id,
              advice:
                'Check the cable and that the board is still powered and in the mode you expect.',
            }),
          ),
        backstopMs,
      );
      timer.unref?.();
    });
    try {
      return await Promise.race([work(), deadline]);
    } catch (error) {
      throw this.#map(error, what, goneOnNotFound);
    } finally {
      clearTimeout(timer);
    }
  }

  #map(error: unknown, what: string, goneOnNotFound: boolean): TransportError {
    const mapped = toTransportError(error, what, this.#options.advice);
    const notFound = mapped.libusb === 'LIBUSB_ERROR_NOT_FOUND';
    // A failed request to a device libusb no longer lists is a device that has gone, however
    // the backend worded it (Linux reports LIBUSB_ERROR_IO or a transfer error for some unplugs).
    const gone =
      mapped.code !== 'DEVICE_GONE' &&
      ((goneOnNotFound && notFound) ||
        ((mapped.code === 'TRANSFER' || mapped.code === 'TIMEOUT' || notFound) &&
          !this.#present()));
    if (!gone) return mapped;
    return new TransportError(
      'DEVICE_GONE',
      `${capitalise(what)} failed: the device left the bus.`,
      {
        libusb: mapped.libusb,
        device: mapped.device,
        advice: 'Find it again (by serial number) once it has re-enumerated, or reconnect it.',
        cause: error,
      },
    );
  }

  #present(): boolean {
    try {
      return this.#options.isPresent();
    } catch {
      return true;
    }
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
