/**
 * What sits behind the virtual USB cable: the bootloader core (through the wasm port) or the
 * application model. The board plays the host controller and turns each control transfer
 * into these calls, the way the chip's OTG_FS interrupt feeds the core.
 */

/** How the device answered a SETUP packet: exactly one of these (bootloader.h, step 3). */
export type Ep0Reply =
  | { readonly kind: 'send'; readonly data: Uint8Array }
  | { readonly kind: 'receive'; readonly length: number }
  | { readonly kind: 'ack' }
  | { readonly kind: 'stall' }
  /** The device did not answer: on the bus every packet is NAKed until the host gives up. */
  | { readonly kind: 'none' };

/**
 * The device behind the virtual cable as the board's host controller drives it, one control
 * transfer at a time: the bootloader core or the application model.
 */
export interface UsbFunction {
  /** The host reset the bus: forget the address and configuration. */
  busReset(): void;
  /** An 8-byte SETUP packet arrived; the reply says how the device answers it. */
  setup(setup: Uint8Array): Ep0Reply;
  /** The OUT data stage arrived; the function acks or stalls the status stage. */
  outData(data: Uint8Array): 'ack' | 'stall' | 'none';
  /** The status stage completed. */
  transferComplete(): void;
}

/** Standard requests (USB 2.0 §9.4, table 9-4). */
export const REQUEST = {
  GET_STATUS: 0,
  CLEAR_FEATURE: 1,
  SET_FEATURE: 3,
  SET_ADDRESS: 5,
  GET_DESCRIPTOR: 6,
  GET_CONFIGURATION: 8,
  SET_CONFIGURATION: 9,
  GET_INTERFACE: 10,
  SET_INTERFACE: 11,
} as const;

/** DFU 1.1 class requests (§3, table 3.1). */
export const DFU_REQUEST = {
  DETACH: 0,
  DNLOAD: 1,
  UPLOAD: 2,
  GETSTATUS: 3,
  CLRSTATUS: 4,
  GETSTATE: 5,
  ABORT: 6,
} as const;

/** DFU 1.1 bState values (§6.1.2). */
export const DFU_STATE = {
  appIDLE: 0,
  appDETACH: 1,
  dfuIDLE: 2,
  dfuDNLOAD_SYNC: 3,
  dfuDNBUSY: 4,
  dfuDNLOAD_IDLE: 5,
  dfuMANIFEST_SYNC: 6,
  dfuMANIFEST: 7,
  dfuMANIFEST_WAIT_RESET: 8,
  dfuUPLOAD_IDLE: 9,
  dfuERROR: 10,
} as const;

export interface SetupPacket {
  readonly bmRequestType: number;
  readonly bRequest: number;
  readonly wValue: number;
  readonly wIndex: number;
  readonly wLength: number;
}

export function decodeSetup(b: Uint8Array): SetupPacket {
  return {
    bmRequestType: b[0]!,
    bRequest: b[1]!,
    wValue: b[2]! | (b[3]! << 8),
    wIndex: b[4]! | (b[5]! << 8),
    wLength: b[6]! | (b[7]! << 8),
  };
}
