import { getLayout } from '@stm32dfu/layout';
import { describe, expect, test } from 'vitest';
import {
  DEVICE_INTERFACE_GUID,
  DescriptorError,
  parseBosDescriptor,
  parseMsOs20DescriptorSet,
  REG_MULTI_SZ,
  type UsbDeviceLike,
} from '../src/index.ts';
import { createVirtualBoard } from '../src/node.ts';
import { makeApplication, waitForDevice } from './dfu-helpers.ts';

const APP_BASE = getLayout('blackpill-f411').partitions.application.start;
const MS_OS_20_PLATFORM_UUID = 'D8DD60DF-4589-4CC7-9CD2-659D9E648A9F';
const WEBUSB_PLATFORM_UUID = '3408B638-09A9-47A0-8BFD-A0768815B665';

async function controlIn(
  device: UsbDeviceLike,
  setup: Parameters<UsbDeviceLike['controlTransferIn']>[0],
  length: number,
): Promise<Uint8Array> {
  const r = await device.controlTransferIn(setup, length);
  if (r.status !== 'ok' || !r.data)
    throw new Error(`request ${JSON.stringify(setup)}: ${r.status}`);
  return new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength);
}

/**
 * What Windows does with a device announcing bcdUSB 2.01: read the BOS header, then the
 * whole BOS, find the MS OS 2.0 platform capability, and ask for the descriptor set with
 * its bMS_VendorCode, wIndex 7 and wLength = wMSOSDescriptorSetTotalLength.
 */
async function readAsWindows(device: UsbDeviceLike) {
  await device.open();
  const getBos = (length: number) =>
    controlIn(
      device,
      { requestType: 'standard', recipient: 'device', request: 6, value: 0x0f00, index: 0 },
      length,
    );
  const header = await getBos(5);
  const bosBytes = await getBos(header[2]! | (header[3]! << 8));
  const bos = parseBosDescriptor(bosBytes);
  const ms = bos.platformCapabilities.find((c) => c.uuid === MS_OS_20_PLATFORM_UUID);
  if (!ms) throw new Error('no MS OS 2.0 platform capability');
  // After the UUID: dwWindowsVersion, wMSOSDescriptorSetTotalLength, bMS_VendorCode, bAltEnumCode.
  const announced = ms.data[4]! | (ms.data[5]! << 8);
  const vendorCode = ms.data[6]!;
  const setBytes = await controlIn(
    device,
    { requestType: 'vendor', recipient: 'device', request: vendorCode, value: 0, index: 7 },
    announced,
  );
  // A longer wLength must not bring more: the set is exactly what the BOS announced.
  const longer = await controlIn(
    device,
    { requestType: 'vendor', recipient: 'device', request: vendorCode, value: 0, index: 7 },
    1024,
  );
  return { bos, ms, announced, setBytes, longer, set: parseMsOs20DescriptorSet(setBytes) };
}

function expectOurSet(found: Awaited<ReturnType<typeof readAsWindows>>) {
  expect(found.bos.totalLength).toBe(57);
  expect(found.bos.platformCapabilities.map((c) => c.uuid)).toEqual([
    WEBUSB_PLATFORM_UUID,
    MS_OS_20_PLATFORM_UUID,
  ]);
  // wMSOSDescriptorSetTotalLength = set wTotalLength = bytes sent = 10 + 20 + 132.
  expect(found.announced).toBe(162);
  expect(found.set.totalLength).toBe(162);
  expect(found.setBytes).toHaveLength(162);
  expect(found.longer).toEqual(found.setBytes);
  expect(found.ms.data[7]).toBe(0); // bAltEnumCode
  expect(found.set.windowsVersion).toBe(0x06030000);
  expect(found.set.subsetHeaders).toBe(0); // not composite: features apply to the device
  expect(found.set.compatibleIds).toEqual([{ compatibleId: 'WINUSB', subCompatibleId: '' }]);
  expect(found.set.registryProperties).toHaveLength(1);
  const property = found.set.registryProperties[0]!;
  expect(property.name).toBe('DeviceInterfaceGUIDs');
  expect(property.dataType).toBe(REG_MULTI_SZ);
  expect(property.strings).toEqual([DEVICE_INTERFACE_GUID]);
  expect(property.strings![0]).toMatch(
    /^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$/,
  );
  // The raw fields, as Windows reads them: lengths in bytes of UTF-16LE, NULs included.
  const at = property.offset;
  const b = found.setBytes;
  const u16 = (i: number) => b[i]! | (b[i + 1]! << 8);
  expect(u16(at)).toBe(132); // wLength
  expect(u16(at + 2)).toBe(4); // MS_OS_20_FEATURE_REG_PROPERTY
  expect(u16(at + 4)).toBe(7); // REG_MULTI_SZ
  expect(u16(at + 6)).toBe(42); // "DeviceInterfaceGUIDs" + NUL
  expect(u16(at + 8 + 42)).toBe(80); // 38 characters + NUL + the list's NUL
  expect(Buffer.from(b.subarray(at + 8, at + 8 + 42)).toString('utf16le')).toBe(
    'DeviceInterfaceGUIDs\0',
  );
  expect(Buffer.from(b.subarray(at + 52, at + 52 + 80)).toString('utf16le')).toBe(
    `${DEVICE_INTERFACE_GUID}\0\0`,
  );
  expect(at + 132).toBe(162); // the last descriptor ends at wTotalLength
}

describe('BOS and MS OS 2.0 descriptor set, read as Windows reads them', () => {
  test('the bootloader (the C core) gives WinUSB and DeviceInterfaceGUIDs with our GUID', async () => {
    const board = await createVirtualBoard();
    expect(board.mode).toBe('bootloader');
    expectOurSet(await readAsWindows(await waitForDevice(board)));
  });

  test('the example application gives the same set', async () => {
    const board = await createVirtualBoard({ powered: false });
    board.writeFlash(APP_BASE, makeApplication(4096));
    board.power(true);
    expect(board.mode).toBe('application');
    const found = await readAsWindows(await waitForDevice(board));
    expectOurSet(found);
    const bootloader = await createVirtualBoard();
    const fromBootloader = await readAsWindows(await waitForDevice(bootloader));
    expect(found.setBytes).toEqual(fromBootloader.setBytes);
  });
});

describe('parseMsOs20DescriptorSet refuses what Windows would not read', () => {
  const u16 = (n: number) => [n & 0xff, n >> 8];
  const utf16 = (s: string) => Array.from(Buffer.from(s, 'utf16le'));
  const property = (name: string, data: number[], lengthDelta = 0) => {
    const n = utf16(name);
    return [
      ...u16(10 + n.length + data.length + lengthDelta),
      ...u16(4),
      ...u16(7),
      ...u16(n.length),
      ...n,
      ...u16(data.length),
      ...data,
    ];
  };
  const set = (features: number[], totalDelta = 0) =>
    Uint8Array.from([
      ...u16(10),
      ...u16(0),
      0,
      0,
      3,
      6,
      ...u16(10 + features.length + totalDelta),
      ...features,
    ]);
  const guid = utf16(`${DEVICE_INTERFACE_GUID}\0\0`);
  const name = 'DeviceInterfaceGUIDs\0';

  test('a well-formed set parses', () => {
    expect(parseMsOs20DescriptorSet(set(property(name, guid))).registryProperties).toMatchObject([
      { name: 'DeviceInterfaceGUIDs', strings: [DEVICE_INTERFACE_GUID] },
    ]);
  });

  test.each([
    ['wTotalLength larger than the bytes sent', set(property(name, guid), 2), /wTotalLength/],
    ['wTotalLength smaller than the bytes sent', set(property(name, guid), -2), /wTotalLength/],
    ['a property wLength that does not add up', set(property(name, guid, 2)), /wLength/],
    ['REG_MULTI_SZ with a single NUL', set(property(name, guid.slice(0, -2))), /one more NUL/],
    ['a name without its NUL', set(property('DeviceInterfaceGUIDs', guid)), /NUL-terminated/],
  ])('%s', (_what, bytes, message) => {
    expect(() => parseMsOs20DescriptorSet(bytes)).toThrow(DescriptorError);
    expect(() => parseMsOs20DescriptorSet(bytes)).toThrow(message);
  });
});
