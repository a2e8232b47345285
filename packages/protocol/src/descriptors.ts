import {
  bitCanDnload,
  bitCanUpload,
  bitManifestationTolerant,
  bitWillDetach,
  DFU_FUNCTIONAL_DESCRIPTOR_TYPE,
  USB_DT_CONFIGURATION,
  USB_DT_INTERFACE,
} from './constants.js';
import { ProtocolError } from './errors.js';

/** DFU functional descriptor (DFU 1.1 §4.1.3, table 4.2). */
export interface DfuFunctionalDescriptor {
  readonly bmAttributes: number;
  readonly canDownload: boolean;
  readonly canUpload: boolean;
  readonly manifestationTolerant: boolean;
  readonly willDetach: boolean;
  /** wDetachTimeOut, ms. */
  readonly detachTimeoutMs: number;
  /** wTransferSize, bytes per DNLOAD/UPLOAD block. */
  readonly transferSize: number;
  /** bcdDFUVersion: 0x0110 DFU 1.1, 0x011A DfuSe. */
  readonly dfuVersion: number;
}

/**
 * One interface descriptor (alternate setting) from a device's configuration descriptor, as read
 * off the wire.
 */
export interface InterfaceDescriptor {
  readonly interfaceNumber: number;
  readonly alternateSetting: number;
  readonly interfaceClass: number;
  readonly interfaceSubclass: number;
  readonly interfaceProtocol: number;
  /** String descriptor index of the interface name (0 = none). */
  readonly iInterface: number;
}

/**
 * The parts of a configuration descriptor the protocol uses: its interfaces and the DFU functional
 * descriptor.
 */
export interface ConfigurationDescriptor {
  readonly totalLength: number;
  readonly configurationValue: number;
  readonly interfaces: readonly InterfaceDescriptor[];
  /** The first DFU functional descriptor in the configuration (one per DFU interface). */
  readonly functional: DfuFunctionalDescriptor | undefined;
}

function malformed(offset: number, what: string): never {
  throw new ProtocolError(
    'PROTOCOL',
    `Malformed configuration descriptor at byte ${offset}: ${what}. The device's descriptors are broken; ` +
      'check the firmware or try another USB port.',
  );
}

/**
 * Decode the DFU functional descriptor at `offset` (attributes, detach timeout, wTransferSize,
 * bcdDFUVersion); a 7-byte DFU 1.0 descriptor reads as version 1.0.
 */
export function parseFunctionalDescriptor(bytes: Uint8Array, offset = 0): DfuFunctionalDescriptor {
  const length = bytes[offset] ?? 0;
  // DFU 1.0 devices send 7 bytes (no bcdDFUVersion); treat them as 1.0.
  if (length < 7 || offset + length > bytes.length) {
    malformed(offset, `DFU functional descriptor of length ${length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
  const bmAttributes = view.getUint8(2);
  return {
    bmAttributes,
    canDownload: (bmAttributes & bitCanDnload) !== 0,
    canUpload: (bmAttributes & bitCanUpload) !== 0,
    manifestationTolerant: (bmAttributes & bitManifestationTolerant) !== 0,
    willDetach: (bmAttributes & bitWillDetach) !== 0,
    detachTimeoutMs: view.getUint16(3, true),
    transferSize: view.getUint16(5, true),
    dfuVersion: length >= 9 ? view.getUint16(7, true) : 0x0100,
  };
}

/** Walk a full configuration descriptor (USB 2.0 §9.6.3) for interfaces and the DFU functional descriptor. */
export function parseConfigurationDescriptor(bytes: Uint8Array): ConfigurationDescriptor {
  if (bytes.length < 9 || bytes[1] !== USB_DT_CONFIGURATION) {
    malformed(0, `expected a configuration descriptor header, got ${bytes.length} bytes`);
  }
  const totalLength = bytes[2]! | (bytes[3]! << 8);
  const configurationValue = bytes[5]!;
  const interfaces: InterfaceDescriptor[] = [];
  let functional: DfuFunctionalDescriptor | undefined;
  const end = Math.min(totalLength, bytes.length);
  let offset = 0;
  while (offset < end) {
    const length = bytes[offset]!;
    const type = bytes[offset + 1];
    if (length < 2 || offset + length > end) malformed(offset, `descriptor length ${length}`);
    if (type === USB_DT_INTERFACE) {
      if (length < 9) malformed(offset, `interface descriptor of length ${length}`);
      interfaces.push({
        interfaceNumber: bytes[offset + 2]!,
        alternateSetting: bytes[offset + 3]!,
        interfaceClass: bytes[offset + 5]!,
        interfaceSubclass: bytes[offset + 6]!,
        interfaceProtocol: bytes[offset + 7]!,
        iInterface: bytes[offset + 8]!,
      });
    } else if (type === DFU_FUNCTIONAL_DESCRIPTOR_TYPE && !functional) {
      functional = parseFunctionalDescriptor(bytes, offset);
    }
    offset += length;
  }
  return { totalLength, configurationValue, interfaces, functional };
}
