/**
 * Standard USB descriptors (USB 2.0 §9.6) and the DFU functional descriptor (DFU 1.1 §4.1.3),
 * parsed from the bytes a device returns to GET_DESCRIPTOR, and built for the application
 * model. All multi-byte fields are little-endian.
 */

export const DESCRIPTOR_DEVICE = 1;
export const DESCRIPTOR_CONFIGURATION = 2;
export const DESCRIPTOR_STRING = 3;
export const DESCRIPTOR_INTERFACE = 4;
export const DESCRIPTOR_ENDPOINT = 5;
export const DESCRIPTOR_DFU_FUNCTIONAL = 0x21;

/** A device descriptor (USB 2.0 §9.6.1), field names as in the spec. */
export interface DeviceDescriptor {
  readonly bcdUSB: number;
  readonly bMaxPacketSize0: number;
  readonly idVendor: number;
  readonly idProduct: number;
  readonly bcdDevice: number;
  readonly iManufacturer: number;
  readonly iProduct: number;
  readonly iSerialNumber: number;
  readonly bNumConfigurations: number;
}

/** A DFU functional descriptor (DFU 1.1 §4.1.3), field names as in the spec. */
export interface DfuFunctionalDescriptor {
  readonly bmAttributes: number;
  readonly wDetachTimeOut: number;
  readonly wTransferSize: number;
  readonly bcdDFUVersion: number;
}

/** An endpoint descriptor (USB 2.0 §9.6.6), field names as in the spec. */
export interface EndpointDescriptor {
  readonly bEndpointAddress: number;
  readonly bmAttributes: number;
  readonly wMaxPacketSize: number;
}

/**
 * An interface descriptor (USB 2.0 §9.6.5) with its endpoints and, on a DFU interface, its
 * functional descriptor.
 */
export interface InterfaceDescriptor {
  readonly bInterfaceNumber: number;
  readonly bAlternateSetting: number;
  readonly bInterfaceClass: number;
  readonly bInterfaceSubClass: number;
  readonly bInterfaceProtocol: number;
  readonly iInterface: number;
  readonly endpoints: readonly EndpointDescriptor[];
  readonly dfuFunctional?: DfuFunctionalDescriptor;
}

/** A configuration descriptor (USB 2.0 §9.6.3) and the interfaces inside it. */
export interface ConfigurationDescriptor {
  readonly bConfigurationValue: number;
  readonly iConfiguration: number;
  readonly interfaces: readonly InterfaceDescriptor[];
}

/** A descriptor that does not parse: the message says which field, at which offset. */
export class DescriptorError extends Error {
  override readonly name = 'DescriptorError';
  readonly code = 'MALFORMED_DESCRIPTOR';
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

const u16 = (b: Uint8Array, i: number): number => b[i]! | (b[i + 1]! << 8);

/**
 * Decode the 18-byte device descriptor a device returns; throws `DescriptorError` naming the bad
 * field.
 */
export function parseDeviceDescriptor(b: Uint8Array): DeviceDescriptor {
  if (b.length < 18 || b[0]! < 18 || b[1] !== DESCRIPTOR_DEVICE) {
    throw new DescriptorError(
      `Device descriptor: expected 18 bytes of type 1, got ${b.length} bytes (bLength ${b[0]}, type ${b[1]}) at offset 0.`,
      0,
    );
  }
  return {
    bcdUSB: u16(b, 2),
    bMaxPacketSize0: b[7]!,
    idVendor: u16(b, 8),
    idProduct: u16(b, 10),
    bcdDevice: u16(b, 12),
    iManufacturer: b[14]!,
    iProduct: b[15]!,
    iSerialNumber: b[16]!,
    bNumConfigurations: b[17]!,
  };
}

/**
 * Decode a whole configuration descriptor (wTotalLength bytes) with its interfaces, endpoints and
 * DFU functional descriptors; throws `DescriptorError` at the first bad length or type.
 */
export function parseConfigurationDescriptor(b: Uint8Array): ConfigurationDescriptor {
  if (b.length < 9 || b[1] !== DESCRIPTOR_CONFIGURATION) {
    throw new DescriptorError('Configuration descriptor: expected type 2 at offset 0.', 0);
  }
  const total = u16(b, 2);
  if (total > b.length) {
    throw new DescriptorError(
      `Configuration descriptor: wTotalLength ${total} but only ${b.length} bytes were returned.`,
      2,
    );
  }
  const interfaces: InterfaceDescriptor[] = [];
  let current: { -readonly [K in keyof InterfaceDescriptor]: InterfaceDescriptor[K] } | undefined;
  let offset = b[0]!;
  while (offset < total) {
    const length = b[offset]!;
    const type = b[offset + 1];
    if (length < 2 || offset + length > total) {
      throw new DescriptorError(
        `Configuration descriptor: sub-descriptor at offset ${offset} has bLength ${length}, running past wTotalLength ${total}.`,
        offset,
      );
    }
    if (type === DESCRIPTOR_INTERFACE && length >= 9) {
      current = {
        bInterfaceNumber: b[offset + 2]!,
        bAlternateSetting: b[offset + 3]!,
        bInterfaceClass: b[offset + 5]!,
        bInterfaceSubClass: b[offset + 6]!,
        bInterfaceProtocol: b[offset + 7]!,
        iInterface: b[offset + 8]!,
        endpoints: [],
      };
      interfaces.push(current);
    } else if (type === DESCRIPTOR_ENDPOINT && length >= 7 && current) {
      current.endpoints = [
        ...current.endpoints,
        {
          bEndpointAddress: b[offset + 2]!,
          bmAttributes: b[offset + 3]!,
          wMaxPacketSize: u16(b, offset + 4),
        },
      ];
    } else if (type === DESCRIPTOR_DFU_FUNCTIONAL && length >= 7 && current) {
      current.dfuFunctional = {
        bmAttributes: b[offset + 2]!,
        wDetachTimeOut: u16(b, offset + 3),
        wTransferSize: u16(b, offset + 5),
        bcdDFUVersion: length >= 9 ? u16(b, offset + 7) : 0x0100,
      };
    }
    offset += length;
  }
  return { bConfigurationValue: b[5]!, iConfiguration: b[6]!, interfaces };
}

/** A string descriptor's UTF-16LE text (USB 2.0 §9.6.7). */
export function parseStringDescriptor(b: Uint8Array): string {
  if (b.length < 2 || b[1] !== DESCRIPTOR_STRING) {
    throw new DescriptorError('String descriptor: expected type 3 at offset 1.', 1);
  }
  const end = Math.min(b[0]!, b.length);
  let text = '';
  for (let i = 2; i + 1 < end; i += 2) text += String.fromCharCode(u16(b, i));
  return text;
}

export function stringDescriptor(text: string): Uint8Array {
  const out = new Uint8Array(2 + text.length * 2);
  out[0] = out.length;
  out[1] = DESCRIPTOR_STRING;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    out[2 + i * 2] = code & 0xff;
    out[3 + i * 2] = code >> 8;
  }
  return out;
}

/*
 * The BOS (USB 3.2 §9.6.2) and the Microsoft OS 2.0 descriptor set (MS OS 2.0 §4), built for
 * the application model and parsed as Windows reads them: walking descriptors by their
 * length fields, every length checked against the bytes it counts.
 */

export const DESCRIPTOR_BOS = 0x0f;
export const DESCRIPTOR_DEVICE_CAPABILITY = 0x10;
export const CAPABILITY_PLATFORM = 0x05;

/** MS OS 2.0 §4, wDescriptorType values. */
export const MS_OS_20_SET_HEADER_DESCRIPTOR = 0x00;
export const MS_OS_20_SUBSET_HEADER_CONFIGURATION = 0x01;
export const MS_OS_20_SUBSET_HEADER_FUNCTION = 0x02;
export const MS_OS_20_FEATURE_COMPATIBLE_ID = 0x03;
export const MS_OS_20_FEATURE_REG_PROPERTY = 0x04;
/** MS OS 2.0 §4, wPropertyDataType: NUL-terminated UTF-16LE strings, then one more NUL. */
export const REG_MULTI_SZ = 7;

/** A GUID as the specs print it, in its USB wire order (first three fields little-endian). */
export function guidWireBytes(text: string): number[] {
  const b = Array.from(text.replace(/[{}-]/g, '').match(/../g) ?? [], (h) =>
    Number.parseInt(h, 16),
  );
  if (b.length !== 16 || b.some(Number.isNaN)) throw new Error(`not a GUID: ${text}`);
  return [b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.slice(8)];
}

const le16 = (n: number) => [n & 0xff, (n >> 8) & 0xff];

/** Text as UTF-16LE code units, without a terminator. */
export function utf16le(text: string): number[] {
  return Array.from(text, (c) => le16(c.charCodeAt(0))).flat();
}

/** MS OS 2.0 CompatibleID feature: 8-byte CompatibleID and SubCompatibleID, NUL-padded. */
export function msOs20CompatibleId(compatibleId: string, subCompatibleId = ''): number[] {
  const pad8 = (s: string) =>
    [...Array.from(s, (c) => c.charCodeAt(0)), 0, 0, 0, 0, 0, 0, 0, 0].slice(0, 8);
  return [
    ...le16(20),
    ...le16(MS_OS_20_FEATURE_COMPATIBLE_ID),
    ...pad8(compatibleId),
    ...pad8(subCompatibleId),
  ];
}

/** MS OS 2.0 registry property feature holding a REG_MULTI_SZ of `strings`. */
export function msOs20MultiStringProperty(name: string, strings: readonly string[]): number[] {
  const nameBytes = utf16le(`${name}\0`);
  const data = utf16le(`${strings.map((s) => `${s}\0`).join('')}\0`);
  return [
    ...le16(10 + nameBytes.length + data.length),
    ...le16(MS_OS_20_FEATURE_REG_PROPERTY),
    ...le16(REG_MULTI_SZ),
    ...le16(nameBytes.length),
    ...nameBytes,
    ...le16(data.length),
    ...data,
  ];
}

/** The set header (wTotalLength counted from the features) followed by the features. */
export function msOs20DescriptorSet(
  windowsVersion: number,
  features: readonly number[][],
): Uint8Array {
  const body = features.flat();
  return Uint8Array.from([
    ...le16(10),
    ...le16(MS_OS_20_SET_HEADER_DESCRIPTOR),
    ...le16(windowsVersion & 0xffff),
    ...le16(windowsVersion >>> 16),
    ...le16(10 + body.length),
    ...body,
  ]);
}

/**
 * A platform capability of a BOS (WebUSB, Microsoft OS 2.0): its UUID and the bytes that follow.
 */
export interface PlatformCapability {
  /** Offset of the capability in the BOS. */
  readonly offset: number;
  /** The platform UUID as the specs print it, upper case, without braces. */
  readonly uuid: string;
  /** The capability's bytes after the UUID (bLength − 20 bytes). */
  readonly data: Uint8Array;
}

/** A parsed BOS: its wTotalLength and its platform capabilities. */
export interface BosDescriptor {
  readonly totalLength: number;
  readonly platformCapabilities: readonly PlatformCapability[];
}

function guidText(b: Uint8Array, offset: number): string {
  const h = (i: number) => b[offset + i]!.toString(16).padStart(2, '0');
  const part = (order: number[]) => order.map(h).join('');
  return [
    part([3, 2, 1, 0]),
    part([5, 4]),
    part([7, 6]),
    part([8, 9]),
    part([10, 11, 12, 13, 14, 15]),
  ]
    .join('-')
    .toUpperCase();
}

/** A BOS: the 5-byte header, then capabilities by bLength, exactly up to wTotalLength. */
export function parseBosDescriptor(b: Uint8Array): BosDescriptor {
  if (b.length < 5 || b[0] !== 5 || b[1] !== DESCRIPTOR_BOS) {
    throw new DescriptorError('BOS: expected a 5-byte header of type 0x0F at offset 0.', 0);
  }
  const total = u16(b, 2);
  if (total !== b.length) {
    throw new DescriptorError(`BOS: wTotalLength ${total} but ${b.length} bytes were returned.`, 2);
  }
  const platformCapabilities: PlatformCapability[] = [];
  let offset = 5;
  let count = 0;
  while (offset < total) {
    const length = b[offset]!;
    if (length < 3 || offset + length > total || b[offset + 1] !== DESCRIPTOR_DEVICE_CAPABILITY) {
      throw new DescriptorError(
        `BOS: capability at offset ${offset} has bLength ${length} / type ${b[offset + 1]}, not a device capability inside wTotalLength ${total}.`,
        offset,
      );
    }
    if (b[offset + 2] === CAPABILITY_PLATFORM && length >= 20) {
      platformCapabilities.push({
        offset,
        uuid: guidText(b, offset + 4),
        data: b.slice(offset + 20, offset + length),
      });
    }
    count++;
    offset += length;
  }
  if (count !== b[4]) {
    throw new DescriptorError(`BOS: bNumDeviceCaps ${b[4]} but ${count} capabilities found.`, 4);
  }
  return { totalLength: total, platformCapabilities };
}

/**
 * A registry property of an MS OS 2.0 descriptor set (e.g. DeviceInterfaceGUIDs), as Windows writes
 * it to the device's key.
 */
export interface MsOs20RegistryProperty {
  readonly offset: number;
  readonly dataType: number;
  /** The name without its terminating NUL. */
  readonly name: string;
  readonly data: Uint8Array;
  /** REG_MULTI_SZ only: the strings, without their NULs and without the list's final NUL. */
  readonly strings?: readonly string[];
}

/**
 * A parsed MS OS 2.0 descriptor set: the Windows version it is for, its compatible ids (WINUSB) and
 * registry properties.
 */
export interface MsOs20DescriptorSet {
  readonly windowsVersion: number;
  readonly totalLength: number;
  readonly subsetHeaders: number;
  readonly compatibleIds: readonly {
    readonly compatibleId: string;
    readonly subCompatibleId: string;
  }[];
  readonly registryProperties: readonly MsOs20RegistryProperty[];
}

function utf16Text(b: Uint8Array, offset: number, length: number): string {
  let text = '';
  for (let i = 0; i + 1 < length; i += 2) text += String.fromCharCode(u16(b, offset + i));
  return text;
}

/**
 * An MS OS 2.0 descriptor set as Windows walks it: the 10-byte set header whose wTotalLength
 * is what the device sent, then descriptors by wLength / wDescriptorType up to exactly
 * wTotalLength. A registry property's wLength must be 10 + wPropertyNameLength +
 * wPropertyDataLength, its name one NUL-terminated UTF-16LE string, and REG_MULTI_SZ data
 * NUL-terminated strings followed by one more NUL. Throws DescriptorError at the first
 * field a strict reader would refuse.
 */
export function parseMsOs20DescriptorSet(b: Uint8Array): MsOs20DescriptorSet {
  if (b.length < 10 || u16(b, 0) !== 10 || u16(b, 2) !== MS_OS_20_SET_HEADER_DESCRIPTOR) {
    throw new DescriptorError(
      'MS OS 2.0 set: expected a 10-byte header of type MS_OS_20_SET_HEADER_DESCRIPTOR at offset 0.',
      0,
    );
  }
  const total = u16(b, 8);
  if (total !== b.length) {
    throw new DescriptorError(
      `MS OS 2.0 set: wTotalLength ${total} but ${b.length} bytes were returned.`,
      8,
    );
  }
  let subsetHeaders = 0;
  const compatibleIds: { compatibleId: string; subCompatibleId: string }[] = [];
  const registryProperties: MsOs20RegistryProperty[] = [];
  const ascii = (at: number) => String.fromCharCode(...b.subarray(at, at + 8)).replace(/\0+$/, '');
  let offset = 10;
  while (offset < total) {
    const fail = (what: string, at = offset): never => {
      throw new DescriptorError(`MS OS 2.0 set: ${what} (descriptor at offset ${offset}).`, at);
    };
    if (offset + 4 > total) fail('a descriptor header runs past wTotalLength');
    const length = u16(b, offset);
    const type = u16(b, offset + 2);
    if (length < 4 || offset + length > total)
      fail(`wLength ${length} is below 4 or runs past wTotalLength ${total}`);
    if (type === MS_OS_20_SUBSET_HEADER_CONFIGURATION || type === MS_OS_20_SUBSET_HEADER_FUNCTION) {
      subsetHeaders++;
    } else if (type === MS_OS_20_FEATURE_COMPATIBLE_ID) {
      if (length !== 20) fail(`CompatibleID wLength ${length}, expected 20`);
      compatibleIds.push({ compatibleId: ascii(offset + 4), subCompatibleId: ascii(offset + 12) });
    } else if (type === MS_OS_20_FEATURE_REG_PROPERTY) {
      if (length < 10) fail(`registry property wLength ${length} is below 10`);
      const dataType = u16(b, offset + 4);
      const nameLength = u16(b, offset + 6);
      if (dataType < 1 || dataType > 7)
        fail(`wPropertyDataType ${dataType} is not 1–7`, offset + 4);
      if (nameLength < 4 || nameLength % 2 !== 0 || 10 + nameLength > length) {
        fail(
          `wPropertyNameLength ${nameLength} is odd, empty or runs past wLength ${length}`,
          offset + 6,
        );
      }
      const dataLength = u16(b, offset + 8 + nameLength);
      if (10 + nameLength + dataLength !== length) {
        fail(
          `wLength ${length} is not 10 + wPropertyNameLength ${nameLength} + wPropertyDataLength ${dataLength}`,
        );
      }
      const nameWithNul = utf16Text(b, offset + 8, nameLength);
      if (!nameWithNul.endsWith('\0') || nameWithNul.slice(0, -1).includes('\0')) {
        fail('the property name is not one NUL-terminated UTF-16LE string', offset + 8);
      }
      const dataAt = offset + 10 + nameLength;
      const data = b.slice(dataAt, dataAt + dataLength);
      let strings: string[] | undefined;
      if (dataType === REG_MULTI_SZ) {
        const text = utf16Text(b, dataAt, dataLength);
        if (dataLength % 2 !== 0 || !text.endsWith('\0\0')) {
          fail(
            'REG_MULTI_SZ data must be NUL-terminated UTF-16LE strings followed by one more NUL',
            dataAt,
          );
        }
        strings = text.slice(0, -2).split('\0');
        if (strings.some((s) => s === ''))
          fail('REG_MULTI_SZ data holds an empty string, which ends the list early', dataAt);
      }
      registryProperties.push({
        offset,
        dataType,
        name: nameWithNul.slice(0, -1),
        data,
        ...(strings ? { strings } : {}),
      });
    } else if (type === MS_OS_20_SET_HEADER_DESCRIPTOR || type > 0x08) {
      fail(`unknown wDescriptorType ${type}`, offset + 2);
    }
    offset += length;
  }
  return {
    windowsVersion: (u16(b, 4) | (u16(b, 6) << 16)) >>> 0,
    totalLength: total,
    subsetHeaders,
    compatibleIds,
    registryProperties,
  };
}
