/**
 * Strategies: how a rig brings its board into a state (ST's ROM bootloader, our bootloader,
 * the application). Each ends by waiting for the USB identity of that state under a
 * deadline, and a board that does not show it is an error that says what was on the bus.
 */
import {
  DfuDevice,
  detach,
  hasDfuModeInterface,
  hasRuntimeInterface,
  type UsbDeviceLike,
} from '@stm32dfu/protocol';
import { HilError } from './errors.js';
import type { Rig } from './rig.js';

export type BoardState = 'rom' | 'bootloader' | 'application';

/** ST's ROM bootloader, whatever the chip (AN3156). */
export const ST_ROM_ID = { vendorId: 0x0483, productId: 0xdf11 } as const;

/** What a device on the bus is, for this rig's board; undefined when it is another device. */
export function identify(rig: Rig, device: UsbDeviceLike): BoardState | undefined {
  if (device.vendorId === ST_ROM_ID.vendorId && device.productId === ST_ROM_ID.productId)
    return 'rom';
  if (device.serialNumber !== rig.serialNumber) return undefined;
  const ids = rig.layout.board.usbIdentity;
  if (device.vendorId !== ids.vendorId || device.productId !== ids.productId) return undefined;
  if (hasDfuModeInterface(device)) return 'bootloader';
  if (hasRuntimeInterface(device)) return 'application';
  return undefined;
}

function describe(device: UsbDeviceLike): string {
  const id = `${device.vendorId.toString(16).padStart(4, '0')}:${device.productId.toString(16).padStart(4, '0')}`;
  const kind = hasDfuModeInterface(device)
    ? 'DFU mode'
    : hasRuntimeInterface(device)
      ? 'DFU runtime'
      : 'no DFU interface';
  return `${id} "${device.productName ?? '?'}" serial ${device.serialNumber ?? '(none)'} (${kind})`;
}

const NAMES: Record<BoardState, string> = {
  rom: "ST's ROM bootloader (0483:df11)",
  bootloader: 'our bootloader (DFU mode)',
  application: 'the application (DFU runtime)',
};

/** Wait until the rig's board shows `state` on USB; the deadline error lists what was seen. */
export async function waitForState(
  rig: Rig,
  state: BoardState,
  timeoutMs = rig.config.timings.enumerateTimeoutMs,
): Promise<UsbDeviceLike> {
  const until = rig.clock.now() + timeoutMs;
  let seen: readonly UsbDeviceLike[] = [];
  for (;;) {
    seen = await rig.usb.getDevices();
    const found = seen.find((d) => identify(rig, d) === state);
    if (found) return found;
    if (rig.clock.now() >= until) break;
    await rig.clock.sleep(20);
  }
  const ours = seen.filter((d) => identify(rig, d) !== undefined);
  const saw =
    ours.length > 0
      ? `it is ${ours.map((d) => `${NAMES[identify(rig, d)!]}: ${describe(d)}`).join('; ')}`
      : seen.length > 0
        ? `the bus had only other devices: ${seen.map(describe).join('; ')}`
        : 'nothing was on the bus';
  throw new HilError(
    'WRONG_STATE',
    `Rig ${rig.name}: waited ${timeoutMs} ms for board ${rig.serialNumber} in ${NAMES[state]}, but ${saw}. ` +
      'Check the relay wiring (BOOT0, NRST) and the USB cable; docs/hil.md has the wiring.',
  );
}

/** The state the board is in now, if it is on the bus. */
export async function currentState(rig: Rig): Promise<BoardState | undefined> {
  for (const d of await rig.usb.getDevices()) {
    const s = identify(rig, d);
    if (s) return s;
  }
  return undefined;
}

/**
 * The state the board comes up in after a power cycle or reset: whatever shows on the bus
 * within the rig's enumeration timeout, undefined when nothing does.
 */
export async function stateAfterStart(rig: Rig): Promise<BoardState | undefined> {
  const deadline = rig.clock.now() + rig.config.timings.enumerateTimeoutMs;
  let state = await currentState(rig);
  while (state === undefined && rig.clock.now() < deadline) {
    await rig.clock.sleep(20);
    state = await currentState(rig);
  }
  return state;
}

/** ST's ROM bootloader: BOOT0 high through a reset, then BOOT0 low again (it is read at reset). */
export async function enterRom(rig: Rig): Promise<DfuDevice> {
  await rig.setBoot0(true);
  await rig.pulseReset();
  try {
    const device = await waitForState(rig, 'rom');
    return await DfuDevice.open(device, { clock: rig.clock });
  } finally {
    await rig.setBoot0(false);
  }
}

/**
 * Our bootloader: DETACH from a running application (found again by serial), or a reset
 * when there is no application to start.
 */
export async function enterBootloader(rig: Rig): Promise<DfuDevice> {
  let state = await currentState(rig);
  if (state === 'rom' || state === undefined) {
    await rig.setBoot0(false);
    await rig.pulseReset();
    await rig.clock.sleep(rig.config.timings.settleMs);
    state = await currentState(rig);
  }
  if (state === 'application') {
    const runtime = await DfuDevice.open(await waitForState(rig, 'application'), {
      clock: rig.clock,
    });
    return detach(runtime, { usb: rig.usb, timeoutMs: rig.config.timings.enumerateTimeoutMs });
  }
  return DfuDevice.open(await waitForState(rig, 'bootloader'), { clock: rig.clock });
}

/** The application: BOOT0 low and a reset; the bootloader starts a good application. */
export async function bootApplication(rig: Rig): Promise<UsbDeviceLike> {
  await rig.setBoot0(false);
  await rig.pulseReset();
  return waitForState(rig, 'application');
}
