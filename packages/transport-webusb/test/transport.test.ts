import type { UsbDeviceLike } from '@stm32dfu/usb-device';
import { createVirtualBoard, type NodeVirtualBoard } from '@stm32dfu/virtual-board/node';
import { describe, expect, test } from 'vitest';
import {
  dfuFilters,
  summarize,
  type WebUsbError,
  type WebUsbLike,
  WebUsbTransport,
  webUsbProblem,
} from '../src/index.ts';
import { makeApp } from './app-image.ts';

/** What Chromium rejects with: a DOMException with a name and its own message. */
const domError = (name: string, message: string) => new DOMException(message, name);

/** `navigator.usb` backed by a virtual board; the chooser picks its device (or fails as told). */
function standIn(board: NodeVirtualBoard, chooser?: () => Promise<UsbDeviceLike>): WebUsbLike {
  return {
    getDevices: () => board.usb.getDevices(),
    addEventListener: (type, listener) => board.usb.addEventListener(type, listener),
    removeEventListener: (type, listener) => board.usb.removeEventListener?.(type, listener),
    requestDevice: chooser ?? (async () => board.device!),
  };
}

async function boardRunningApp(): Promise<NodeVirtualBoard> {
  const board = await createVirtualBoard({ board: 'blackpill-f411' });
  board.writeFlash(0x08008000, makeApp(8192));
  board.reset();
  await board.clock.sleep(500);
  expect(board.mode).toBe('application');
  return board;
}

async function rejection(promise: Promise<unknown>): Promise<WebUsbError> {
  try {
    await promise;
  } catch (error) {
    return error as WebUsbError;
  }
  throw new Error('expected a rejection');
}

describe('whether the page can use WebUSB', () => {
  test('an http page on another host is told to use https or localhost', () => {
    const problem = webUsbProblem({
      isSecureContext: false,
      location: { protocol: 'http:', host: 'lab.example:8080' },
      navigator: { userAgent: 'Chrome' },
    });
    expect(problem?.code).toBe('INSECURE_CONTEXT');
    expect(problem?.message).toContain('http://lab.example:8080');
    expect(problem?.message).toMatch(/https/);
  });

  test('a browser without navigator.usb names the browsers that have it', () => {
    const problem = webUsbProblem({ isSecureContext: true, navigator: { userAgent: 'Firefox' } });
    expect(problem?.code).toBe('UNSUPPORTED_BROWSER');
    expect(problem?.message).toMatch(/Chrome, Edge/);
    expect(problem?.message).toMatch(/virtual board/);
    expect(() => WebUsbTransport.fromBrowser({ isSecureContext: true, navigator: {} })).toThrow(
      /no WebUSB/,
    );
  });

  test('a page with navigator.usb has no problem', () => {
    expect(webUsbProblem({ isSecureContext: true, navigator: { usb: {} } })).toBeUndefined();
  });
});

describe('choosing a board', () => {
  test('the chooser lists our ids, ST ROM and any DFU interface', () => {
    expect(dfuFilters([{ vendorId: 0xcafe, productId: 0x0042 }])).toEqual([
      { vendorId: 0x1209, productId: 0x0001 },
      { vendorId: 0xcafe, productId: 0x0042 },
      { vendorId: 0x0483, productId: 0xdf11 },
      { classCode: 0xfe, subclassCode: 0x01 },
    ]);
  });

  test('closing the chooser is a cancel that says to press Connect again', async () => {
    const board = await boardRunningApp();
    const transport = new WebUsbTransport(
      standIn(board, () => Promise.reject(domError('NotFoundError', 'No device selected.'))),
      { clock: board.clock },
    );
    const error = await rejection(transport.request());
    expect(error.code).toBe('CANCELLED');
    expect(error.message).toMatch(/Connect again/);
  });

  test('a chooser outside a click says to press the button', async () => {
    const board = await boardRunningApp();
    const transport = new WebUsbTransport(
      standIn(board, () =>
        Promise.reject(
          domError(
            'SecurityError',
            'Must be handling a user gesture to show a permission request.',
          ),
        ),
      ),
      { clock: board.clock },
    );
    expect((await rejection(transport.request())).code).toBe('NEEDS_USER_GESTURE');
  });

  test('a running application is summarized with its serial and mode', async () => {
    const board = await boardRunningApp();
    const summary = summarize(board.device!);
    expect(summary).toMatchObject({
      id: '1209:0001',
      serialNumber: board.serialNumber,
      mode: 'runtime',
      kind: 'stm32dfu',
      version: '1.00',
    });
  });
});

describe('opening', () => {
  test('Windows "Access denied" says which programs and tabs to close', async () => {
    const board = await boardRunningApp();
    const device = board.device!;
    const held = Object.create(device, {
      opened: { value: false },
      open: { value: () => Promise.reject(domError('SecurityError', 'Access denied.')) },
    }) as UsbDeviceLike;
    const transport = new WebUsbTransport(standIn(board), { clock: board.clock, os: 'windows' });
    const error = await rejection(transport.open(held));
    expect(error.code).toBe('ACCESS_DENIED');
    expect(error.device).toBe('1209:0001');
    expect(error.message).toMatch(/STM32CubeProgrammer/);
    expect(error.message).toMatch(/browser tab/);
  });

  test('an interface held by a kernel driver on Linux points at lsusb -t', async () => {
    const board = await boardRunningApp();
    // The kernel's driver has the interface: Chromium's claimInterface fails this way.
    const claimed = board.device! as { -readonly [K in keyof UsbDeviceLike]: UsbDeviceLike[K] };
    claimed.claimInterface = () =>
      Promise.reject(domError('NetworkError', 'Unable to claim interface.'));
    const transport = new WebUsbTransport(standIn(board), { clock: board.clock, os: 'linux' });
    const error = await rejection(transport.open(claimed));
    expect(error.code).toBe('BUSY');
    expect(error.message).toMatch(/lsusb -t/);
  });

  test('a running application is detached and the same board opened in the bootloader, no new prompt', async () => {
    const board = await boardRunningApp();
    let prompts = 0;
    const usb = standIn(board, async () => {
      prompts++;
      return board.device!;
    });
    const transport = new WebUsbTransport(usb, { clock: board.clock });
    const chosen = await transport.request();
    let detached = false;
    const dfu = await transport.openBootloader(chosen, { onDetach: () => (detached = true) });
    expect(detached).toBe(true);
    expect(dfu.mode).toBe('dfu');
    expect(dfu.serialNumber).toBe(chosen.serialNumber);
    expect(board.mode).toBe('bootloader');
    expect(prompts).toBe(1);
  });

  test('a board that does not come back names its serial and says what to do', async () => {
    const board = await boardRunningApp();
    const transport = new WebUsbTransport(standIn(board), { clock: board.clock });
    const error = await rejection(
      transport.findAgain(board.serialNumber, { mode: 'dfu', timeoutMs: 1000 }),
    );
    expect(error.code).toBe('NOT_FOUND_AGAIN');
    expect(error.message).toContain(board.serialNumber);
    expect(error.message).toMatch(/plug it in again/);
    // The application is still there to be found in its own mode.
    const again = await transport.findAgain(board.serialNumber, { mode: 'runtime' });
    expect(summarize(again).mode).toBe('runtime');
  });
});
