/**
 * One connected board, real (WebUSB) or virtual (the bootloader's C core in WebAssembly in
 * this page): both reach the protocol through the same `WebUsbTransport`.
 */
import { formatVersion, readStamp, STAMP_MAGIC } from '@stm32dfu/image-tools';
import { type BoardLayout, getLayout } from '@stm32dfu/layout';
import { type DfuDevice, upload } from '@stm32dfu/protocol';
import {
  type BoardSummary,
  summarize,
  type WebUsbLike,
  WebUsbTransport,
} from '@stm32dfu/transport-webusb';
import type { UsbDeviceLike } from '@stm32dfu/usb-device';
import { createVirtualBoard, type VirtualBoard } from '@stm32dfu/virtual-board';
import { loadFlash, saveFlash } from './storage.js';

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

/** Start the virtual board with the flash this browser kept, and wait for it to enumerate. */
export async function startVirtual(): Promise<Connection> {
  const flash = await loadFlash(BOARD_ID);
  const board = await createVirtualBoard({ board: BOARD_ID, ...(flash ? { flash } : {}) });
  for (let i = 0; i < 100 && !board.device; i++) await board.clock.sleep(10);
  const transport = new WebUsbTransport(virtualUsb(board), { clock: board.clock });
  const device = await transport.request();
  return { kind: 'virtual', transport, layout: getLayout(BOARD_ID), device, virtual: board };
}

export async function keepVirtualFlash(connection: Connection): Promise<void> {
  if (connection.virtual) await saveFlash(BOARD_ID, connection.virtual.flash);
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

/** Identity and the installed application: read through the bootloader, or the virtual flash. */
export async function describeBoard(connection: Connection, dfu?: DfuDevice): Promise<BoardInfo> {
  const summary = summarize(connection.device);
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
