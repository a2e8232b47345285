import type { DfuMode } from '@stm32dfu/protocol';
import { type DfuDeviceInfo, formatDeviceInfo, formatUsbId } from './classify.js';
import { TransportError } from './errors.js';

/** Which device to use; every field given must match. None given: the one device of ours. */
export interface DeviceCriteria {
  readonly vendorId?: number | undefined;
  readonly productId?: number | undefined;
  readonly serialNumber?: string | undefined;
  /** `bus-port.port…` as `dfu-util -p` takes it and `list()` reports it, e.g. "1-1.4". */
  readonly path?: string | undefined;
  readonly mode?: DfuMode | undefined;
}

/**
 * Parse `vvvv:pppp` (hex, as `lsusb` and `dfu-util -d` write it); either half may be empty
 * or `*` to match any. Throws `TypeError` on anything else.
 */
export function parseUsbId(text: string): { vendorId?: number; productId?: number } {
  const match = /^\s*([0-9a-f]{1,4}|\*)?:([0-9a-f]{1,4}|\*)?\s*$/i.exec(text);
  if (!match) {
    throw new TypeError(`"${text}" is not a USB id: write vvvv:pppp in hex, e.g. 1209:0001.`);
  }
  const half = (s: string | undefined) =>
    s === undefined || s === '*' ? undefined : Number.parseInt(s, 16);
  const vendorId = half(match[1]);
  const productId = half(match[2]);
  return {
    ...(vendorId === undefined ? {} : { vendorId }),
    ...(productId === undefined ? {} : { productId }),
  };
}

/** Whether any criterion names a device (mode alone does not). */
export function namesDevice(criteria: DeviceCriteria): boolean {
  return (
    criteria.vendorId !== undefined ||
    criteria.productId !== undefined ||
    criteria.serialNumber !== undefined ||
    criteria.path !== undefined
  );
}

export function matches(info: DfuDeviceInfo, criteria: DeviceCriteria): boolean {
  return (
    (criteria.vendorId === undefined || info.vendorId === criteria.vendorId) &&
    (criteria.productId === undefined || info.productId === criteria.productId) &&
    (criteria.serialNumber === undefined || info.serialNumber === criteria.serialNumber) &&
    (criteria.path === undefined || info.path === criteria.path) &&
    (criteria.mode === undefined || info.mode === criteria.mode)
  );
}

/** "serial 3276… in DFU mode", or "a DFU device of stm32dfu or ST's ROM" when nothing was named. */
export function describeCriteria(criteria: DeviceCriteria): string {
  const parts: string[] = [];
  if (criteria.vendorId !== undefined || criteria.productId !== undefined) {
    const h = (n: number | undefined) => (n === undefined ? '*' : formatUsbId(n, 0).slice(0, 4));
    parts.push(`id ${h(criteria.vendorId)}:${h(criteria.productId)}`);
  }
  if (criteria.serialNumber !== undefined) parts.push(`serial ${criteria.serialNumber}`);
  if (criteria.path !== undefined) parts.push(`path ${criteria.path}`);
  const mode =
    criteria.mode === 'dfu'
      ? ' in DFU mode'
      : criteria.mode === 'runtime'
        ? ' in runtime mode'
        : '';
  if (parts.length === 0) return `an stm32dfu or ST ROM DFU device${mode}`;
  return `a DFU device with ${parts.join(', ')}${mode}`;
}

/** Selection failed: nothing matched (`NO_DEVICE`) or several did (`AMBIGUOUS`). */
export class DeviceSelectionError extends TransportError {
  readonly criteria: DeviceCriteria;
  /** The devices that matched (`AMBIGUOUS`); empty for `NO_DEVICE`. */
  readonly candidates: readonly DfuDeviceInfo[];
  /** Every DFU device that was on the bus. */
  readonly seen: readonly DfuDeviceInfo[];

  constructor(
    code: 'NO_DEVICE' | 'AMBIGUOUS',
    message: string,
    detail: {
      criteria: DeviceCriteria;
      candidates: readonly DfuDeviceInfo[];
      seen: readonly DfuDeviceInfo[];
      advice: string;
    },
  ) {
    super(code, message, { advice: detail.advice });
    this.criteria = detail.criteria;
    this.candidates = detail.candidates;
    this.seen = detail.seen;
  }
}

const lines = (devices: readonly DfuDeviceInfo[]) =>
  devices.map((d) => `\n  ${formatDeviceInfo(d)}`).join('');

/**
 * Pick exactly one device. Without criteria naming one, only stm32dfu's and ST's ROM's
 * devices are candidates; a foreign DFU device is used only when named (id, serial, path).
 * Several candidates is an error listing them, never "the first one".
 */
export function selectDevice(
  devices: readonly DfuDeviceInfo[],
  criteria: DeviceCriteria,
  problems: readonly TransportError[] = [],
): DfuDeviceInfo {
  const named = namesDevice(criteria);
  const found = devices.filter((d) => matches(d, criteria) && (named || !d.foreign));
  const wanted = describeCriteria(criteria);
  if (found.length === 1) return found[0]!;
  if (found.length > 1) {
    throw new DeviceSelectionError(
      'AMBIGUOUS',
      `${found.length} devices match ${wanted}:${lines(found)}\n`,
      {
        criteria,
        candidates: found,
        seen: devices,
        advice:
          'Name one by serial number (-S / serialNumber) or bus path (-p / path), or unplug the others.',
      },
    );
  }
  const advice: string[] = [];
  const unread = devices.filter((d) => d.problem && d.serialNumber === undefined);
  if (unread.length > 0 && named) {
    advice.push(
      `${unread.length} device(s) could not be opened to read their serial numbers: ${unread[0]!.problem!.message}`,
    );
  } else if (problems.length > 0) {
    advice.push(problems[0]!.message);
  }
  const foreign = devices.filter((d) => d.foreign && matches(d, criteria));
  if (!named && foreign.length > 0) {
    advice.push(
      'DFU devices of other vendors are used only when named: select one by id, serial or path if it is the one you mean.',
    );
  }
  if (advice.length === 0) {
    advice.push(
      devices.length === 0
        ? 'Check the cable, that the board is powered and in DFU mode (or running an application with a DFU interface).'
        : 'Check the id, serial or path against the devices listed.',
    );
  }
  const seen =
    devices.length === 0
      ? ' No DFU device is on the bus.'
      : ` DFU devices seen:${lines(devices)}\n`;
  throw new DeviceSelectionError('NO_DEVICE', `No device matches ${wanted}.${seen}`, {
    criteria,
    candidates: [],
    seen: devices,
    advice: advice.join(' '),
  });
}
