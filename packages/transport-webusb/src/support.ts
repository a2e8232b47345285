import { type HostOs, WEBUSB_BROWSERS, WebUsbError } from './errors.js';

/** The parts of a page's globals WebUSB support depends on (`window` fits). */
export interface BrowserEnvironment {
  readonly isSecureContext?: boolean;
  readonly location?: { readonly protocol: string; readonly host: string };
  readonly navigator?: { readonly usb?: unknown; readonly userAgent?: string };
}

/** The host OS from the user agent: for advice about drivers and programs to close. */
export function hostOsOf(userAgent: string | undefined): HostOs {
  const ua = userAgent ?? '';
  if (/Windows/i.test(ua)) return 'windows';
  if (/Android/i.test(ua)) return 'android';
  if (/CrOS/i.test(ua)) return 'chromeos';
  if (/Mac OS X|Macintosh/i.test(ua)) return 'macos';
  if (/Linux|X11/i.test(ua)) return 'linux';
  return 'other';
}

/**
 * Why WebUSB cannot be used on this page, as an error that says what to do; undefined when
 * it can. Chromium hides `navigator.usb` outside secure contexts, so that case is told apart
 * from a browser that has no WebUSB at all.
 */
export function webUsbProblem(env: BrowserEnvironment): WebUsbError | undefined {
  if (env.navigator?.usb) return undefined;
  if (env.isSecureContext === false) {
    const where = env.location ? `${env.location.protocol}//${env.location.host}` : 'this page';
    return new WebUsbError(
      'INSECURE_CONTEXT',
      `WebUSB works only on secure pages, and ${where} is not one.`,
      {
        advice: 'Open the flasher over https, or on http://localhost for a local copy (pnpm web).',
      },
    );
  }
  return new WebUsbError('UNSUPPORTED_BROWSER', 'This browser has no WebUSB.', {
    advice: `Open the page in ${WEBUSB_BROWSERS}; Firefox and Safari do not implement WebUSB. The virtual board works in any browser.`,
  });
}
