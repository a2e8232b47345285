import { webUsbError } from './errors.js';
import type {
  UsbAlternateLike,
  UsbConfigurationLike,
  UsbControlSetup,
  UsbDeviceLike,
  UsbEndpointLike,
  UsbInTransferResult,
  UsbInterfaceLike,
  UsbOutTransferResult,
  UsbTransferStatus,
} from './usb-types.js';

/** What the host learnt at enumeration (from GET_DESCRIPTOR answers). */
export interface EnumeratedDevice {
  readonly vendorId: number;
  readonly productId: number;
  readonly bcdDevice: number;
  readonly manufacturerName: string | null;
  readonly productName: string | null;
  readonly serialNumber: string | null;
  readonly configurations: readonly {
    readonly configurationValue: number;
    readonly configurationName: string | null;
    readonly interfaces: readonly {
      readonly interfaceNumber: number;
      readonly alternates: readonly UsbAlternateLike[];
    }[];
  }[];
  /** The configuration the OS selected at enumeration (Linux picks the first). */
  readonly activeConfiguration: number;
  /** The descriptors as the device sent them (an OS caches these; libusb reads them). */
  readonly descriptors: { readonly device: Uint8Array; readonly configuration: Uint8Array };
}

/** The board, as the host controller behind every device object it hands out. */
export interface DeviceHost {
  /**
   * Carry one control transfer to the device on the bus (SETUP bytes, OUT data, IN length), in
   * virtual time; the result is what WebUSB would report.
   */
  transfer(
    device: VirtualUsbDevice,
    setup: Uint8Array,
    out: Uint8Array | undefined,
    inLength: number,
  ): Promise<{ status: UsbTransferStatus; data?: Uint8Array }>;
  /**
   * Reset the port the device is on (`reset()` on the device), after which the board may
   * re-enumerate.
   */
  portReset(device: VirtualUsbDevice): Promise<void>;
}

/** One interface of a VirtualUsbDevice's configuration, as WebUSB's USBInterface. */
export class VirtualInterface implements UsbInterfaceLike {
  readonly interfaceNumber: number;
  readonly alternates: readonly UsbAlternateLike[];
  claimed = false;
  alternate: UsbAlternateLike | null;
  constructor(interfaceNumber: number, alternates: readonly UsbAlternateLike[]) {
    this.interfaceNumber = interfaceNumber;
    this.alternates = alternates;
    this.alternate = alternates.find((a) => a.alternateSetting === 0) ?? alternates[0] ?? null;
  }
}

/** One configuration of a VirtualUsbDevice, as WebUSB's USBConfiguration. */
export class VirtualConfiguration implements UsbConfigurationLike {
  readonly configurationValue: number;
  readonly configurationName: string | null;
  readonly interfaces: readonly VirtualInterface[];
  constructor(value: number, name: string | null, interfaces: readonly VirtualInterface[]) {
    this.configurationValue = value;
    this.configurationName = name;
    this.interfaces = interfaces;
  }
}

const REQUEST_TYPES = { standard: 0, class: 1, vendor: 2 } as const;
const RECIPIENTS = { device: 0, interface: 1, endpoint: 2, other: 3 } as const;

/**
 * One enumeration of the board as a W3C WebUSB `USBDevice` (the contract-2 subset). Checks
 * and error names follow Chromium: transfers need an opened, configured device and, for
 * interface recipients, a claimed interface (InvalidStateError otherwise); once the board
 * leaves the bus every call rejects with NotFoundError and a new object appears on return.
 */
export class VirtualUsbDevice implements UsbDeviceLike {
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly deviceVersionSubminor: number;
  readonly manufacturerName: string | null;
  readonly productName: string | null;
  readonly serialNumber: string | null;
  readonly configurations: readonly VirtualConfiguration[];
  /** The device and configuration descriptors read at enumeration, byte for byte. */
  readonly descriptors: EnumeratedDevice['descriptors'];
  readonly #host: DeviceHost;
  #opened = false;
  #configuration: VirtualConfiguration | null;
  #gone = false;

  constructor(info: EnumeratedDevice, host: DeviceHost) {
    this.#host = host;
    this.vendorId = info.vendorId;
    this.productId = info.productId;
    // bcdDevice 0xJJMN is major JJ, minor M, subminor N (WebUSB §6.2).
    this.deviceVersionMajor = (info.bcdDevice >> 8) & 0xff;
    this.deviceVersionMinor = (info.bcdDevice >> 4) & 0xf;
    this.deviceVersionSubminor = info.bcdDevice & 0xf;
    this.manufacturerName = info.manufacturerName;
    this.productName = info.productName;
    this.serialNumber = info.serialNumber;
    this.descriptors = info.descriptors;
    this.configurations = info.configurations.map(
      (c) =>
        new VirtualConfiguration(
          c.configurationValue,
          c.configurationName,
          c.interfaces.map((i) => new VirtualInterface(i.interfaceNumber, i.alternates)),
        ),
    );
    this.#configuration =
      this.configurations.find((c) => c.configurationValue === info.activeConfiguration) ?? null;
  }

  get opened(): boolean {
    return this.#opened;
  }

  get configuration(): UsbConfigurationLike | null {
    return this.#configuration;
  }

  /** True once the board has left the bus: this object will never work again. */
  get gone(): boolean {
    return this.#gone;
  }

  /** Called by the board when the device disappears. */
  markGone(): void {
    this.#gone = true;
    this.#opened = false;
  }

  async open(): Promise<void> {
    this.#checkPresent();
    this.#opened = true;
  }

  async close(): Promise<void> {
    this.#checkPresent();
    for (const i of this.#configuration?.interfaces ?? []) i.claimed = false;
    this.#opened = false;
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    this.#checkOpened();
    const chosen = this.configurations.find((c) => c.configurationValue === configurationValue);
    if (!chosen) {
      throw webUsbError(
        'NotFoundError',
        `The configuration value ${configurationValue} is not supported by the device.`,
      );
    }
    // SET_CONFIGURATION (USB 2.0 §9.4.7): standard, device, OUT.
    const result = await this.#host.transfer(
      this,
      setupBytes(0x00, 9, configurationValue, 0, 0),
      undefined,
      0,
    );
    if (result.status !== 'ok')
      throw webUsbError('NetworkError', 'Unable to set device configuration.');
    for (const i of chosen.interfaces) {
      i.claimed = false;
      i.alternate = i.alternates.find((a) => a.alternateSetting === 0) ?? null;
    }
    this.#configuration = chosen;
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    this.#interface(interfaceNumber).claimed = true;
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    this.#interface(interfaceNumber).claimed = false;
  }

  async selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void> {
    const iface = this.#interface(interfaceNumber);
    if (!iface.claimed) {
      throw webUsbError('InvalidStateError', 'The specified interface has not been claimed.');
    }
    const alternate = iface.alternates.find((a) => a.alternateSetting === alternateSetting);
    if (!alternate) {
      throw webUsbError(
        'NotFoundError',
        `The alternate setting ${alternateSetting} is not supported by interface ${interfaceNumber}.`,
      );
    }
    // SET_INTERFACE (USB 2.0 §9.4.10): standard, interface, OUT.
    const result = await this.#host.transfer(
      this,
      setupBytes(0x01, 11, alternateSetting, interfaceNumber, 0),
      undefined,
      0,
    );
    if (result.status !== 'ok')
      throw webUsbError('NetworkError', 'Unable to set device interface.');
    iface.alternate = alternate;
  }

  async controlTransferIn(setup: UsbControlSetup, length: number): Promise<UsbInTransferResult> {
    if (!Number.isInteger(length) || length < 0 || length > 0xffff) {
      throw new TypeError(`controlTransferIn length ${length} is not an unsigned short.`);
    }
    const bytes = this.#checkTransfer(setup, 0x80, length);
    const result = await this.#host.transfer(this, bytes, undefined, length);
    if (result.status === 'stall') return { status: 'stall' };
    const data = result.data ?? new Uint8Array(0);
    return { status: result.status, data: new DataView(data.buffer, data.byteOffset, data.length) };
  }

  async controlTransferOut(
    setup: UsbControlSetup,
    data?: ArrayBuffer | ArrayBufferView,
  ): Promise<UsbOutTransferResult> {
    const payload =
      data === undefined
        ? new Uint8Array(0)
        : data instanceof ArrayBuffer
          ? new Uint8Array(data.slice(0))
          : new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    if (payload.length > 0xffff) {
      throw new TypeError(`controlTransferOut data of ${payload.length} bytes exceeds wLength.`);
    }
    const bytes = this.#checkTransfer(setup, 0x00, payload.length);
    const result = await this.#host.transfer(this, bytes, payload, 0);
    return { status: result.status, bytesWritten: result.status === 'ok' ? payload.length : 0 };
  }

  async reset(): Promise<void> {
    this.#checkOpened();
    await this.#host.portReset(this);
    // The OS restores the configuration after a port reset; alternates go back to 0.
    for (const i of this.#configuration?.interfaces ?? []) {
      i.alternate = i.alternates.find((a) => a.alternateSetting === 0) ?? null;
    }
  }

  #checkPresent(): void {
    if (this.#gone) throw webUsbError('NotFoundError', 'The device was disconnected.');
  }

  #checkOpened(): void {
    this.#checkPresent();
    if (!this.#opened) throw webUsbError('InvalidStateError', 'The device must be opened first.');
  }

  #interface(interfaceNumber: number): VirtualInterface {
    this.#checkOpened();
    if (!this.#configuration) {
      throw webUsbError('InvalidStateError', 'The device must have a configuration selected.');
    }
    const iface = this.#configuration.interfaces.find((i) => i.interfaceNumber === interfaceNumber);
    if (!iface) {
      throw webUsbError(
        'NotFoundError',
        `The interface number ${interfaceNumber} is not supported by the device in its current configuration.`,
      );
    }
    return iface;
  }

  #checkTransfer(setup: UsbControlSetup, direction: number, length: number): Uint8Array {
    this.#checkOpened();
    if (!this.#configuration) {
      throw webUsbError('InvalidStateError', 'The device must have a configuration selected.');
    }
    const type = REQUEST_TYPES[setup.requestType];
    const recipient = RECIPIENTS[setup.recipient];
    if (type === undefined || recipient === undefined) {
      throw new TypeError(
        `Invalid control transfer setup: requestType "${setup.requestType}", recipient "${setup.recipient}".`,
      );
    }
    for (const [name, value, max] of [
      ['request', setup.request, 0xff],
      ['value', setup.value, 0xffff],
      ['index', setup.index, 0xffff],
    ] as const) {
      if (!Number.isInteger(value) || value < 0 || value > max) {
        throw new TypeError(`Invalid control transfer setup: ${name} ${value} is out of range.`);
      }
    }
    if (setup.recipient === 'interface') {
      const number = setup.index & 0xff;
      const iface = this.#configuration.interfaces.find((i) => i.interfaceNumber === number);
      if (!iface?.claimed) {
        throw webUsbError('InvalidStateError', 'The specified interface has not been claimed.');
      }
    }
    return setupBytes(
      direction | (type << 5) | recipient,
      setup.request,
      setup.value,
      setup.index,
      length,
    );
  }
}

export function setupBytes(
  bmRequestType: number,
  bRequest: number,
  wValue: number,
  wIndex: number,
  wLength: number,
): Uint8Array {
  return Uint8Array.of(
    bmRequestType,
    bRequest,
    wValue & 0xff,
    wValue >> 8,
    wIndex & 0xff,
    wIndex >> 8,
    wLength & 0xff,
    wLength >> 8,
  );
}

export function endpointsOf(
  descriptors: readonly {
    bEndpointAddress: number;
    bmAttributes: number;
    wMaxPacketSize: number;
  }[],
): UsbEndpointLike[] {
  const types = ['control', 'isochronous', 'bulk', 'interrupt'];
  return descriptors.map((e) => ({
    endpointNumber: e.bEndpointAddress & 0x0f,
    direction: (e.bEndpointAddress & 0x80) !== 0 ? 'in' : 'out',
    type: types[e.bmAttributes & 3] ?? 'bulk',
    packetSize: e.wMaxPacketSize & 0x7ff,
  }));
}
