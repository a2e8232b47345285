/**
 * A libusb-shaped stand-in for node-usb's legacy `Device` and its `usb` module: devices with
 * descriptors, bus numbers and ports, string descriptors, open/claim errors named as libusb
 * names them, kernel drivers, and attach/detach events. node-usb's own `WebUSBDevice` runs on
 * top of it, so the tests see node-usb's real wrapping of libusb's errors.
 */
import { EventEmitter } from 'node:events';
import { WebUSBDevice } from 'usb';
import type { LibusbDevice, NodeUsbModule } from '../src/node-usb.js';

/**
 * libusb's error numbers and transfer statuses (libusb.h), for `errno`: node-usb puts the
 * transfer status there for a failed transfer, which its WebUSB layer reads for 'stall'.
 */
const ERRNO: Record<string, number> = {
  LIBUSB_TRANSFER_ERROR: 1,
  LIBUSB_TRANSFER_TIMED_OUT: 2,
  LIBUSB_TRANSFER_STALL: 4,
  LIBUSB_TRANSFER_NO_DEVICE: 5,
  LIBUSB_TRANSFER_OVERFLOW: 6,
  LIBUSB_ERROR_IO: -1,
  LIBUSB_ERROR_ACCESS: -3,
  LIBUSB_ERROR_NO_DEVICE: -4,
  LIBUSB_ERROR_NOT_FOUND: -5,
  LIBUSB_ERROR_BUSY: -6,
  LIBUSB_ERROR_TIMEOUT: -7,
  LIBUSB_ERROR_NOT_SUPPORTED: -12,
};

/** What node-usb throws: an Error whose message is libusb's error name, with `errno`. */
export function libusbError(name: string): Error {
  return Object.assign(new Error(name), { errno: ERRNO[name] ?? -99 });
}

export interface FakeAlt {
  readonly alt: number;
  readonly cls: number;
  readonly sub: number;
  readonly proto: number;
  readonly name?: string;
}

export interface FakeInterface {
  readonly number: number;
  readonly alts: readonly FakeAlt[];
}

export interface FakeControl {
  readonly bmRequestType: number;
  readonly bRequest: number;
  readonly wValue: number;
  readonly wIndex: number;
  readonly dataOrLength: number | Buffer;
}

export interface FakeSpec {
  readonly vendorId: number;
  readonly productId: number;
  readonly bcdDevice?: number;
  readonly manufacturer?: string;
  readonly product?: string;
  readonly serial?: string;
  readonly bus?: number;
  readonly ports?: readonly number[] | undefined;
  readonly address?: number;
  readonly interfaces: readonly FakeInterface[];
  /** What `open()` throws, as a libusb error name. */
  openError?: string | undefined;
  /** What claiming an interface throws. */
  claimError?: string | undefined;
  /** Interfaces with a kernel driver bound. */
  readonly kernelDrivers?: readonly number[];
  /** Answers control transfers: a Buffer (IN data), a number (OUT bytes), an error name, or 'hang'. */
  readonly control?: (setup: FakeControl) => Buffer | number | string;
  /** What `reset()` fails with. */
  resetError?: string | undefined;
}

/** The interfaces of the DFU bootloader, its application and ST's ROM. */
export const DFU_MODE_ALT = (alt: number, name?: string): FakeAlt => ({
  alt,
  cls: 0xfe,
  sub: 0x01,
  proto: 0x02,
  ...(name === undefined ? {} : { name }),
});
export const RUNTIME_ALT: FakeAlt = { alt: 0, cls: 0xfe, sub: 0x01, proto: 0x01, name: 'DFU' };

export const OUR_LAYOUT = '@Internal Flash  /0x08000000/02*016Ka,02*016Kg,01*064Kg,03*128Kg';

export function ourBootloader(serial: string, extra: Partial<FakeSpec> = {}): FakeSpec {
  return {
    vendorId: 0x1209,
    productId: 0x0001,
    bcdDevice: 0x0200,
    manufacturer: 'stm32dfu',
    product: 'stm32dfu bootloader',
    serial,
    bus: 1,
    ports: [1, 4],
    address: 7,
    interfaces: [{ number: 0, alts: [DFU_MODE_ALT(0, OUR_LAYOUT)] }],
    ...extra,
  };
}

export function ourApplication(serial: string, extra: Partial<FakeSpec> = {}): FakeSpec {
  return {
    ...ourBootloader(serial),
    bcdDevice: 0x0100,
    product: 'stm32dfu example application',
    interfaces: [{ number: 0, alts: [RUNTIME_ALT] }],
    ...extra,
  };
}

export function stRom(serial: string, extra: Partial<FakeSpec> = {}): FakeSpec {
  return {
    vendorId: 0x0483,
    productId: 0xdf11,
    bcdDevice: 0x2200,
    manufacturer: 'STMicroelectronics',
    product: 'STM32  BOOTLOADER',
    serial,
    bus: 1,
    ports: [2],
    address: 9,
    interfaces: [
      {
        number: 0,
        alts: [
          DFU_MODE_ALT(0, '@Internal Flash  /0x08000000/04*016Kg,01*064Kg,03*128Kg'),
          DFU_MODE_ALT(1, '@Option Bytes  /0x1FFFC000/01*016 e'),
          DFU_MODE_ALT(2, '@OTP Memory /0x1FFF7800/01*512 e,01*016 e'),
          DFU_MODE_ALT(3, '@Device Feature/0xFFFF0000/01*004 e'),
        ],
      },
    ],
    ...extra,
  };
}

export function foreignDfu(serial: string, extra: Partial<FakeSpec> = {}): FakeSpec {
  return {
    vendorId: 0x1d50,
    productId: 0x6017,
    bcdDevice: 0x0101,
    manufacturer: 'Black Sphere Technologies',
    product: 'Black Magic Probe (Upgrade)',
    serial,
    bus: 2,
    ports: [3],
    address: 4,
    interfaces: [
      { number: 0, alts: [DFU_MODE_ALT(0, '@Internal Flash   /0x08000000/8*001Ka,120*001Kg')] },
    ],
    ...extra,
  };
}

export function keyboard(): FakeSpec {
  return {
    vendorId: 0x046d,
    productId: 0xc31c,
    manufacturer: 'Logitech',
    product: 'USB Keyboard',
    bus: 1,
    ports: [3],
    address: 2,
    interfaces: [{ number: 0, alts: [{ alt: 0, cls: 3, sub: 1, proto: 1 }] }],
  };
}

class FakeInterfaceHandle {
  altSetting = 0;
  readonly interfaceNumber: number;
  readonly #device: FakeLibusbDevice;

  constructor(device: FakeLibusbDevice, interfaceNumber: number) {
    this.#device = device;
    this.interfaceNumber = interfaceNumber;
  }

  claim(): void {
    this.#device.calls.push(`claim ${this.interfaceNumber}`);
    if (this.#device.spec.claimError) throw libusbError(this.#device.spec.claimError);
  }
  releaseAsync = async (): Promise<void> => {
    this.#device.calls.push(`release ${this.interfaceNumber}`);
  };
  setAltSettingAsync = async (alt: number): Promise<void> => {
    this.#device.calls.push(`alt ${this.interfaceNumber} ${alt}`);
    this.altSetting = alt;
  };
  isKernelDriverActive(): boolean {
    return this.#device.kernelDrivers.has(this.interfaceNumber);
  }
  detachKernelDriver(): void {
    this.#device.calls.push(`detach-kernel-driver ${this.interfaceNumber}`);
    this.#device.kernelDrivers.delete(this.interfaceNumber);
  }
  endpoint(): undefined {
    return undefined;
  }
}

export class FakeLibusbDevice implements LibusbDevice {
  readonly spec: FakeSpec;
  readonly busNumber: number;
  readonly deviceAddress: number;
  readonly portNumbers: number[] | undefined;
  timeout = 1000;
  interfaces: FakeInterfaceHandle[] | undefined;
  readonly calls: string[] = [];
  readonly kernelDrivers: Set<number>;
  readonly #strings = new Map<number, string>();
  readonly #stringIndex = new Map<string, number>();

  constructor(spec: FakeSpec) {
    this.spec = spec;
    this.busNumber = spec.bus ?? 1;
    this.deviceAddress = spec.address ?? 1;
    this.portNumbers = spec.ports === undefined ? undefined : [...spec.ports];
    this.kernelDrivers = new Set(spec.kernelDrivers ?? []);
  }

  #string(text: string | undefined): number {
    if (text === undefined) return 0;
    let index = this.#stringIndex.get(text);
    if (index === undefined) {
      index = this.#strings.size + 1;
      this.#strings.set(index, text);
      this.#stringIndex.set(text, index);
    }
    return index;
  }

  get deviceDescriptor() {
    return {
      bLength: 18,
      bDescriptorType: 1,
      bcdUSB: 0x0201,
      bDeviceClass: 0,
      bDeviceSubClass: 0,
      bDeviceProtocol: 0,
      bMaxPacketSize0: 64,
      idVendor: this.spec.vendorId,
      idProduct: this.spec.productId,
      bcdDevice: this.spec.bcdDevice ?? 0x0100,
      iManufacturer: this.#string(this.spec.manufacturer),
      iProduct: this.#string(this.spec.product),
      iSerialNumber: this.#string(this.spec.serial),
      bNumConfigurations: 1,
    };
  }

  get allConfigDescriptors() {
    return [this.configDescriptor];
  }

  get configDescriptor() {
    return {
      bLength: 9,
      bDescriptorType: 2,
      wTotalLength: 0,
      bNumInterfaces: this.spec.interfaces.length,
      bConfigurationValue: 1,
      iConfiguration: 0,
      bmAttributes: 0x80,
      bMaxPower: 50,
      extra: Buffer.alloc(0),
      interfaces: this.spec.interfaces.map((i) =>
        i.alts.map((a) => ({
          bLength: 9,
          bDescriptorType: 4,
          bInterfaceNumber: i.number,
          bAlternateSetting: a.alt,
          bNumEndpoints: 0,
          bInterfaceClass: a.cls,
          bInterfaceSubClass: a.sub,
          bInterfaceProtocol: a.proto,
          iInterface: this.#string(a.name),
          extra: Buffer.alloc(0),
          endpoints: [],
        })),
      ),
    };
  }

  open(): void {
    this.calls.push('open');
    if (this.spec.openError) throw libusbError(this.spec.openError);
    this.interfaces = this.spec.interfaces.map((i) => new FakeInterfaceHandle(this, i.number));
  }

  close(): void {
    this.calls.push('close');
    this.interfaces = undefined;
  }

  setAutoDetachKernelDriver(enable: boolean): void {
    this.calls.push(`auto-detach ${enable}`);
  }

  interface(addr: number): FakeInterfaceHandle {
    if (!this.interfaces) throw new Error('Device must be open before searching for interfaces');
    const found = this.interfaces.find((i) => i.interfaceNumber === addr);
    if (!found) throw new Error(`Interface not found for address: ${addr}`);
    return found;
  }

  getStringDescriptor(index: number, callback: (error?: Error, value?: string) => void): void {
    if (!this.interfaces) {
      callback(libusbError('LIBUSB_ERROR_IO'));
      return;
    }
    callback(undefined, index === 0 ? undefined : this.#strings.get(index));
  }

  setConfiguration(_value: number, callback?: (error?: Error) => void): void {
    callback?.(undefined);
  }

  reset(callback: (error?: Error) => void): void {
    this.calls.push('reset');
    setImmediate(() =>
      callback(this.spec.resetError ? libusbError(this.spec.resetError) : undefined),
    );
  }

  controlTransfer(
    bmRequestType: number,
    bRequest: number,
    wValue: number,
    wIndex: number,
    dataOrLength: number | Buffer,
    callback?: (error: Error | undefined, result?: Buffer | number) => void,
  ): this {
    this.calls.push(`control ${bmRequestType.toString(16)} ${bRequest}`);
    const answer = this.spec.control?.({ bmRequestType, bRequest, wValue, wIndex, dataOrLength });
    if (answer === 'hang') return this;
    setImmediate(() => {
      if (answer === undefined) callback?.(libusbError('LIBUSB_TRANSFER_STALL'));
      else if (typeof answer === 'string') callback?.(libusbError(answer));
      else callback?.(undefined, answer);
    });
    return this;
  }
}

/** The `usb` module: a device list, `attach`/`detach` events and node-usb's real `WebUSBDevice`. */
export class FakeNodeUsb {
  devices: FakeLibusbDevice[] = [];
  readonly events = new EventEmitter();
  /** When set, `getDeviceList()` throws it (no usbfs). */
  listError: Error | undefined;

  constructor(specs: readonly FakeSpec[] = []) {
    this.devices = specs.map((s) => new FakeLibusbDevice(s));
  }

  /** Plug a device in; `announce` emits libusb's `attach` event (hotplug), else only a poll sees it. */
  plug(spec: FakeSpec, announce = true): FakeLibusbDevice {
    const device = new FakeLibusbDevice(spec);
    this.devices.push(device);
    if (announce) this.events.emit('attach', device);
    return device;
  }

  unplug(device: FakeLibusbDevice): void {
    this.devices = this.devices.filter((d) => d !== device);
    this.events.emit('detach', device);
  }

  get module(): NodeUsbModule {
    return {
      getDeviceList: () => {
        if (this.listError) throw this.listError;
        return [...this.devices];
      },
      usb: this.events as unknown as NodeUsbModule['usb'],
      WebUSBDevice: {
        createInstance: (device, autoDetach) =>
          WebUSBDevice.createInstance(
            device as unknown as Parameters<typeof WebUSBDevice.createInstance>[0],
            autoDetach,
          ),
      },
    };
  }
}
