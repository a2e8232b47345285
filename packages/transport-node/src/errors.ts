import { UDEV_RULES_FILE, UDEV_RULES_PATH } from './udev-paths.js';

/**
 * Stable codes for every way the transport can fail; programs switch on these, people read
 * `message`, which says what to do.
 */
export type TransportErrorCode =
  /** node-usb or libusb could not be loaded or started on this machine. */
  | 'USB_UNAVAILABLE'
  /** The OS refused to open the device (Linux: no udev rule; elsewhere: another program has it). */
  | 'ACCESS_DENIED'
  /** The interface is claimed by another program or a kernel driver. */
  | 'BUSY'
  /** Windows: no WinUSB (or other libusb-usable driver) is bound to the device. */
  | 'NO_DRIVER'
  /** The device left the bus (unplugged, reset, re-enumerating). */
  | 'DEVICE_GONE'
  /** A request got no answer before its deadline. */
  | 'TIMEOUT'
  /** Any other libusb failure of a request. */
  | 'TRANSFER'
  /** Selection: no device matched what was asked for. */
  | 'NO_DEVICE'
  /** Selection: more than one device matched; the candidates are listed. */
  | 'AMBIGUOUS';

/**
 * The DOMException names WebUSB rejects with, per code. The protocol recognises a device that
 * has gone away by the name `NotFoundError` (architecture contract 2), so that name is the one
 * that matters; the others follow Chromium's choices for the same failures.
 */
const DOM_NAMES: Record<TransportErrorCode, string> = {
  USB_UNAVAILABLE: 'NotSupportedError',
  ACCESS_DENIED: 'SecurityError',
  BUSY: 'InvalidStateError',
  NO_DRIVER: 'NotSupportedError',
  DEVICE_GONE: 'NotFoundError',
  TIMEOUT: 'TimeoutError',
  TRANSFER: 'NetworkError',
  NO_DEVICE: 'DeviceSelectionError',
  AMBIGUOUS: 'DeviceSelectionError',
};

/**
 * What a `TransportError` carries besides its code and message: the libusb error, the device and
 * the advice.
 */
export interface TransportErrorDetail {
  /** The libusb error or transfer status behind it, e.g. `LIBUSB_ERROR_ACCESS`. */
  readonly libusb?: string | undefined;
  /** `vvvv:pppp` of the device concerned. */
  readonly device?: string | undefined;
  /** What to do about it, also the end of `message`. */
  readonly advice?: string | undefined;
  readonly cause?: unknown;
}

/** A failure of the USB transport. `name` is the DOMException-like name WebUSB would use. */
export class TransportError extends Error {
  override readonly name: string;
  readonly code: TransportErrorCode;
  readonly libusb: string | undefined;
  readonly device: string | undefined;
  readonly advice: string | undefined;

  constructor(code: TransportErrorCode, message: string, detail: TransportErrorDetail = {}) {
    super(detail.advice ? `${message} ${detail.advice}` : message, { cause: detail.cause });
    this.name = DOM_NAMES[code];
    this.code = code;
    this.libusb = detail.libusb;
    this.device = detail.device;
    this.advice = detail.advice;
  }
}

const LIBUSB_NAME = /LIBUSB_(?:ERROR|TRANSFER)_[A-Z_]+/;

/**
 * The libusb error name behind a node-usb error. node-usb's `WebUSBDevice` rethrows libusb's
 * exception as `new Error('claimInterface error: Error: LIBUSB_ERROR_BUSY')`, dropping its
 * `errno`, so the name is read from the message (and from any `cause`).
 */
export function libusbErrorName(error: unknown): string | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const message = e instanceof Error ? e.message : typeof e === 'string' ? e : '';
    const match = LIBUSB_NAME.exec(message);
    if (match) return match[0];
    e = e instanceof Error ? e.cause : undefined;
  }
  return undefined;
}

/** A host OS as `process.platform` names it. */
export type HostPlatform = NodeJS.Platform;

/** Who made the device, for driver advice. */
export type DeviceKind = 'stm32dfu' | 'st-rom' | 'foreign';

/**
 * What permission and busy-device advice depends on: the host OS, who made the device and its
 * VID:PID.
 */
export interface AdviceContext {
  readonly platform: HostPlatform;
  readonly kind?: DeviceKind | undefined;
  /** `vvvv:pppp`. */
  readonly id?: string | undefined;
}

/** The commands that install the shipped udev rules, as `installUdevRules` reports them. */
export function udevCommands(): string {
  return (
    `sudo install -D -m 0644 ${UDEV_RULES_FILE} ${UDEV_RULES_PATH} && ` +
    'sudo udevadm control --reload-rules && sudo udevadm trigger'
  );
}

/** What to do when the OS will not let us open the device. */
export function accessAdvice(context: AdviceContext): string {
  const { platform, kind, id } = context;
  if (platform === 'linux') {
    const covered =
      kind === 'foreign'
        ? ` That rule covers 1209:0001 and ST's 0483:df11; for ${id ?? 'this device'} add a line with its ids.`
        : kind === 'stm32dfu' && id !== undefined && id !== '1209:0001'
          ? ` That rule covers 1209:0001 and ST's 0483:df11; for your product's ${id} add a line with its ids.`
          : '';
    return (
      'Linux lets only root open USB devices that no udev rule gives to you. Install the rule that ' +
      `comes with @stm32dfu/transport-node (installUdevRules() as root, or: ${udevCommands()}), then unplug and ` +
      `replug the board.${covered} Running as root works too, but is not needed.`
    );
  }
  if (platform === 'win32') {
    return (
      'Windows lets one program at a time open a WinUSB device: close other programs that use it ' +
      '(STM32CubeProgrammer, dfu-util, another stm32dfu, a browser tab using WebUSB) and try again.'
    );
  }
  return (
    'Another program probably has the device open: close other programs that use it (dfu-util, ' +
    'STM32CubeProgrammer, another stm32dfu, a browser tab using WebUSB) and try again.'
  );
}

/** What to do when the interface is claimed elsewhere. */
export function busyAdvice(context: AdviceContext): string {
  const driver =
    context.platform === 'linux'
      ? ' A kernel driver bound to the DFU interface is detached automatically; if this persists, ' +
        'see which driver holds it with `lsusb -t`.'
      : '';
  return (
    'Another program or driver has claimed the DFU interface: close dfu-util, STM32CubeProgrammer, ' +
    `another stm32dfu or a browser tab using WebUSB, then try again.${driver}`
  );
}

/** Windows only: the device has no driver libusb can talk through. */
export function driverAdvice(context: AdviceContext): string {
  switch (context.kind) {
    case 'st-rom':
      return (
        "ST's ROM bootloader (0483:df11) has no descriptors that ask Windows for WinUSB, so it needs a " +
        'driver installed: run Zadig (https://zadig.akeo.ie), pick "STM32 BOOTLOADER" and install WinUSB, ' +
        "or install the DFU driver that comes with STM32CubeProgrammer. The old DfuSe demo's driver " +
        '(STTub30, "STM Device in DFU Mode") cannot be used by libusb: replace it.'
      );
    case 'stm32dfu':
      return (
        'The stm32dfu bootloader and application ask Windows for WinUSB themselves (MS OS 2.0 ' +
        'descriptors, Windows 8.1 and later), so this usually means Windows kept a driver from an ' +
        'earlier device with the same ids: in Device Manager uninstall the device (tick "delete the ' +
        'driver"), then unplug and replug it; or bind WinUSB with Zadig (https://zadig.akeo.ie).'
      );
    default:
      return `Bind WinUSB to ${context.id ?? 'the device'} with Zadig (https://zadig.akeo.ie), then unplug and replug it.`;
  }
}

/** What is needed on each OS before a board can be used, for `--help` texts and READMEs. */
export function setupAdvice(platform: HostPlatform): string {
  if (platform === 'linux') return accessAdvice({ platform });
  if (platform === 'win32') {
    return (
      'Nothing for the stm32dfu bootloader and application, which ask Windows for WinUSB themselves. ' +
      driverAdvice({ platform, kind: 'st-rom' })
    );
  }
  if (platform === 'darwin')
    return 'Nothing: macOS lets any user open DFU devices without a driver.';
  return 'libusb must be able to open USB devices as your user on this system.';
}

/**
 * Turn whatever node-usb threw into a `TransportError` with advice. `what` names the
 * operation ("opening 1209:0001 at 1-1.4").
 */
export function toTransportError(
  error: unknown,
  what: string,
  context: AdviceContext,
): TransportError {
  if (error instanceof TransportError) return error;
  const libusb = libusbErrorName(error);
  const detail = { libusb, device: context.id, cause: error };
  const said = error instanceof Error ? error.message : String(error);
  const failed = (reason: string) =>
    `${what.charAt(0).toUpperCase()}${what.slice(1)} failed: ${reason} (${libusb}).`;
  switch (libusb) {
    case 'LIBUSB_ERROR_NO_DEVICE':
    case 'LIBUSB_TRANSFER_NO_DEVICE':
      return new TransportError('DEVICE_GONE', failed('the device left the bus'), {
        ...detail,
        advice: 'Find it again (by serial number) once it has re-enumerated, or reconnect it.',
      });
    case 'LIBUSB_ERROR_ACCESS':
      return new TransportError('ACCESS_DENIED', failed('permission denied'), {
        ...detail,
        advice: accessAdvice(context),
      });
    case 'LIBUSB_ERROR_BUSY':
      return new TransportError('BUSY', failed('the device or interface is in use'), {
        ...detail,
        advice: busyAdvice(context),
      });
    case 'LIBUSB_ERROR_TIMEOUT':
    case 'LIBUSB_TRANSFER_TIMED_OUT':
      return new TransportError('TIMEOUT', failed('no answer in time'), {
        ...detail,
        advice: 'Check the cable and that the board is still powered and in the mode you expect.',
      });
    case 'LIBUSB_ERROR_NOT_SUPPORTED':
    case 'LIBUSB_ERROR_NOT_FOUND':
      if (context.platform === 'win32') {
        return new TransportError('NO_DRIVER', failed('Windows has no usable driver bound'), {
          ...detail,
          advice: driverAdvice(context),
        });
      }
      break;
    default:
      break;
  }
  return new TransportError(
    'TRANSFER',
    `${what.charAt(0).toUpperCase()}${what.slice(1)} failed: ${said}.`,
    {
      ...detail,
      advice: 'Check the cable and try again; a power cycle of the board clears most USB errors.',
    },
  );
}
