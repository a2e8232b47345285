import type { UsbDeviceLike } from '@stm32dfu/usb-device';

/**
 * The slice of node-usb v2 (`usb` on npm) this package uses, written out structurally so
 * tests can inject a libusb-shaped fake module and the rest of the code never sees more of
 * node-usb than this.
 */

/** libusb's interface descriptor (USB 2.0 §9.6.5), as node-usb exposes it. */
export interface LibusbInterfaceDescriptor {
  readonly bInterfaceNumber: number;
  readonly bAlternateSetting: number;
  readonly bInterfaceClass: number;
  readonly bInterfaceSubClass: number;
  readonly bInterfaceProtocol: number;
  readonly iInterface: number;
}

/** libusb's configuration descriptor: `interfaces[i]` lists interface i's alt settings. */
export interface LibusbConfigDescriptor {
  readonly bConfigurationValue: number;
  readonly interfaces: readonly (readonly LibusbInterfaceDescriptor[])[];
}

/** libusb's device descriptor (USB 2.0 §9.6.1): ids, bcdDevice and the string indexes. */
export interface LibusbDeviceDescriptor {
  readonly idVendor: number;
  readonly idProduct: number;
  readonly bcdDevice: number;
  readonly iManufacturer: number;
  readonly iProduct: number;
  readonly iSerialNumber: number;
}

/** node-usb's `Interface` (only valid while the device is open). */
export interface LibusbInterface {
  /**
   * Whether a kernel driver holds the interface (Linux), which keeps this process from claiming it.
   */
  isKernelDriverActive(): boolean;
  /** Detach the kernel driver from the interface so it can be claimed. */
  detachKernelDriver(): void;
}

/**
 * node-usb's legacy `Device`. The descriptors come from libusb's cache (sysfs on Linux), so
 * they are readable without opening the device, which needs permission.
 */
export interface LibusbDevice {
  readonly busNumber: number;
  readonly deviceAddress: number;
  /** Hub ports from the root hub down; empty for a root hub, missing where libusb cannot tell. */
  readonly portNumbers?: readonly number[] | undefined;
  readonly deviceDescriptor: LibusbDeviceDescriptor;
  readonly allConfigDescriptors: readonly LibusbConfigDescriptor[];
  /** Timeout of every control transfer, ms (node-usb's default is 1000). */
  timeout: number;
  /** Present only while the device is open. */
  readonly interfaces?: readonly unknown[] | undefined;
  /** The open device's interface `index`, to check or detach its kernel driver. */
  interface(index: number): LibusbInterface;
}

/** A device came onto the bus (`attach`) or left it (`detach`). */
export type LibusbHotplugEvent = 'attach' | 'detach';
/** Called with the device that came or went. */
export type LibusbHotplugListener = (device: LibusbDevice) => void;

/** node-usb's `usb` event emitter: `attach`/`detach` from libusb hotplug, or node-usb's own polling. */
export interface LibusbEvents {
  /** Listen for devices coming and going, e.g. a board re-enumerating after DETACH. */
  on(event: LibusbHotplugEvent, listener: LibusbHotplugListener): unknown;
  /** Stop a listener added with `on`. */
  removeListener(event: LibusbHotplugEvent, listener: LibusbHotplugListener): unknown;
}

/**
 * The parts of node-usb the transport calls: the device list, hotplug events and the WebUSB
 * wrapper. `loadNodeUsb()` gives the real one; tests pass a stand-in.
 */
export interface NodeUsbModule {
  /** Every device on every bus, from libusb's cache, without opening any. */
  getDeviceList(): readonly LibusbDevice[];
  readonly usb: LibusbEvents;
  readonly WebUSBDevice: {
    /** Opens the device to read its strings and configurations, then closes it again. */
    createInstance(device: LibusbDevice, autoDetachKernelDriver?: boolean): Promise<UsbDeviceLike>;
  };
}

/**
 * Load the real node-usb. The import is lazy so that `udevRules()` and friends work on a
 * machine whose `usb` build failed to install, and so a failure can become a diagnostic.
 */
export async function loadNodeUsb(): Promise<NodeUsbModule> {
  const real = await import('usb');
  return {
    getDeviceList: () => real.getDeviceList(),
    // node-usb types its emitter with a generic event map; the two events used here match it.
    usb: real.usb as unknown as LibusbEvents,
    WebUSBDevice: {
      createInstance: (device, autoDetach) =>
        real.WebUSBDevice.createInstance(
          device as unknown as Parameters<typeof real.WebUSBDevice.createInstance>[0],
          autoDetach,
        ),
    },
  };
}
