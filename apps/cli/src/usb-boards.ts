/**
 * Real boards over USB, through @stm32dfu/transport-node (node-usb): selection by
 * --device VID:PID, --serial (repeatable), --path, --all; --wait for a board to appear.
 * Loaded only by commands that touch USB, so `stm32dfu --help` never loads node-usb.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { realClock } from '@stm32dfu/protocol';
import {
  type DeviceCriteria,
  type DfuDeviceInfo,
  formatDeviceInfo,
  type NodeUsbModule,
  NodeUsbTransport,
  parseUsbId,
  TransportError,
} from '@stm32dfu/transport-node';
import { type BoardHandle, listOf, type SelectionOptions } from './boards.js';
import { CliError, EXIT, type ExitStatus } from './errors.js';
import type { Output } from './output.js';

function criteriaOf(options: SelectionOptions): DeviceCriteria {
  let ids: { vendorId?: number; productId?: number } = {};
  if (options.device !== undefined) {
    try {
      ids = parseUsbId(String(options.device));
    } catch (error) {
      throw new CliError('USAGE', `--device: ${(error as Error).message}`, EXIT.USAGE);
    }
  }
  return { ...ids, ...(options.path !== undefined ? { path: String(options.path) } : {}) };
}

function waitMs(options: SelectionOptions): number {
  if (options.wait === undefined || options.wait === false) return 0;
  if (options.wait === true || String(options.wait) === '') return 10_000;
  const seconds = Number(options.wait);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new CliError(
      'USAGE',
      `--wait "${options.wait}": give seconds, e.g. --wait 30.`,
      EXIT.USAGE,
    );
  }
  return seconds * 1000;
}

/**
 * STM32DFU_USB_MODULE names a module whose default export stands in for node-usb (a
 * `NodeUsbModule`): a recorded or simulated bus for tests and demonstrations.
 */
function usbModuleOverride(): { usb: () => Promise<NodeUsbModule> } | undefined {
  const path = process.env.STM32DFU_USB_MODULE;
  if (!path) return undefined;
  return {
    usb: async () => (await import(pathToFileURL(resolve(path)).href)).default as NodeUsbModule,
  };
}

export function transportFor(output: Output): NodeUsbTransport {
  return new NodeUsbTransport({
    ...usbModuleOverride(),
    onKernelDriverDetached: (device, n) =>
      output.info(`${device}: detached the kernel driver from interface ${n}`),
  });
}

function labelOf(info: DfuDeviceInfo): string {
  return `usb:${info.serialNumber ?? info.path}`;
}

/** Retry `pick` while it finds no device, until `--wait` runs out. */
async function waitFor<T>(
  options: SelectionOptions,
  output: Output,
  pick: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + waitMs(options);
  let told = false;
  for (;;) {
    try {
      return await pick();
    } catch (error) {
      if (
        !(error instanceof TransportError) ||
        error.code !== 'NO_DEVICE' ||
        Date.now() >= deadline
      )
        throw error;
      if (!told) output.info('waiting for a board to appear…');
      told = true;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

export async function openUsbBoards(
  options: SelectionOptions,
  output: Output,
): Promise<BoardHandle[]> {
  const transport = transportFor(output);
  const criteria = criteriaOf(options);
  const serials = listOf(options.serial);
  const infos = await waitFor(options, output, async () => {
    if (serials.length > 0) {
      const picked: DfuDeviceInfo[] = [];
      for (const serialNumber of serials)
        picked.push(await transport.select({ ...criteria, serialNumber }));
      return picked;
    }
    if (options.all) {
      const { devices } = await transport.list();
      const matching = devices.filter(
        (d) =>
          !d.foreign &&
          (criteria.vendorId === undefined || d.vendorId === criteria.vendorId) &&
          (criteria.productId === undefined || d.productId === criteria.productId) &&
          (criteria.path === undefined || d.path === criteria.path),
      );
      if (matching.length === 0) return [await transport.select(criteria)]; // says what was seen
      return matching;
    }
    return [await transport.select(criteria)];
  });
  return infos.map((info) => ({
    label: labelOf(info),
    usb: transport.usb,
    clock: realClock,
    device: () => transport.device(info),
    close: async () => {},
  }));
}

export async function listUsb(options: SelectionOptions, output: Output): Promise<ExitStatus> {
  const transport = transportFor(output);
  const criteria = criteriaOf(options);
  const serials = listOf(options.serial);
  const listing = await transport.list();
  const devices = listing.devices.filter(
    (d) =>
      (criteria.vendorId === undefined || d.vendorId === criteria.vendorId) &&
      (criteria.productId === undefined || d.productId === criteria.productId) &&
      (criteria.path === undefined || d.path === criteria.path) &&
      (serials.length === 0 || (d.serialNumber !== undefined && serials.includes(d.serialNumber))),
  );
  for (const problem of listing.diagnostics) output.warn(problem.message);
  output.result(
    {
      command: 'list',
      ok: true,
      exitStatus: EXIT.OK,
      devices: devices.map((d) => ({
        board: labelOf(d),
        vendorId: d.vendorId,
        productId: d.productId,
        serialNumber: d.serialNumber ?? null,
        path: d.path,
        mode: d.mode === 'dfu' ? 'bootloader' : 'application',
        kind: d.kind,
        foreign: d.foreign,
        version: d.version,
        alternates: d.alternates.map((a) => ({
          alternate: a.alternateSetting,
          name: a.name ?? null,
        })),
      })),
      diagnostics: listing.diagnostics.map((e) => ({ code: e.code, message: e.message })),
    },
    () =>
      devices.length === 0
        ? 'No DFU-capable USB device found. Plug a board in (stm32dfu doctor checks this machine), or try --sim board.sim.'
        : devices.map((d) => formatDeviceInfo(d)).join('\n'),
  );
  return EXIT.OK;
}
