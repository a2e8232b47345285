/**
 * The WebUSB-shaped device and bus the board presents (architecture contract 2). These are
 * structural copies of `@stm32dfu/protocol`'s `device.ts`, so neither package depends on the
 * other: the board's objects satisfy the protocol's interfaces as W3C devices do.
 */

export type UsbRequestType = 'standard' | 'class' | 'vendor';
export type UsbRecipient = 'device' | 'interface' | 'endpoint' | 'other';

export interface UsbControlSetup {
  readonly requestType: UsbRequestType;
  readonly recipient: UsbRecipient;
  readonly request: number;
  readonly value: number;
  readonly index: number;
}

export type UsbTransferStatus = 'ok' | 'stall' | 'babble';

export interface UsbInTransferResult {
  readonly status: UsbTransferStatus;
  readonly data?: DataView | undefined;
}

export interface UsbOutTransferResult {
  readonly status: UsbTransferStatus;
  readonly bytesWritten: number;
}

export interface UsbEndpointLike {
  readonly endpointNumber: number;
  readonly direction: 'in' | 'out';
  readonly type: string;
  readonly packetSize: number;
}

export interface UsbAlternateLike {
  readonly alternateSetting: number;
  readonly interfaceClass: number;
  readonly interfaceSubclass: number;
  readonly interfaceProtocol: number;
  readonly interfaceName?: string | null | undefined;
  readonly endpoints: readonly UsbEndpointLike[];
}

export interface UsbInterfaceLike {
  readonly interfaceNumber: number;
  readonly claimed: boolean;
  readonly alternate: UsbAlternateLike | null;
  readonly alternates: readonly UsbAlternateLike[];
}

export interface UsbConfigurationLike {
  readonly configurationValue: number;
  readonly configurationName?: string | null | undefined;
  readonly interfaces: readonly UsbInterfaceLike[];
}

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
  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(configurationValue: number): Promise<void>;
  claimInterface(interfaceNumber: number): Promise<void>;
  releaseInterface(interfaceNumber: number): Promise<void>;
  selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void>;
  controlTransferIn(setup: UsbControlSetup, length: number): Promise<UsbInTransferResult>;
  controlTransferOut(
    setup: UsbControlSetup,
    data?: ArrayBuffer | ArrayBufferView,
  ): Promise<UsbOutTransferResult>;
  reset(): Promise<void>;
}

export interface UsbConnectionEventLike {
  readonly device: UsbDeviceLike;
}

export type UsbConnectionListener = (event: UsbConnectionEventLike) => void;

export interface UsbLike {
  getDevices(): Promise<readonly UsbDeviceLike[]>;
  addEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
  removeEventListener?(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
}

/** Injected time: milliseconds, and a sleep that may be aborted. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
