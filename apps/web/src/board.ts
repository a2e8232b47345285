/**
 * One connected board, real (WebUSB) or virtual (the bootloader's C core in WebAssembly in
 * this page): both reach the protocol through the same `WebUsbTransport`.
 */
import { formatVersion, readStamp, STAMP_MAGIC } from '@stm32dfu/image-tools';
import { type BoardLayout, getLayout } from '@stm32dfu/layout';
import { type DfuDevice, type SecurityRecord, upload } from '@stm32dfu/protocol';
import {
  type BoardSummary,
  summarize,
  type WebUsbLike,
  WebUsbTransport,
} from '@stm32dfu/transport-webusb';
import type { UsbDeviceLike } from '@stm32dfu/usb-device';
import { createVirtualBoard, type VirtualBoard } from '@stm32dfu/virtual-board';
import { readBoardSecurity } from './security.js';
import { loadFlash, loadOtp, saveFlash, saveKeys, saveOtp } from './storage.js';

export const BOARD_ID = 'blackpill-f411';

export interface Connection {
  readonly kind: 'webusb' | 'virtual';
  readonly transport: WebUsbTransport;
  readonly layout: BoardLayout;
  /** The device as last seen; replaced after every re-enumeration. */
  device: UsbDeviceLike;
  readonly virtual?: VirtualBoard;
}

export interface BoardInfo extends BoardSummary {
  /** The stamped application's version, when it could be read, or why not. */
  readonly application: { readonly version?: string; readonly note: string };
  /**
   * The bootloader's security record (GET_SECURITY): `unknown` while an application runs
   * (only the bootloader answers), `none` for a bootloader without one.
   */
  readonly security: SecurityRecord | 'none' | 'unknown';
}

/** `navigator.usb` for the virtual board: the chooser hands out its device. */
export function virtualUsb(board: VirtualBoard): WebUsbLike {
  return {
    getDevices: () => board.usb.getDevices(),
    addEventListener: (t, l) => board.usb.addEventListener(t, l),
    removeEventListener: (t, l) => board.usb.removeEventListener?.(t, l),
    requestDevice: async () => {
      if (!board.device) throw new DOMException('No device selected.', 'NotFoundError');
      return board.device;
    },
  };
}

const toHex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * Start the virtual board with the flash and OTP this browser kept, and wait for it to
 * enumerate. With `keys` it is created locked: it installs only images signed by one of them
 * (its bootloader's own check, in WebAssembly), and refuses rolled-back ones.
 */
export async function startVirtual(keys?: readonly Uint8Array[]): Promise<Connection> {
  const flash = await loadFlash(BOARD_ID);
  const otp = await loadOtp(BOARD_ID);
  const hexKeys = keys?.map(toHex);
  const board = await createVirtualBoard({
    board: BOARD_ID,
    ...(flash ? { flash } : {}),
    ...(otp ? { otp } : {}),
    ...(hexKeys ? { signing: { keys: hexKeys, required: true } } : {}),
  });
  await saveKeys(BOARD_ID, hexKeys);
  for (let i = 0; i < 100 && !board.device; i++) await board.clock.sleep(10);
  const transport = new WebUsbTransport(virtualUsb(board), { clock: board.clock });
  const device = await transport.request();
  return { kind: 'virtual', transport, layout: getLayout(BOARD_ID), device, virtual: board };
}

export async function keepVirtualFlash(connection: Connection): Promise<void> {
  if (!connection.virtual) return;
  await saveFlash(BOARD_ID, connection.virtual.flash);
  await saveOtp(BOARD_ID, connection.virtual.otpImage());
}

/** Ask for a real board with the browser's chooser (from a click). */
export async function connectWebUsb(): Promise<Connection> {
  const transport = WebUsbTransport.fromBrowser();
  const device = await transport.request();
  return { kind: 'webusb', transport, layout: getLayout(BOARD_ID), device };
}

/** The board with the same serial as it is on the bus now (after DETACH or a leave). */
export async function refresh(connection: Connection, timeoutMs = 3000): Promise<UsbDeviceLike> {
  const serial = connection.device.serialNumber;
  if (serial) {
    connection.device = await connection.transport
      .findAgain(serial, {
        timeoutMs,
        exclude: connection.device,
      })
      .catch(() => connection.transport.findAgain(serial, { timeoutMs }));
  }
  return connection.device;
}

/** The security record of a board in its bootloader (opened here unless `dfu` is given). */
async function security(
  connection: Connection,
  mode: BoardSummary['mode'],
  dfu?: DfuDevice,
): Promise<BoardInfo['security']> {
  if (dfu) return (await readBoardSecurity(dfu)) ?? 'none';
  if (mode !== 'dfu') return 'unknown';
  const opened = await connection.transport.open(connection.device);
  try {
    return (await readBoardSecurity(opened)) ?? 'none';
  } finally {
    await opened.release();
  }
}

/**
 * Identity, the installed application (read through the bootloader, or the virtual flash) and
 * the bootloader's security record.
 */
export async function describeBoard(connection: Connection, dfu?: DfuDevice): Promise<BoardInfo> {
  const base = summarize(connection.device);
  const summary = {
    ...base,
    security: await security(connection, base.mode, dfu).catch(() => 'none' as const),
  };
  const region = connection.layout.partitions.application;
  let stampBytes: Uint8Array | undefined;
  if (connection.virtual) {
    stampBytes = connection.virtual.readFlash(region.start + 0x1c, 16);
  } else if (dfu && dfu.mode === 'dfu' && dfu.functional.canUpload) {
    const read = await upload(dfu, [{ address: region.start + 0x1c, length: 16 }]);
    stampBytes = read.segments[0]?.data;
  }
  if (!stampBytes) {
    return {
      ...summary,
      application: {
        note:
          summary.mode === 'runtime'
            ? 'running; its version is read when it enters the bootloader'
            : 'unknown',
      },
    };
  }
  const stamp = readStamp(
    { segments: [{ address: region.start + 0x1c, data: stampBytes }] },
    connection.layout,
  );
  if (stamp.magic !== STAMP_MAGIC) return { ...summary, application: { note: 'none installed' } };
  const version = formatVersion(stamp.version);
  return { ...summary, application: { version, note: `version ${version}` } };
}
