import type { UsbIdentity } from '@stm32dfu/layout';
import {
  CAPABILITY_PLATFORM,
  DESCRIPTOR_BOS,
  DESCRIPTOR_CONFIGURATION,
  DESCRIPTOR_DEVICE,
  DESCRIPTOR_DEVICE_CAPABILITY,
  DESCRIPTOR_DFU_FUNCTIONAL,
  DESCRIPTOR_INTERFACE,
  DESCRIPTOR_STRING,
  guidWireBytes,
  msOs20CompatibleId,
  msOs20DescriptorSet,
  msOs20MultiStringProperty,
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

/*
 * The numbers below are firmware/app/usb_runtime.c's and firmware/src/core/usb_bos.h's;
 * test/app-model.test.ts builds that C for the host and compares every answer, byte for byte.
 */

/** The example application's runtime DFU interface string (firmware/app/usb_runtime.c). */
export const APP_RUNTIME_INTERFACE_NAME = 'stm32dfu runtime DFU';
const DETACH_TIMEOUT_MS = 1000;
const TRANSFER_SIZE = 2048;
/** DFU 1.1: the runtime interface is plain DFU, not DfuSe's 0x011A. */
const DFU_VERSION = 0x0110;
/** bcdUSB 2.01 tells Windows and Chromium to read the BOS. */
const BCD_USB = 0x0201;
const WEBUSB_VENDOR_CODE = 0x01;
const MS_OS_20_VENDOR_CODE = 0x02;
/** MS OS 2.0 §4: the descriptor set is read with wIndex 7. */
const MS_OS_20_DESCRIPTOR_INDEX = 7;
/** NTDDI_WINBLUE (Windows 8.1). */
const WINDOWS_8_1 = 0x06030000;

/**
 * The device interface GUID the bootloader and the example application give Windows in
 * DeviceInterfaceGUIDs (firmware/src/core/usb_bos.h; docs/decisions.md): a program that
 * uses SetupAPI and WinUSB, or libusbK, finds the board by it. It never changes.
 */
export const DEVICE_INTERFACE_GUID = '{11F45152-A452-48B0-8922-5A0BBE622A30}';

/**
 * MS OS 2.0 §4, for a non-composite device (no subsets): a device-wide CompatibleID
 * "WINUSB", so Windows binds WinUSB without an INF, and the registry property
 * DeviceInterfaceGUIDs (REG_MULTI_SZ) with our GUID.
 */
const MS_OS_20_SET = msOs20DescriptorSet(WINDOWS_8_1, [
  msOs20CompatibleId('WINUSB'),
  msOs20MultiStringProperty('DeviceInterfaceGUIDs', [DEVICE_INTERFACE_GUID]),
]);

const le16 = (n: number) => [n & 0xff, n >> 8];

/** BOS (USB 3.2 §9.6.2): WebUSB (WebUSB §4.1) and MS OS 2.0 (MS OS 2.0 §3) platform capabilities. */
const BOS_CAPABILITIES = [
  // WebUSB: bReserved, UUID, bcdVersion 1.00, bVendorCode, iLandingPage 0 (none)
  24,
  DESCRIPTOR_DEVICE_CAPABILITY,
  CAPABILITY_PLATFORM,
  0,
  ...guidWireBytes('3408B638-09A9-47A0-8BFD-A0768815B665'),
  ...le16(0x0100),
  WEBUSB_VENDOR_CODE,
  0,
  // MS OS 2.0: bReserved, UUID, dwWindowsVersion, wMSOSDescriptorSetTotalLength,
  // bMS_VendorCode, bAltEnumCode
  28,
  DESCRIPTOR_DEVICE_CAPABILITY,
  CAPABILITY_PLATFORM,
  0,
  ...guidWireBytes('D8DD60DF-4589-4CC7-9CD2-659D9E648A9F'),
  ...le16(WINDOWS_8_1 & 0xffff),
  ...le16(WINDOWS_8_1 >>> 16),
  ...le16(MS_OS_20_SET.length),
  MS_OS_20_VENDOR_CODE,
  0,
];
const BOS = Uint8Array.from([
  5,
  DESCRIPTOR_BOS,
  ...le16(5 + BOS_CAPABILITIES.length),
  2,
  ...BOS_CAPABILITIES,
]);

/**
 * What the application model announces and does: the board's USB identity and serial, and what
 * happens when the host sends DFU_DETACH.
 */
export interface ApplicationModelOptions {
  readonly identity: UsbIdentity;
  readonly serialNumber: string;
  /** Called after the status stage of DFU_DETACH: the application asks for the bootloader. */
  readonly onDetach: () => void;
}

/**
 * The example application as the host sees it (runtime mode, DFU 1.1 §4.1), answering as
 * firmware/app/usb_runtime.c does: the same VID:PID and serial as the bootloader, bcdDevice
 * of the application, bcdUSB 2.01 with the bootloader's BOS and MS OS 2.0 descriptor set
 * (driverless on Windows, reachable from WebUSB), and one DFU runtime interface (class 0xFE,
 * subclass 0x01, protocol 0x01). GETSTATUS/GETSTATE answer appIDLE, or appDETACH once
 * DFU_DETACH (WillDetach) was acked; its status stage makes it write the boot-request word
 * and reset. Every other request stalls, every vendor request but the MS OS 2.0 set included.
 */
export class ApplicationModel implements UsbFunction {
  readonly #options: ApplicationModelOptions;
  #configuration = 0;
  #detachPending = false;
  #detachRequested = false;
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
    // As usb_runtime.c: only the configuration; a DETACH already acked still stands.
    this.#configuration = 0;
  }

  setup(bytes: Uint8Array): Ep0Reply {
    const s = decodeSetup(bytes);
    const type = (s.bmRequestType >> 5) & 3;
    const recipient = s.bmRequestType & 0x1f;
    const interfaceNumber = s.wIndex & 0xff;
    const send = (data: Uint8Array): Ep0Reply => ({
      kind: 'send',
      data: data.subarray(0, Math.min(data.length, s.wLength)),
    });
    const stall: Ep0Reply = { kind: 'stall' };
    if (type === 0) {
      const t = s.bmRequestType;
      switch (s.bRequest) {
        case REQUEST.GET_DESCRIPTOR: {
          const descriptor =
            t === 0x80 ? this.#descriptor(s.wValue >> 8, s.wValue & 0xff) : undefined;
          return descriptor ? send(descriptor) : stall;
        }
        case REQUEST.SET_ADDRESS:
          return t === 0x00 ? { kind: 'ack' } : stall;
        case REQUEST.SET_CONFIGURATION:
          if (t !== 0x00 || s.wValue > 1) return stall;
          this.#configuration = s.wValue;
          return { kind: 'ack' };
        case REQUEST.GET_CONFIGURATION:
          return t === 0x80 ? send(Uint8Array.of(this.#configuration)) : stall;
        case REQUEST.GET_STATUS:
          // Bus powered, no remote wakeup; interface and endpoint status are zero too.
          return (t & 0x80) !== 0 ? send(new Uint8Array(2)) : stall;
        case REQUEST.SET_INTERFACE:
          return t === 0x01 && s.wValue === 0 && interfaceNumber === 0 ? { kind: 'ack' } : stall;
        case REQUEST.GET_INTERFACE:
          return t === 0x81 && interfaceNumber === 0 ? send(Uint8Array.of(0)) : stall;
        default:
          return stall;
      }
    }
    if (type === 1 && recipient === 1) {
      // DFU class requests go to interface 0 (DFU 1.1 §3); runtime mode serves three of them.
      const state = this.#detachPending ? DFU_STATE.appDETACH : DFU_STATE.appIDLE;
      if (interfaceNumber !== 0) return stall;
      if (s.bmRequestType === 0x21 && s.bRequest === DFU_REQUEST.DETACH) {
        // DFU 1.1 §5.1: ack now, detach once the status stage is over (WillDetach).
        this.#detachPending = true;
        return { kind: 'ack' };
      }
      if (s.bmRequestType === 0xa1 && s.bRequest === DFU_REQUEST.GETSTATUS) {
        // bStatus OK, bwPollTimeout 0, bState, iString 0 (§6.1.2).
        return send(Uint8Array.of(0, 0, 0, 0, state, 0));
      }
      if (s.bmRequestType === 0xa1 && s.bRequest === DFU_REQUEST.GETSTATE) {
        return send(Uint8Array.of(state));
      }
      return stall;
    }
    if (
      type === 2 &&
      s.bmRequestType === 0xc0 &&
      s.bRequest === MS_OS_20_VENDOR_CODE &&
      s.wIndex === MS_OS_20_DESCRIPTOR_INDEX
    ) {
      return send(MS_OS_20_SET);
    }
    // WebUSB GET_URL stalls too: the BOS names no landing page.
    return stall;
  }

  outData(): 'ack' | 'stall' {
    // No runtime request has an OUT data stage.
    return 'stall';
  }

  transferComplete(): void {
    if (this.#detachPending && !this.#detachRequested) {
      this.#detachRequested = true;
      this.#options.onDetach();
    }
  }

  #descriptor(type: number, index: number): Uint8Array | undefined {
    const id = this.#options.identity;
    if (type === DESCRIPTOR_DEVICE) {
      return Uint8Array.of(
        18,
        DESCRIPTOR_DEVICE,
        BCD_USB & 0xff,
        BCD_USB >> 8,
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
    if (type === DESCRIPTOR_CONFIGURATION) {
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
        DFU_VERSION & 0xff,
        DFU_VERSION >> 8,
      );
    }
    if (type === DESCRIPTOR_STRING) {
      if (index === 0) return Uint8Array.of(4, DESCRIPTOR_STRING, 0x09, 0x04);
      const text = this.#strings[index];
      return text ? stringDescriptor(text) : undefined;
    }
    if (type === DESCRIPTOR_BOS) return BOS;
    // Device qualifier and the rest: a full-speed-only device (USB 2.0 §9.6.2).
    return undefined;
  }
}
