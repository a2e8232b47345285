import {
  DFU_ABORT,
  DFU_CLRSTATUS,
  DFU_DETACH,
  DFU_DNLOAD,
  DFU_GETSTATE,
  DFU_GETSTATUS,
  DFU_STATE_NAMES,
  DFU_UPLOAD,
  DFUSE_ERASE,
  DFUSE_SET_ADDRESS_POINTER,
  DFUSE_VERSION,
  type DfuStateName,
  dfuDNBUSY,
  dfuDNLOAD_IDLE,
} from '../constants.js';
import type { Clock, UsbConfigurationLike, UsbControlSetup } from '../device.js';
import { ScriptedDevice, type ScriptReply, type ScriptStep } from './scripted-device.js';

/** A DFU interface to describe: one alt setting per name. */
export interface DfuInterfaceSpec {
  readonly interfaceNumber?: number;
  /** 1 = runtime (in the application), 2 = DFU mode. */
  readonly protocol?: 1 | 2;
  readonly alternates: readonly string[];
  readonly bmAttributes?: number;
  readonly detachTimeoutMs?: number;
  readonly transferSize?: number;
  readonly dfuVersion?: number;
}

const defaults = (spec: DfuInterfaceSpec) => ({
  interfaceNumber: spec.interfaceNumber ?? 0,
  protocol: spec.protocol ?? 2,
  bmAttributes: spec.bmAttributes ?? 0x0b,
  detachTimeoutMs: spec.detachTimeoutMs ?? 255,
  transferSize: spec.transferSize ?? 2048,
  dfuVersion: spec.dfuVersion ?? DFUSE_VERSION,
});

/** The configuration descriptor such a device sends (USB 2.0 §9.6.3, DFU 1.1 §4.2). */
export function dfuConfigurationDescriptor(spec: DfuInterfaceSpec): Uint8Array {
  const d = defaults(spec);
  const bytes: number[] = [9, 2, 0, 0, 1, 1, 0, 0x80, 50];
  spec.alternates.forEach((_, alt) => {
    bytes.push(9, 4, d.interfaceNumber, alt, 0, 0xfe, 0x01, d.protocol, 4 + alt);
  });
  bytes.push(
    9,
    0x21,
    d.bmAttributes,
    d.detachTimeoutMs & 0xff,
    d.detachTimeoutMs >> 8,
    d.transferSize & 0xff,
    d.transferSize >> 8,
    d.dfuVersion & 0xff,
    d.dfuVersion >> 8,
  );
  bytes[2] = bytes.length & 0xff;
  bytes[3] = bytes.length >> 8;
  return Uint8Array.from(bytes);
}

/** The WebUSB view of the same configuration (names come from the browser or node-usb). */
export function webUsbConfiguration(spec: DfuInterfaceSpec): UsbConfigurationLike {
  const d = defaults(spec);
  const alternates = spec.alternates.map((name, alt) => ({
    alternateSetting: alt,
    interfaceClass: 0xfe,
    interfaceSubclass: 0x01,
    interfaceProtocol: d.protocol,
    interfaceName: name,
    endpoints: [],
  }));
  return {
    configurationValue: 1,
    configurationName: null,
    interfaces: [
      {
        interfaceNumber: d.interfaceNumber,
        claimed: false,
        alternate: alternates[0] ?? null,
        alternates,
      },
    ],
  };
}

/** A scripted device whose descriptors describe `spec`; script its requests with `dfu.*`. */
export function scriptedDfuDevice(
  spec: DfuInterfaceSpec & {
    readonly serialNumber?: string;
    readonly clock?: Clock;
    readonly vendorId?: number;
    readonly productId?: number;
  },
): ScriptedDevice {
  return new ScriptedDevice({
    configurations: [webUsbConfiguration(spec)],
    serialNumber: spec.serialNumber ?? 'TEST0001',
    ...(spec.clock ? { clock: spec.clock } : {}),
    ...(spec.vendorId === undefined ? {} : { vendorId: spec.vendorId }),
    ...(spec.productId === undefined ? {} : { productId: spec.productId }),
  });
}

function u32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

function classSetup(request: number, value: number, index: number): UsbControlSetup {
  return { requestType: 'class', recipient: 'interface', request, value, index };
}

const OK_REPLY: ScriptReply = { type: 'ok' };

/**
 * The fields of a scripted GETSTATUS reply besides the state: bStatus, bwPollTimeout (ms) and
 * iString, all 0 by default.
 */
export interface StatusReply {
  readonly status?: number;
  readonly pollTimeout?: number;
  readonly iString?: number;
}

/** The 6 bytes of a GETSTATUS reply. */
export function statusBytes(state: DfuStateName | number, reply: StatusReply = {}): Uint8Array {
  const s = typeof state === 'number' ? state : DFU_STATE_NAMES.indexOf(state);
  const poll = reply.pollTimeout ?? 0;
  return Uint8Array.of(
    reply.status ?? 0,
    poll & 0xff,
    (poll >> 8) & 0xff,
    (poll >> 16) & 0xff,
    s,
    reply.iString ?? 0,
  );
}

/** Builders for the steps of a DFU/DfuSe exchange on interface `intf` (default 0). */
export const dfu = {
  /** A GETSTATUS the device answers with `state` and the `reply` fields. */
  getStatus(state: DfuStateName | number, reply: StatusReply = {}, intf = 0): ScriptStep {
    return {
      kind: 'in',
      setup: classSetup(DFU_GETSTATUS, 0, intf),
      length: 6,
      reply: { type: 'data', data: statusBytes(state, reply) },
    };
  },
  /** A GETSTATUS answered with something other than a status (stall, timeout, gone, short data). */
  getStatusReply(reply: ScriptReply, intf = 0): ScriptStep {
    return { kind: 'in', setup: classSetup(DFU_GETSTATUS, 0, intf), length: 6, reply };
  },
  /** A GETSTATE the device answers with `state`. */
  getState(state: DfuStateName | number, intf = 0): ScriptStep {
    const s = typeof state === 'number' ? state : DFU_STATE_NAMES.indexOf(state);
    return {
      kind: 'in',
      setup: classSetup(DFU_GETSTATE, 0, intf),
      length: 1,
      reply: { type: 'data', data: Uint8Array.of(s) },
    };
  },
  /** A CLRSTATUS, accepted unless `reply` says otherwise. */
  clrStatus(reply: ScriptReply = OK_REPLY, intf = 0): ScriptStep {
    return { kind: 'out', setup: classSetup(DFU_CLRSTATUS, 0, intf), reply };
  },
  /** An ABORT, accepted unless `reply` says otherwise. */
  abort(reply: ScriptReply = OK_REPLY, intf = 0): ScriptStep {
    return { kind: 'out', setup: classSetup(DFU_ABORT, 0, intf), reply };
  },
  /** A DETACH with wTimeout `timeoutMs`, accepted unless `reply` says otherwise. */
  detach(timeoutMs: number, reply: ScriptReply = OK_REPLY, intf = 0): ScriptStep {
    return { kind: 'out', setup: classSetup(DFU_DETACH, timeoutMs, intf), reply };
  },
  /**
   * A DNLOAD of `block` carrying exactly `data` (none: zero-length), accepted unless `reply` says
   * otherwise.
   */
  dnload(
    block: number,
    data: Uint8Array | undefined,
    reply: ScriptReply = OK_REPLY,
    intf = 0,
  ): ScriptStep {
    return {
      kind: 'out',
      setup: classSetup(DFU_DNLOAD, block, intf),
      ...(data ? { data } : {}),
      reply,
    };
  },
  /** An UPLOAD of `block` asking for `length` bytes, answered with `reply`. */
  upload(block: number, length: number, reply: ScriptReply, intf = 0): ScriptStep {
    return { kind: 'in', setup: classSetup(DFU_UPLOAD, block, intf), length, reply };
  },
  /** A USB reset of the device (`reset()`), completing unless `reply` says otherwise. */
  reset(reply?: ScriptReply): ScriptStep {
    return reply ? { kind: 'reset', reply } : { kind: 'reset' };
  },
  /** GET_DESCRIPTOR(configuration): the 9-byte header, then the whole descriptor. */
  readDescriptor(descriptor: Uint8Array): ScriptStep[] {
    const setup: UsbControlSetup = {
      requestType: 'standard',
      recipient: 'device',
      request: 6,
      value: 0x0200,
      index: 0,
    };
    return [
      { kind: 'in', setup, length: 9, reply: { type: 'data', data: descriptor.slice(0, 9) } },
      { kind: 'in', setup, length: descriptor.length, reply: { type: 'data', data: descriptor } },
    ];
  },
  /** A DfuSe command (DNLOAD block 0) that the device executes: busy for `pollTimeout`, then idle. */
  command(bytes: readonly number[], pollTimeout = 0, intf = 0): ScriptStep[] {
    return [
      dfu.dnload(0, Uint8Array.from(bytes), OK_REPLY, intf),
      dfu.getStatus(dfuDNBUSY, { pollTimeout }, intf),
      dfu.getStatus(dfuDNLOAD_IDLE, {}, intf),
    ];
  },
  /** A DfuSe Set Address Pointer to `address` that the device executes. */
  setAddress(address: number, pollTimeout = 0): ScriptStep[] {
    return dfu.command([DFUSE_SET_ADDRESS_POINTER, ...u32(address)], pollTimeout);
  },
  /**
   * A DfuSe Erase of the sector at `address` that the device executes, busy for `pollTimeout` ms.
   */
  erase(address: number, pollTimeout = 0): ScriptStep[] {
    return dfu.command([DFUSE_ERASE, ...u32(address)], pollTimeout);
  },
  /** A data block (DNLOAD block ≥ 2) the device programs. */
  block(block: number, data: Uint8Array, pollTimeout = 0): ScriptStep[] {
    return [
      dfu.dnload(block, data),
      dfu.getStatus(dfuDNBUSY, { pollTimeout }),
      dfu.getStatus(dfuDNLOAD_IDLE),
    ];
  },
  /** What `DfuDevice.open` sends to a DFU-mode device: descriptor, recovery to dfuIDLE, Get Commands. */
  open(
    spec: DfuInterfaceSpec,
    commands: readonly number[] | undefined = [0x00, 0x21, 0x41, 0x92],
  ): ScriptStep[] {
    const d = defaults(spec);
    const steps = [...dfu.readDescriptor(dfuConfigurationDescriptor(spec))];
    if (d.protocol === 1) return steps;
    steps.push(dfu.getStatus('dfuIDLE'));
    if (d.dfuVersion === DFUSE_VERSION && commands) {
      steps.push(
        dfu.upload(0, Math.min(d.transferSize, 64), {
          type: 'data',
          data: Uint8Array.from(commands),
        }),
        dfu.abort(),
      );
    }
    return steps;
  },
};
