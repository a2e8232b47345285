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

export interface DfuFunctionalDescriptor {
  readonly bmAttributes: number;
  readonly wDetachTimeOut: number;
  readonly wTransferSize: number;
  readonly bcdDFUVersion: number;
}

export interface EndpointDescriptor {
  readonly bEndpointAddress: number;
  readonly bmAttributes: number;
  readonly wMaxPacketSize: number;
}

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
