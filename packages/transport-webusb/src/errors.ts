/**
 * Stable codes for every way WebUSB can fail us; a page switches on `code`, a person reads
 * `message`, which ends with what to do.
 */
export type WebUsbErrorCode =
  /** The browser has no WebUSB (Firefox, Safari) or it is turned off. */
  | 'UNSUPPORTED_BROWSER'
  /** The page is not a secure context (https or localhost), so `navigator.usb` is hidden. */
  | 'INSECURE_CONTEXT'
  /** A permissions policy (an iframe without `allow="usb"`) blocks WebUSB. */
  | 'BLOCKED_BY_POLICY'
  /** The chooser was closed without picking a device. */
  | 'CANCELLED'
  /** `requestDevice` was called outside a click or key press. */
  | 'NEEDS_USER_GESTURE'
  /** The OS refused to open the device: another program or tab has it, or no permission (Linux udev). */
  | 'ACCESS_DENIED'
  /** The DFU interface is claimed by a kernel driver, another program or another tab. */
  | 'BUSY'
  /** The device left the bus. */
  | 'DEVICE_GONE'
  /** The board did not come back (after DETACH or a reload) within the time allowed. */
  | 'NOT_FOUND_AGAIN';

/** A browser engine family; of these only Chromium has WebUSB (see `WEBUSB_BROWSERS`). */
export type BrowserFamily = 'chromium' | 'firefox' | 'safari' | 'other';
/**
 * The operating system a page runs on, which decides the permission and driver advice (WinUSB on
 * Windows, udev rules on Linux).
 */
export type HostOs = 'windows' | 'linux' | 'macos' | 'android' | 'chromeos' | 'other';

/** Which browsers have WebUSB, for the message of a browser that has not. */
export const WEBUSB_BROWSERS =
  'Chrome, Edge, Opera or another Chromium-based browser (version 61 or later) on Windows, macOS, Linux, ChromeOS or Android';

/**
 * What a `WebUsbError` carries besides its code and message: the device, the advice and the
 * browser's own error.
 */
export interface WebUsbErrorDetail {
  /** `vvvv:pppp` of the device concerned. */
  readonly device?: string | undefined;
  /** What to do about it, also the end of `message`. */
  readonly advice?: string | undefined;
  readonly cause?: unknown;
}

/** A failure of WebUSB. `name` stays the DOMException name the browser used where there was one. */
export class WebUsbError extends Error {
  override readonly name = 'WebUsbError';
  readonly code: WebUsbErrorCode;
  readonly device: string | undefined;
  readonly advice: string | undefined;

  constructor(code: WebUsbErrorCode, message: string, detail: WebUsbErrorDetail = {}) {
    super(detail.advice ? `${message} ${detail.advice}` : message, { cause: detail.cause });
    this.code = code;
    this.device = detail.device;
    this.advice = detail.advice;
  }
}

/** What to close when the OS says "Access denied" for a device. */
export function accessAdvice(os: HostOs): string {
  if (os === 'linux' || os === 'chromeos') {
    return (
      'Close other programs and browser tabs that use the board (dfu-util, STM32CubeProgrammer, ' +
      'stm32dfu, another flasher tab). On Linux your user also needs a udev rule for the board: ' +
      'install 70-stm32dfu.rules from @stm32dfu/transport-node (docs/transport-node.md), then unplug and replug it.'
    );
  }
  if (os === 'windows') {
    return (
      'Windows lets one program at a time open the board: close STM32CubeProgrammer, dfu-util, ' +
      'stm32dfu and any other browser tab or window that is connected to it, then connect again.'
    );
  }
  return (
    'Another program or tab probably has the board open: close dfu-util, STM32CubeProgrammer, ' +
    'stm32dfu and any other tab connected to it, then connect again.'
  );
}

/** What to do when the DFU interface cannot be claimed. */
export function busyAdvice(os: HostOs): string {
  const kernel =
    os === 'linux' || os === 'chromeos'
      ? ' If nothing else runs, a kernel driver holds the interface: see which with `lsusb -t`, and unbind it or blacklist it for this device.'
      : os === 'windows'
        ? " If nothing else runs, a driver other than WinUSB is bound: ST's ROM bootloader needs WinUSB installed with Zadig."
        : '';
  return (
    'The DFU interface is in use: close other tabs connected to the board, dfu-util, ' +
    `STM32CubeProgrammer and stm32dfu, then connect again.${kernel}`
  );
}

function domName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

function domMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What `toWebUsbError` needs to word its message and advice: what was being done, the OS, the
 * device.
 */
export interface MapContext {
  /** What was being done: "opening the board", "asking for a device". */
  readonly action: string;
  readonly os: HostOs;
  readonly device?: string | undefined;
}

/**
 * Turn what Chromium rejects with into a `WebUsbError`, or undefined when the error is not a
 * WebUSB one (the protocol's own errors pass through untouched). Chromium's messages:
 * "No device selected." (NotFoundError from requestDevice), "Access denied." (SecurityError
 * from open), "Unable to claim interface." (NetworkError from claimInterface), "Must be
 * handling a user gesture…" and "…disallowed by permissions policy." (SecurityError).
 */
export function toWebUsbError(error: unknown, context: MapContext): WebUsbError | undefined {
  if (error instanceof WebUsbError) return error;
  // The protocol wraps a transport failure in its own error and keeps the browser's as `cause`.
  for (let e = error, depth = 0; e instanceof Error && depth < 4; depth++, e = e.cause) {
    if (e instanceof WebUsbError) return e;
    const mapped = mapDomError(e, context, error);
    if (mapped) return mapped;
  }
  return undefined;
}

function mapDomError(
  error: unknown,
  context: MapContext,
  original: unknown,
): WebUsbError | undefined {
  const name = domName(error);
  const text = domMessage(error);
  const detail = { device: context.device, cause: original };
  if (name === 'NotFoundError' && /no device selected/i.test(text)) {
    return new WebUsbError('CANCELLED', 'No board was chosen.', {
      ...detail,
      advice:
        'Press Connect again and pick the board in the list; if it is not listed, check the cable (a charge-only cable shows nothing) and that the board is in the bootloader or runs an application with the DFU interface.',
    });
  }
  if (name === 'NotFoundError' || name === 'DeviceGoneError') {
    return new WebUsbError('DEVICE_GONE', `The board left the USB bus while ${context.action}.`, {
      ...detail,
      advice: 'Check the cable and plug it in again, then connect again.',
    });
  }
  if (name === 'SecurityError' && /user gesture/i.test(text)) {
    return new WebUsbError(
      'NEEDS_USER_GESTURE',
      'The browser shows the device chooser only in answer to a click or a key press.',
      { ...detail, advice: 'Press the Connect button.' },
    );
  }
  if (name === 'SecurityError' && /permissions policy|feature policy/i.test(text)) {
    return new WebUsbError('BLOCKED_BY_POLICY', 'This page may not use WebUSB here.', {
      ...detail,
      advice: 'Open the flasher in its own tab, or embed it in an iframe with allow="usb".',
    });
  }
  if (name === 'SecurityError') {
    return new WebUsbError(
      'ACCESS_DENIED',
      `The operating system refused access to the board while ${context.action}.`,
      { ...detail, advice: accessAdvice(context.os) },
    );
  }
  if (name === 'NetworkError' && /claim/i.test(text)) {
    return new WebUsbError('BUSY', `The board's DFU interface could not be claimed.`, {
      ...detail,
      advice: busyAdvice(context.os),
    });
  }
  if (name === 'InvalidStateError' && /claim|open/i.test(text)) {
    return new WebUsbError('BUSY', `The board is busy (${text}).`, {
      ...detail,
      advice: busyAdvice(context.os),
    });
  }
  return undefined;
}
