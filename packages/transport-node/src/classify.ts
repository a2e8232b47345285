import { DEFAULT_USB_IDENTITY, type DfuseLayout, parseDfuseLayout } from '@stm32dfu/layout';
import {
  DFU_INTERFACE_CLASS,
  DFU_INTERFACE_SUBCLASS,
  DFU_PROTOCOL_DFU_MODE,
  DFU_PROTOCOL_RUNTIME,
  type DfuMode,
} from '@stm32dfu/protocol';
import type { UsbDeviceLike } from '@stm32dfu/usb-device';
import type { DeviceKind, TransportError } from './errors.js';
import type { LibusbDevice } from './node-usb.js';

/** ST's ROM DfuSe bootloader (AN3156), on every STM32 with USB. */
export const ST_ROM_VENDOR_ID = 0x0483;
/** Product id of ST's ROM DfuSe bootloader (with `ST_ROM_VENDOR_ID`, 0483:df11). */
export const ST_ROM_PRODUCT_ID = 0xdf11;

/**
 * What makes a device one of ours: its VID:PID and, when the device lets us read it, its
 * manufacturer string. 1209:0001 is pid.codes' shared test pair, so other people's test
 * devices carry it too; the string tells them apart. A `UsbIdentity` from
 * `@stm32dfu/layout` (a board's `usbIdentity`) fits.
 */
export interface ProductIdentity {
  readonly vendorId: number;
  readonly productId: number;
  readonly manufacturer?: string | undefined;
}

/**
 * The identities taken as stm32dfu's when none are given: the default board identity, 1209:0001
 * made by "stm32dfu".
 */
export const DEFAULT_IDENTITIES: readonly ProductIdentity[] = [DEFAULT_USB_IDENTITY];

/**
 * One alternate setting of a device's DFU interface, as `list()` reports it: on DfuSe devices a
 * memory and its layout.
 */
export interface DfuAltSetting {
  readonly interfaceNumber: number;
  readonly alternateSetting: number;
  /** The interface string: on DfuSe devices the memory layout, "@Internal Flash  /0x08000000/…". */
  readonly name: string | undefined;
  /** The DfuSe layout parsed from `name`, when it is one. */
  readonly layout: DfuseLayout | undefined;
}

/** One DFU-capable device on the bus, as `list()` reports it. */
export interface DfuDeviceInfo {
  /** `vvvv:pppp`, lower-case hex, as `lsusb` and `dfu-util -d` write it. */
  readonly id: string;
  readonly vendorId: number;
  readonly productId: number;
  /** Undefined when the device has none or could not be opened to read it (see `problem`). */
  readonly serialNumber: string | undefined;
  readonly manufacturerName: string | undefined;
  readonly productName: string | undefined;
  /** `bus-port.port…` as `dfu-util -p` takes it, e.g. "1-1.4". */
  readonly path: string;
  readonly busNumber: number;
  readonly portNumbers: readonly number[];
  readonly deviceAddress: number;
  /** 'dfu': a bootloader (interface FE/01/02); 'runtime': an application that can DETACH (FE/01/01). */
  readonly mode: DfuMode;
  readonly kind: DeviceKind;
  /** Someone else's DFU device: listed, selectable by name, never picked implicitly. */
  readonly foreign: boolean;
  /** bcdDevice: the bootloader's (or application's) version, 0x0200 for stm32dfu's bootloader. */
  readonly bcdDevice: number;
  /** bcdDevice as `lsusb` prints it: "2.00". */
  readonly version: string;
  /** The DFU interface's alt settings (DfuSe: one per memory). */
  readonly alternates: readonly DfuAltSetting[];
  /** Why the device's strings could not be read (permission, driver); undefined when they were. */
  readonly problem: TransportError | undefined;
}

/** A VID:PID as `vvvv:pppp`, lower-case hex, the way `lsusb` and `dfu-util -d` write it. */
export function formatUsbId(vendorId: number, productId: number): string {
  const h = (n: number) => n.toString(16).padStart(4, '0');
  return `${h(vendorId)}:${h(productId)}`;
}

/** bcdDevice as `lsusb` prints it: 0x0200 → "2.00". */
export function formatBcd(bcd: number): string {
  const major = (bcd >> 8) & 0xff;
  const minor = bcd & 0xff;
  return `${major.toString(16)}.${minor.toString(16).padStart(2, '0')}`;
}

/**
 * The device's place on the bus as `dfu-util -l` prints it and `-p` takes it: the bus number,
 * a dash, then the hub ports from the root down joined by dots ("1-1.4"). A device libusb
 * cannot place (some backends report no ports) gets "bus-?.addr" with its address, so it
 * still has a unique label but never matches a path typed by a user.
 */
export function formatBusPath(device: {
  readonly busNumber: number;
  readonly portNumbers?: readonly number[] | undefined;
  readonly deviceAddress?: number | undefined;
}): string {
  const ports = device.portNumbers;
  if (ports && ports.length > 0) return `${device.busNumber}-${ports.join('.')}`;
  return `${device.busNumber}-?.${device.deviceAddress ?? 0}`;
}

/** The DFU mode of a device from its cached descriptors, or undefined when it has no DFU interface. */
export function dfuModeOf(device: LibusbDevice): DfuMode | undefined {
  let mode: DfuMode | undefined;
  for (const config of safeConfigs(device)) {
    for (const alts of config.interfaces) {
      for (const alt of alts) {
        if (
          alt.bInterfaceClass !== DFU_INTERFACE_CLASS ||
          alt.bInterfaceSubClass !== DFU_INTERFACE_SUBCLASS
        ) {
          continue;
        }
        // A device that shows a DFU-mode interface is in DFU mode whatever else it has.
        if (alt.bInterfaceProtocol === DFU_PROTOCOL_DFU_MODE) return 'dfu';
        if (alt.bInterfaceProtocol === DFU_PROTOCOL_RUNTIME) mode = 'runtime';
      }
    }
  }
  return mode;
}

/** libusb can fail to read a configuration of a device that is going away. */
function safeConfigs(device: LibusbDevice): LibusbDevice['allConfigDescriptors'] {
  try {
    return device.allConfigDescriptors ?? [];
  } catch {
    return [];
  }
}

export function kindOf(
  vendorId: number,
  productId: number,
  manufacturer: string | undefined,
  identities: readonly ProductIdentity[],
): DeviceKind {
  if (vendorId === ST_ROM_VENDOR_ID && productId === ST_ROM_PRODUCT_ID) return 'st-rom';
  const ours = identities.some(
    (i) =>
      i.vendorId === vendorId &&
      i.productId === productId &&
      (i.manufacturer === undefined ||
        manufacturer === undefined ||
        i.manufacturer === manufacturer),
  );
  return ours ? 'stm32dfu' : 'foreign';
}

function parseLayoutName(name: string | undefined): DfuseLayout | undefined {
  if (!name?.startsWith('@')) return undefined;
  try {
    return parseDfuseLayout(name);
  } catch {
    return undefined;
  }
}

/** `''` and `null` (node-usb's "no string") become undefined. */
function text(value: string | null | undefined): string | undefined {
  return value ? value : undefined;
}

/**
 * Describe a DFU-capable device from libusb's descriptors and, when it could be opened, the
 * strings node-usb's `WebUSBDevice` read (serial, names, alt setting names).
 */
export function describeDevice(
  device: LibusbDevice,
  mode: DfuMode,
  web: UsbDeviceLike | undefined,
  problem: TransportError | undefined,
  identities: readonly ProductIdentity[],
): DfuDeviceInfo {
  const d = device.deviceDescriptor;
  const protocol = mode === 'dfu' ? DFU_PROTOCOL_DFU_MODE : DFU_PROTOCOL_RUNTIME;
  const names = new Map<string, string | undefined>();
  for (const config of web?.configurations ?? []) {
    for (const iface of config.interfaces) {
      for (const alt of iface.alternates) {
        names.set(`${iface.interfaceNumber}/${alt.alternateSetting}`, text(alt.interfaceName));
      }
    }
  }
  const alternates: DfuAltSetting[] = [];
  const config = safeConfigs(device)[0];
  for (const alts of config?.interfaces ?? []) {
    for (const alt of alts) {
      if (
        alt.bInterfaceClass !== DFU_INTERFACE_CLASS ||
        alt.bInterfaceSubClass !== DFU_INTERFACE_SUBCLASS ||
        alt.bInterfaceProtocol !== protocol
      ) {
        continue;
      }
      const name = names.get(`${alt.bInterfaceNumber}/${alt.bAlternateSetting}`);
      alternates.push({
        interfaceNumber: alt.bInterfaceNumber,
        alternateSetting: alt.bAlternateSetting,
        name,
        layout: parseLayoutName(name),
      });
    }
  }
  const manufacturerName = text(web?.manufacturerName);
  const kind = kindOf(d.idVendor, d.idProduct, manufacturerName, identities);
  return {
    id: formatUsbId(d.idVendor, d.idProduct),
    vendorId: d.idVendor,
    productId: d.idProduct,
    serialNumber: text(web?.serialNumber),
    manufacturerName,
    productName: text(web?.productName),
    path: formatBusPath(device),
    busNumber: device.busNumber,
    portNumbers: [...(device.portNumbers ?? [])],
    deviceAddress: device.deviceAddress,
    mode,
    kind,
    foreign: kind === 'foreign',
    bcdDevice: d.bcdDevice,
    version: formatBcd(d.bcdDevice),
    alternates,
    problem,
  };
}

/** One line per device, like `dfu-util -l`, for messages and `list` output. */
export function formatDeviceInfo(info: DfuDeviceInfo): string {
  const serial = info.serialNumber ?? (info.problem ? '(unreadable)' : '(none)');
  const alts = info.alternates
    .map((a) => `alt ${a.alternateSetting}${a.name ? ` "${a.name}"` : ''}`)
    .join(', ');
  return (
    `${info.id} path ${info.path} serial ${serial} ${info.mode} ${info.kind} v${info.version}` +
    (info.productName ? ` "${info.productName}"` : '') +
    (alts ? ` [${alts}]` : '')
  );
}
