/**
 * USB-HID relay boards: dcttech "USBRelay" (16c0:05df, V-USB) and the LCUS HID variant.
 * A channel is switched by a HID SET_REPORT of feature report 0: `[0xFF, ch]` closes it,
 * `[0xFD, ch]` opens it, padded to 8 bytes. GET_REPORT of the same report returns the
 * board's 5-character serial in bytes 0–4 and the channel states as bits in byte 7
 * (bit n−1 for channel n). The same bytes usbrelay and the vendor's tools send.
 */
import { HilError } from '../errors.js';
import { checkChannel, type RelayDriver } from './types.js';

/** A USB control SETUP packet, as the bus sees it. */
export interface ControlSetup {
  readonly bmRequestType: number;
  readonly bRequest: number;
  readonly wValue: number;
  readonly wIndex: number;
}

/** The control transfers a HID relay needs; `usbHidControl` backs it with node-usb. */
export interface HidControl {
  controlOut(setup: ControlSetup, data: Uint8Array): Promise<void>;
  controlIn(setup: ControlSetup, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export const HID_RELAY_VENDOR_ID = 0x16c0;
export const HID_RELAY_PRODUCT_ID = 0x05df;
/** bmRequestType: class request to the interface, OUT / IN. */
const HID_CLASS_OUT = 0x21;
const HID_CLASS_IN = 0xa1;
/** HID 1.11 §7.2: GET_REPORT 0x01, SET_REPORT 0x09; wValue high byte 3 = feature report. */
const GET_REPORT = 0x01;
const SET_REPORT = 0x09;
const FEATURE_REPORT_0 = 0x0300;
const REPORT_LENGTH = 8;
const CMD_ON = 0xff;
const CMD_OFF = 0xfd;

export class HidRelay implements RelayDriver {
  readonly description: string;
  readonly channelCount: number;
  readonly #control: HidControl;

  constructor(control: HidControl, options: { channelCount?: number; description?: string } = {}) {
    this.#control = control;
    this.channelCount = options.channelCount ?? 8;
    this.description = options.description ?? 'USB-HID relay';
  }

  async set(channel: number, on: boolean): Promise<void> {
    checkChannel(this, channel);
    const report = new Uint8Array(REPORT_LENGTH);
    report[0] = on ? CMD_ON : CMD_OFF;
    report[1] = channel;
    await this.#control.controlOut(
      { bmRequestType: HID_CLASS_OUT, bRequest: SET_REPORT, wValue: FEATURE_REPORT_0, wIndex: 0 },
      report,
    );
  }

  /** The board's state byte, read back: a relay that did not switch is seen here. */
  async get(channel: number): Promise<boolean> {
    checkChannel(this, channel);
    const report = await this.readReport();
    return ((report.states >> (channel - 1)) & 1) === 1;
  }

  /** Serial (bytes 0–4) and channel bits (byte 7) from GET_REPORT. */
  async readReport(): Promise<{ serial: string; states: number }> {
    const bytes = await this.#control.controlIn(
      { bmRequestType: HID_CLASS_IN, bRequest: GET_REPORT, wValue: FEATURE_REPORT_0, wIndex: 0 },
      REPORT_LENGTH,
    );
    if (bytes.length < REPORT_LENGTH) {
      throw new HilError(
        'RELAY_IO',
        `${this.description} answered GET_REPORT with ${bytes.length} bytes, not ${REPORT_LENGTH}: is it a dcttech/LCUS HID relay?`,
      );
    }
    const serial = String.fromCharCode(...bytes.subarray(0, 5)).replace(/\0+$/, '');
    return { serial, states: bytes[7]! };
  }

  close(): Promise<void> {
    return this.#control.close();
  }
}

/** The libusb-level device node-usb gives (`usb.getDeviceList()`), the part we use. */
export interface LibusbHidDevice {
  readonly deviceDescriptor: { idVendor: number; idProduct: number };
  open(): void;
  close(): void;
  interface(n: number): {
    isKernelDriverActive(): boolean;
    detachKernelDriver(): void;
    claim(): void;
    release(cb: (error?: unknown) => void): void;
  };
  controlTransfer(
    bmRequestType: number,
    bRequest: number,
    wValue: number,
    wIndex: number,
    dataOrLength: Buffer | number,
    callback: (error: unknown, data?: Buffer | number) => void,
  ): unknown;
}

/**
 * HidControl over a node-usb device: usbhid lets go of interface 0 (it is ours until
 * close), and each transfer is one libusb control transfer.
 */
export function usbHidControl(device: LibusbHidDevice, label: string): HidControl {
  device.open();
  const iface = device.interface(0);
  if (iface.isKernelDriverActive()) iface.detachKernelDriver();
  iface.claim();
  const transfer = (setup: ControlSetup, data: Buffer | number) =>
    new Promise<Buffer | number | undefined>((resolve, reject) => {
      device.controlTransfer(
        setup.bmRequestType,
        setup.bRequest,
        setup.wValue,
        setup.wIndex,
        data,
        (error, result) =>
          error
            ? reject(
                new HilError(
                  'RELAY_IO',
                  `${label}: control transfer failed (${String((error as Error).message ?? error)}): check the cable and the udev rule for ${label}.`,
                  { cause: error },
                ),
              )
            : resolve(result),
      );
    });
  return {
    async controlOut(setup, data) {
      await transfer(setup, Buffer.from(data));
    },
    async controlIn(setup, length) {
      const result = await transfer(setup, length);
      return result instanceof Uint8Array ? new Uint8Array(result) : new Uint8Array();
    },
    close() {
      return new Promise<void>((resolve) => {
        iface.release(() => {
          device.close();
          resolve();
        });
      });
    },
  };
}

/**
 * Open the HID relay with `vendorId:productId` (and `serial`, the board's own 5 characters,
 * when several are plugged in) through node-usb.
 */
export async function openHidRelay(options: {
  vendorId: number;
  productId: number;
  serial?: string | undefined;
  listDevices?: () => readonly LibusbHidDevice[];
}): Promise<HidRelay> {
  const id = `${hex4(options.vendorId)}:${hex4(options.productId)}`;
  const list =
    options.listDevices ??
    ((await import('usb')).getDeviceList as unknown as () => readonly LibusbHidDevice[]);
  const candidates = list().filter(
    (d) =>
      d.deviceDescriptor.idVendor === options.vendorId &&
      d.deviceDescriptor.idProduct === options.productId,
  );
  const seen: string[] = [];
  for (const device of candidates) {
    const control = usbHidControl(device, `USB-HID relay ${id}`);
    const { serial } = await new HidRelay(control, {
      description: `USB-HID relay ${id}`,
    }).readReport();
    if (options.serial === undefined || serial === options.serial) {
      return new HidRelay(control, { description: `USB-HID relay ${id} serial ${serial}` });
    }
    seen.push(serial);
    await control.close();
  }
  throw new HilError(
    'RELAY_NOT_FOUND',
    candidates.length === 0
      ? `No USB-HID relay ${id} is plugged in: check the cable (lsusb lists it as 16c0:05df "USBRelay<n>").`
      : `No USB-HID relay ${id} has serial ${options.serial}; seen: ${seen.join(', ')}. Fix relay.serial.`,
    { field: candidates.length === 0 ? 'relay' : 'relay.serial' },
  );
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
