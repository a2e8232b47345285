import type { UsbIdentity } from '@stm32dfu/layout';
import {
  DESCRIPTOR_CONFIGURATION,
  DESCRIPTOR_DEVICE,
  DESCRIPTOR_DFU_FUNCTIONAL,
  DESCRIPTOR_INTERFACE,
  DESCRIPTOR_STRING,
  stringDescriptor,
} from './descriptors.js';
import {
  DFU_REQUEST,
  DFU_STATE,
  decodeSetup,
  type Ep0Reply,
  REQUEST,
  type UsbFunction,
} from './usb-function.js';

/** DFU functional descriptor bits (DFU 1.1 §4.1.3). */
const CAN_DNLOAD = 0x01;
const CAN_UPLOAD = 0x02;
const WILL_DETACH = 0x08;

export const APP_RUNTIME_INTERFACE_NAME = 'stm32dfu runtime';
const DETACH_TIMEOUT_MS = 255;
const TRANSFER_SIZE = 2048;
const DFUSE_VERSION = 0x011a;

export interface ApplicationModelOptions {
  readonly identity: UsbIdentity;
  readonly serialNumber: string;
  /** Called after the status stage of DFU_DETACH: the application asks for the bootloader. */
  readonly onDetach: () => void;
}

/**
 * The example application as the host sees it (runtime mode, DFU 1.1 §4.1): the same
 * VID:PID and serial as the bootloader, bcdDevice of the application, and one DFU runtime
 * interface (class 0xFE, subclass 0x01, protocol 0x01). It answers GETSTATUS/GETSTATE with
 * appIDLE; DFU_DETACH (WillDetach) makes it write the boot-request word and reset.
 */
export class ApplicationModel implements UsbFunction {
  readonly #options: ApplicationModelOptions;
  #configuration = 0;
  #state: number = DFU_STATE.appIDLE;
  #detachPending = false;
  readonly #strings: readonly string[];

  constructor(options: ApplicationModelOptions) {
    this.#options = options;
    const id = options.identity;
    this.#strings = [
      '',
      id.manufacturer,
      id.applicationProduct,
      options.serialNumber,
      APP_RUNTIME_INTERFACE_NAME,
    ];
  }

  busReset(): void {
    this.#configuration = 0;
    this.#state = DFU_STATE.appIDLE;
    this.#detachPending = false;
  }

  setup(bytes: Uint8Array): Ep0Reply {
    const s = decodeSetup(bytes);
    const type = (s.bmRequestType >> 5) & 3;
    const recipient = s.bmRequestType & 0x1f;
    const isIn = (s.bmRequestType & 0x80) !== 0;
    const send = (data: Uint8Array): Ep0Reply => ({
      kind: 'send',
      data: data.subarray(0, Math.min(data.length, s.wLength)),
    });
    if (type === 0) {
      switch (s.bRequest) {
        case REQUEST.GET_STATUS:
          return isIn ? send(new Uint8Array(2)) : { kind: 'stall' };
        case REQUEST.SET_ADDRESS:
          return { kind: 'ack' };
        case REQUEST.GET_DESCRIPTOR: {
          const descriptor = this.#descriptor(s.wValue >> 8, s.wValue & 0xff);
          return descriptor && isIn ? send(descriptor) : { kind: 'stall' };
        }
        case REQUEST.GET_CONFIGURATION:
          return send(Uint8Array.of(this.#configuration));
        case REQUEST.SET_CONFIGURATION:
          if (s.wValue > 1) return { kind: 'stall' };
          this.#configuration = s.wValue;
          return { kind: 'ack' };
        case REQUEST.GET_INTERFACE:
          return recipient === 1 && s.wIndex === 0 ? send(Uint8Array.of(0)) : { kind: 'stall' };
        case REQUEST.SET_INTERFACE:
          return recipient === 1 && s.wIndex === 0 && s.wValue === 0
            ? { kind: 'ack' }
            : { kind: 'stall' };
        default:
          return { kind: 'stall' };
      }
    }
    // DFU class requests go to interface 0 (DFU 1.1 §3); runtime mode serves three of them.
    if (type !== 1 || recipient !== 1 || s.wIndex !== 0) return { kind: 'stall' };
    switch (s.bRequest) {
      case DFU_REQUEST.DETACH:
        if (isIn) return { kind: 'stall' };
        this.#state = DFU_STATE.appDETACH;
        this.#detachPending = true;
        return { kind: 'ack' };
      case DFU_REQUEST.GETSTATUS:
        // bStatus OK, bwPollTimeout 0, bState, iString 0 (§6.1.2).
        return isIn ? send(Uint8Array.of(0, 0, 0, 0, this.#state, 0)) : { kind: 'stall' };
      case DFU_REQUEST.GETSTATE:
        return isIn ? send(Uint8Array.of(this.#state)) : { kind: 'stall' };
      default:
        return { kind: 'stall' };
    }
  }

  outData(): 'ack' | 'stall' {
    // No runtime request has an OUT data stage.
    return 'stall';
  }

  transferComplete(): void {
    if (this.#detachPending) {
      this.#detachPending = false;
      this.#options.onDetach();
    }
  }

  #descriptor(type: number, index: number): Uint8Array | undefined {
    const id = this.#options.identity;
    if (type === DESCRIPTOR_DEVICE && index === 0) {
      return Uint8Array.of(
        18,
        DESCRIPTOR_DEVICE,
        0x00,
        0x02, // bcdUSB 2.00
        0,
        0,
        0, // class per interface
        64,
        id.vendorId & 0xff,
        id.vendorId >> 8,
        id.productId & 0xff,
        id.productId >> 8,
        id.applicationBcdDevice & 0xff,
        id.applicationBcdDevice >> 8,
        1,
        2,
        3,
        1,
      );
    }
    if (type === DESCRIPTOR_CONFIGURATION && index === 0) {
      const total = 9 + 9 + 9;
      return Uint8Array.of(
        9,
        DESCRIPTOR_CONFIGURATION,
        total,
        0,
        1, // one interface
        1, // bConfigurationValue
        0,
        0x80, // bus powered
        50, // 100 mA
        9,
        DESCRIPTOR_INTERFACE,
        0,
        0,
        0, // no endpoints: DFU uses EP0 only
        0xfe,
        0x01,
        0x01, // runtime protocol
        4,
        9,
        DESCRIPTOR_DFU_FUNCTIONAL,
        WILL_DETACH | CAN_UPLOAD | CAN_DNLOAD,
        DETACH_TIMEOUT_MS & 0xff,
        DETACH_TIMEOUT_MS >> 8,
        TRANSFER_SIZE & 0xff,
        TRANSFER_SIZE >> 8,
        DFUSE_VERSION & 0xff,
        DFUSE_VERSION >> 8,
      );
    }
    if (type === DESCRIPTOR_STRING) {
      if (index === 0) return Uint8Array.of(4, DESCRIPTOR_STRING, 0x09, 0x04);
      const text = this.#strings[index];
      return text ? stringDescriptor(text) : undefined;
    }
    return undefined;
  }
}
