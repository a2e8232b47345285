import { describe, expect, it } from 'vitest';
import {
  AbortError,
  AddressError,
  DeviceGoneError,
  DfuDevice,
  DfuStatusError,
  detach,
  download,
  downloadPlain,
  errADDRESS,
  errVERIFY,
  type ProgressEvent,
  ProtocolError,
  StallError,
  TimeoutError,
  upload,
  uploadPlain,
  VerifyError,
} from '../src/index.ts';
import {
  dfu,
  dfuConfigurationDescriptor,
  ManualClock,
  type ScriptStep,
  scriptedDfuDevice,
} from '../src/testing/index.ts';
import { APP_BASE, crcSteps, OUR_COMMANDS, OUR_LAYOUT, ourSpec, sectorCrc } from './helpers.ts';

const IMAGE_BYTES = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
const IMAGE = { segments: [{ address: APP_BASE, data: IMAGE_BYTES }] };

async function openScripted(
  steps: ScriptStep[],
  spec = ourSpec,
  commands: number[] | undefined = OUR_COMMANDS,
) {
  const clock = new ManualClock();
  const usb = scriptedDfuDevice({ ...spec, clock });
  usb.expect(...dfu.open(spec, commands));
  const device = await DfuDevice.open(usb, { clock });
  usb.expect(...steps);
  return { usb, device, clock };
}

/** The whole exchange for flashing IMAGE onto a device whose sector differs. */
const phases = {
  start: [dfu.getStatus('dfuIDLE')],
  read: [dfu.getStatus('dfuIDLE'), ...crcSteps(APP_BASE, 16384, 0x12345678)],
  erase: dfu.erase(APP_BASE, 250),
  write: [...dfu.setAddress(APP_BASE), ...dfu.block(2, IMAGE_BYTES, 1)],
  verify: [
    dfu.getStatus('dfuDNLOAD-IDLE'),
    dfu.abort(),
    dfu.getStatus('dfuIDLE'),
    ...crcSteps(APP_BASE, 16384, sectorCrc(IMAGE_BYTES, 16384)),
  ],
};
const fullDownload = [
  ...phases.start,
  ...phases.read,
  ...phases.erase,
  ...phases.write,
  ...phases.verify,
];

describe('discovery', () => {
  it('reads interfaces, the functional descriptor, the DfuSe layout and Get Commands', async () => {
    const { usb, device } = await openScripted([]);
    expect(device.mode).toBe('dfu');
    expect(device.dfuse).toBe(true);
    expect(device.functional).toMatchObject({
      canDownload: true,
      canUpload: true,
      manifestationTolerant: false,
      willDetach: true,
      transferSize: 2048,
      dfuVersion: 0x011a,
    });
    expect(device.alternate.name).toBe(OUR_LAYOUT);
    expect(device.layout.name).toBe('Internal Flash');
    expect(device.layout.sectors.filter((s) => s.writable).map((s) => s.start)[0]).toBe(APP_BASE);
    expect(device.commands).toEqual(OUR_COMMANDS);
    expect(device.hasCrcCommand).toBe(true);
    expect(usb.log.map((e) => e.description)).toContain('selectAlternateInterface(0, 0)');
    usb.assertDone();
  });

  it('recognises a runtime interface (application) and sends no DFU-mode request', async () => {
    const spec = {
      alternates: ['stm32dfu runtime'],
      protocol: 1 as const,
      bmAttributes: 0x0f,
      detachTimeoutMs: 1000,
    };
    const clock = new ManualClock();
    const usb = scriptedDfuDevice({ ...spec, clock });
    usb.expect(...dfu.open(spec));
    const device = await DfuDevice.open(usb, { clock });
    expect(device.mode).toBe('runtime');
    expect(device.alternate.layout).toBeUndefined();
    expect(device.functional.detachTimeoutMs).toBe(1000);
    usb.assertDone();
  });

  it('recovers from dfuERROR with CLRSTATUS and from dfuDNLOAD-IDLE with ABORT when opening', async () => {
    const clock = new ManualClock();
    const usb = scriptedDfuDevice({ ...ourSpec, clock });
    usb.expect(
      ...dfu.readDescriptor(dfuConfigurationDescriptor(ourSpec)),
      dfu.getStatus('dfuERROR', { status: errADDRESS }),
      dfu.clrStatus(),
      dfu.getStatus('dfuDNLOAD-IDLE'),
      dfu.abort(),
      dfu.getStatus('dfuIDLE'),
      dfu.upload(0, 64, { type: 'data', data: Uint8Array.from(OUR_COMMANDS) }),
      dfu.abort(),
    );
    await DfuDevice.open(usb, { clock });
    usb.assertDone();
  });

  it('waits out a long erase left running by an interrupted run, polling as often as bwPollTimeout says', async () => {
    // ST's ROM reports a fixed, short bwPollTimeout while a 128 kB sector erases (~1 s typ).
    const clock = new ManualClock();
    const usb = scriptedDfuDevice({ ...ourSpec, clock });
    const busyPolls = Array.from({ length: 12 }, () =>
      dfu.getStatus('dfuDNBUSY', { pollTimeout: 100 }),
    );
    usb.expect(
      ...dfu.readDescriptor(dfuConfigurationDescriptor(ourSpec)),
      ...busyPolls,
      dfu.getStatus('dfuDNLOAD-IDLE'),
      dfu.abort(),
      dfu.getStatus('dfuIDLE'),
      dfu.upload(0, 64, { type: 'data', data: Uint8Array.from(OUR_COMMANDS) }),
      dfu.abort(),
    );
    const device = await DfuDevice.open(usb, { clock });
    expect(device.mode).toBe('dfu');
    expect(clock.now()).toBe(1200);
    usb.assertDone();
  });

  it('gives up on a device that stays busy past busyTimeoutMs with TimeoutError naming that deadline', async () => {
    const clock = new ManualClock();
    const usb = scriptedDfuDevice({ ...ourSpec, clock });
    usb.expect(
      ...dfu.readDescriptor(dfuConfigurationDescriptor(ourSpec)),
      ...Array.from({ length: 30 }, () => dfu.getStatus('dfuDNBUSY', { pollTimeout: 100 })),
    );
    const error = (await DfuDevice.open(usb, { clock, busyTimeoutMs: 1000 }).catch(
      (e: unknown) => e,
    )) as TimeoutError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.deadlineMs).toBe(1000);
    expect(clock.now()).toBeGreaterThanOrEqual(1000);
  });

  it('gives up on a device stuck in dfuERROR after repeated CLRSTATUS with ProtocolError, not a timeout', async () => {
    const clock = new ManualClock();
    const usb = scriptedDfuDevice({ ...ourSpec, clock });
    const stuck = Array.from({ length: 9 }, () => [
      dfu.getStatus('dfuERROR', { status: errADDRESS }),
      dfu.clrStatus(),
    ]).flat();
    usb.expect(...dfu.readDescriptor(dfuConfigurationDescriptor(ourSpec)), ...stuck);
    const error = (await DfuDevice.open(usb, { clock }).catch((e: unknown) => e)) as ProtocolError;
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.code).toBe('PROTOCOL');
    expect(error.message).toMatch(/power-cycle/);
    usb.assertDone();
  });

  it('refuses a device without a DFU interface with NOT_DFU', async () => {
    const usb = scriptedDfuDevice(ourSpec);
    const descriptor = Uint8Array.of(9, 2, 18, 0, 1, 1, 0, 0x80, 50, 9, 4, 0, 0, 0, 0xff, 0, 0, 0);
    usb.expect(...dfu.readDescriptor(descriptor));
    await expect(DfuDevice.open(usb, { clock: new ManualClock() })).rejects.toMatchObject({
      code: 'NOT_DFU',
    });
  });
});

describe('requests and errors', () => {
  it('honours bwPollTimeout between GETSTATUS polls on the clock', async () => {
    const { usb, device, clock } = await openScripted([
      ...dfu.command([0x41, 0x00, 0x80, 0x00, 0x08], 250),
    ]);
    const before = clock.now();
    await device.eraseSector(APP_BASE);
    const polls = usb.log.filter((e) => e.description.includes('DFU_GETSTATUS')).slice(-2);
    expect(polls[1]!.at - polls[0]!.at).toBeGreaterThanOrEqual(250);
    expect(clock.now() - before).toBe(250);
    usb.assertDone();
  });

  it('maps a stalled DNLOAD to StallError naming the request', async () => {
    const { device } = await openScripted([
      dfu.dnload(0, Uint8Array.of(0x41, 0, 0x80, 0, 8), { type: 'stall' }),
    ]);
    const error = await device.eraseSector(APP_BASE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StallError);
    expect((error as StallError).request).toMatch(/DFU_DNLOAD block 0/);
  });

  it('turns errADDRESS in dfuERROR into DfuStatusError with names and address, and clears it', async () => {
    const { usb, device } = await openScripted([
      dfu.dnload(0, Uint8Array.of(0x41, 0, 0, 0, 8)),
      dfu.getStatus('dfuERROR', { status: errADDRESS }),
      dfu.clrStatus(),
    ]);
    const error = (await device.eraseSector(0x08000000).catch((e: unknown) => e)) as DfuStatusError;
    expect(error).toBeInstanceOf(DfuStatusError);
    expect(error).toMatchObject({
      code: 'DFU_STATUS',
      statusName: 'errADDRESS',
      stateName: 'dfuERROR',
      address: 0x08000000,
    });
    expect(error.message).toContain('0x08000000');
    usb.assertDone();
  });

  it('names the failing word of a queued block, which a pipelined device reports one block late', async () => {
    const report = new Uint8Array(20);
    const view = new DataView(report.buffer);
    view.setUint32(8, 0xffffffff, true); // no CRC has run
    view.setUint32(12, APP_BASE + 0x2010, true);
    report[16] = errVERIFY;
    const block = new Uint8Array(2048).fill(0x11);
    const { usb, device } = await openScripted([
      dfu.dnload(3, block),
      dfu.getStatus('dfuERROR', { status: errVERIFY }), // block 2 failed meanwhile
      dfu.clrStatus(),
      dfu.getStatus('dfuIDLE'),
      dfu.upload(1, 20, { type: 'data', data: report }),
      dfu.getStatus('dfuUPLOAD-IDLE'),
      dfu.abort(),
      dfu.getStatus('dfuIDLE'),
    ]);
    const error = await device
      .dnload(3, block, 'write', APP_BASE + 0x2800)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DfuStatusError);
    expect(error).toMatchObject({ statusName: 'errVERIFY', address: APP_BASE + 0x2010 });
    usb.assertDone();
  });

  it('recovers when ABORT stalls because a queued block failed (dfuERROR, then CLRSTATUS)', async () => {
    const { usb, device } = await openScripted([
      dfu.getStatus('dfuDNLOAD-IDLE'),
      dfu.abort({ type: 'stall' }),
      dfu.getStatus('dfuERROR', { status: errVERIFY }),
      dfu.clrStatus(),
      dfu.getStatus('dfuIDLE'),
    ]);
    await device.ensureIdle();
    usb.assertDone();
  });

  it('refuses an upload range with a negative, fractional or missing length with AddressError before any request', async () => {
    for (const length of [-1, 1.5, Number.NaN]) {
      const { usb, device } = await openScripted([]);
      const error = (await upload(device, [{ address: APP_BASE, length }]).catch(
        (e: unknown) => e,
      )) as AddressError;
      expect(error).toBeInstanceOf(AddressError);
      expect(error.code).toBe('ADDRESS');
      expect(error.address).toBe(APP_BASE);
      expect(error.message).toContain('0x08008000');
      expect(usb.failures).toEqual([]);
      usb.assertDone();
    }
  });

  it('times out on a GETSTATUS that never answers, after the deadline on the clock', async () => {
    const { device, clock } = await openScripted([dfu.getStatusReply({ type: 'timeout' })]);
    const before = clock.now();
    const error = (await device.getStatus().catch((e: unknown) => e)) as TimeoutError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.what).toBe('DFU_GETSTATUS');
    expect(error.deadlineMs).toBe(5000);
    expect(clock.now() - before).toBe(5000);
  });

  it('rejects a short GETSTATUS frame with ProtocolError', async () => {
    const { device } = await openScripted([
      dfu.getStatusReply({ type: 'data', data: Uint8Array.of(0, 0, 0) }),
    ]);
    await expect(device.getStatus()).rejects.toBeInstanceOf(ProtocolError);
  });

  it('rejects a babbling device with ProtocolError', async () => {
    const { device } = await openScripted([dfu.getStatusReply({ type: 'babble' })]);
    await expect(device.getStatus()).rejects.toMatchObject({ code: 'PROTOCOL' });
  });

  it('fails a test with a readable diff on an unexpected request', async () => {
    const { usb, device } = await openScripted([dfu.getState('dfuIDLE')]);
    await expect(device.getStatus()).rejects.toThrow();
    expect(() => usb.assertDone()).toThrow(
      /expected: IN {2}DFU_GETSTATE[\s\S]*actual: {3}IN {2}DFU_GETSTATUS/,
    );
  });

  it('reports a short upload frame in the middle of a range as ProtocolError', async () => {
    const { device } = await openScripted([
      dfu.getStatus('dfuIDLE'),
      ...dfu.setAddress(APP_BASE),
      dfu.abort(),
      dfu.upload(2, 2048, { type: 'data', data: new Uint8Array(100) }),
      dfu.abort(),
    ]);
    const error = await upload(device, [{ address: APP_BASE, length: 4096 }]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toContain('0x08008000');
  });
});

describe('download over the scripted transport', () => {
  it('erases the changed sector, writes, verifies by device CRC and reports progress per phase', async () => {
    const { usb, device } = await openScripted(fullDownload);
    const events: ProgressEvent[] = [];
    const result = await download(device, IMAGE, { onProgress: (e) => events.push(e) });
    usb.assertDone();
    expect(result.verified).toBe('crc');
    expect(result.plan.sectors).toEqual([
      expect.objectContaining({ start: APP_BASE, action: 'erase', imageBytes: 8, writeBytes: 8 }),
    ]);
    expect([...new Set(events.map((e) => e.phase))]).toEqual(['read', 'erase', 'write', 'verify']);
    expect(events.filter((e) => e.phase === 'write').at(-1)).toMatchObject({
      bytesDone: 8,
      bytesTotal: 8,
    });
  });

  it('skips a sector whose device CRC already matches (differential)', async () => {
    const { usb, device } = await openScripted([
      ...phases.start,
      dfu.getStatus('dfuIDLE'),
      ...crcSteps(APP_BASE, 16384, sectorCrc(IMAGE_BYTES, 16384)),
    ]);
    const result = await download(device, IMAGE);
    usb.assertDone();
    expect(result.plan.sectors[0]!.action).toBe('skip');
    expect(result.plan.eraseBytes).toBe(0);
  });

  it('writes a blank sector without erasing it', async () => {
    const { usb, device } = await openScripted([
      ...phases.start,
      dfu.getStatus('dfuIDLE'),
      ...crcSteps(APP_BASE, 16384, sectorCrc(new Uint8Array(0), 16384)),
      ...phases.write,
      ...phases.verify,
    ]);
    const result = await download(device, IMAGE);
    usb.assertDone();
    expect(result.plan.sectors[0]!.action).toBe('write');
  });

  it('with differential off, erases without comparing', async () => {
    const { usb, device } = await openScripted([
      ...phases.start,
      ...phases.erase,
      ...phases.write,
      ...phases.verify,
    ]);
    await download(device, IMAGE, { differential: false });
    usb.assertDone();
  });

  it('refuses an image reaching into a read-only sector before sending anything', async () => {
    const { usb, device } = await openScripted([dfu.getStatus('dfuIDLE')]);
    const image = { segments: [{ address: 0x08000000, data: new Uint8Array(16) }] };
    const error = (await download(device, image).catch((e: unknown) => e)) as AddressError;
    expect(error).toBeInstanceOf(AddressError);
    expect(error.address).toBe(0x08000000);
    expect(error.message).toMatch(/read-only/);
    usb.assertDone();
  });

  it('accepts the held-back block still erased before leave, asking CRCs of whole sectors only', async () => {
    // A locked board answers CRCs of whole application sectors only (errTARGET otherwise).
    const { usb, device } = await openScripted([
      ...phases.start,
      ...phases.read,
      ...phases.erase,
      ...phases.write,
      ...phases.verify.slice(0, 3),
      ...crcSteps(APP_BASE, 16384, sectorCrc(new Uint8Array(0), 16384)),
      ...crcSteps(APP_BASE, 16384, sectorCrc(new Uint8Array(0), 16384)),
    ]);
    const result = await download(device, IMAGE);
    usb.assertDone();
    expect(result.verified).toBe('crc');
  });

  it('reports a verify mismatch with the first differing address', async () => {
    const wrong = Uint8Array.of(1, 2, 3, 0x44, 5, 6, 7, 8);
    const { device } = await openScripted([
      ...phases.start,
      ...phases.read,
      ...phases.erase,
      ...phases.write,
      ...phases.verify.slice(0, 3),
      ...crcSteps(APP_BASE, 16384, 0xdeadbeef),
      // Not the held-back-block case either: the sector does not read as the image with its
      // held bytes (the 8 sent, or the bootloader's 2048) still erased. Whole sectors only.
      ...crcSteps(APP_BASE, 16384, 0xdeadbeef),
      ...crcSteps(APP_BASE, 16384, 0xdeadbeef),
      ...dfu.setAddress(APP_BASE),
      dfu.abort(),
      ...Array.from({ length: 8 }, (_, i) =>
        dfu.upload(2 + i, 2048, {
          type: 'data',
          data: i === 0 ? withHead(wrong) : new Uint8Array(2048).fill(0xff),
        }),
      ),
      dfu.abort(),
    ]);
    const error = (await download(device, IMAGE).catch((e: unknown) => e)) as VerifyError;
    expect(error).toBeInstanceOf(VerifyError);
    expect(error.address).toBe(APP_BASE + 3);
  });

  it('with 64-byte transfers: one address pointer per run, sequential blocks, the vector-table block last', async () => {
    const spec = { ...ourSpec, transferSize: 64 };
    const data = new Uint8Array(256).map((_, i) => i);
    const block = (from: number) => data.slice(from, from + 64);
    const { usb, device } = await openScripted(
      [
        dfu.getStatus('dfuIDLE'),
        ...dfu.erase(APP_BASE),
        ...dfu.setAddress(APP_BASE + 64),
        ...dfu.block(2, block(64)),
        ...dfu.block(3, block(128)),
        ...dfu.block(4, block(192)),
        ...dfu.setAddress(APP_BASE),
        ...dfu.block(2, block(0)),
      ],
      spec,
      [0x00, 0x21, 0x41],
    );
    const result = await download(
      device,
      { segments: [{ address: APP_BASE, data }] },
      { differential: false, verify: false },
    );
    expect(result.verified).toBe('off');
    usb.assertDone();
  });

  it('maps a device that disappears mid-write to DeviceGoneError', async () => {
    const { device } = await openScripted([
      ...phases.start,
      ...phases.read,
      ...phases.erase,
      ...dfu.setAddress(APP_BASE),
      dfu.dnload(2, IMAGE_BYTES, { type: 'gone' }),
    ]);
    const error = (await download(device, IMAGE).catch((e: unknown) => e)) as DeviceGoneError;
    expect(error).toBeInstanceOf(DeviceGoneError);
    expect(error.during).toMatch(/DFU_DNLOAD block 2/);
  });

  for (const phase of ['read', 'erase', 'write', 'verify'] as const) {
    it(`stops with AbortError when the signal fires during ${phase}`, async () => {
      const { usb, device } = await openScripted(fullDownload);
      const controller = new AbortController();
      const error = (await download(device, IMAGE, {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.phase === phase) controller.abort();
        },
      }).catch((e: unknown) => e)) as AbortError;
      expect(error).toBeInstanceOf(AbortError);
      expect(error.phase).toBe(phase);
      expect(usb.failures).toEqual([]);
      // Not one request of the aborted phase went out.
      expect(usb.remaining[0]).toBe(phases[phase][0]);
    });
  }
});

function withHead(head: Uint8Array): Uint8Array {
  const block = new Uint8Array(2048).fill(0xff);
  block.set(head);
  return block;
}

describe('leave, detach and plain DFU', () => {
  it('leave: Set Address Pointer, zero-length DNLOAD, then the device leaving the bus is success', async () => {
    const { usb, device } = await openScripted([
      dfu.getStatus('dfuIDLE'),
      ...dfu.setAddress(APP_BASE),
      dfu.dnload(2, undefined),
      dfu.getStatus('dfuMANIFEST', { pollTimeout: 10 }),
      dfu.getStatusReply({ type: 'gone' }),
    ]);
    await expect(device.leave()).resolves.toEqual({ gone: true, outcome: 'assumed' });
    usb.assertDone();
  });

  it('leave: errFIRMWARE at manifestation is reported', async () => {
    const { device } = await openScripted([
      dfu.getStatus('dfuIDLE'),
      ...dfu.setAddress(APP_BASE),
      dfu.dnload(2, undefined),
      dfu.getStatus('dfuMANIFEST', { pollTimeout: 10 }),
      dfu.getStatus('dfuERROR', { status: 10 }),
      dfu.clrStatus(),
    ]);
    const error = await device.leave().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DFU_STATUS', statusName: 'errFIRMWARE' });
    // The advice names the cause and the command that fixes it, not a generic retry.
    const { message } = error as Error;
    expect(message).toMatch(/not stamped/);
    expect(message).toMatch(/vector table/);
    expect(message).toContain('node firmware/scripts/stamp-app.mjs --board');
    expect(message).toContain('stampImage(');
    expect(message).not.toMatch(/power cycle/);
  });

  it('detach: DETACH, finds the board again by serial after re-enumeration, opens it in DFU mode', async () => {
    const clock = new ManualClock();
    const runtimeSpec = {
      alternates: ['runtime'],
      protocol: 1 as const,
      bmAttributes: 0x07,
      detachTimeoutMs: 500,
    };
    const app = scriptedDfuDevice({ ...runtimeSpec, clock, serialNumber: 'ABC123' });
    app.expect(...dfu.open(runtimeSpec), dfu.detach(500), dfu.reset({ type: 'gone' }));
    const runtime = await DfuDevice.open(app, { clock });
    const bootloader = scriptedDfuDevice({ ...ourSpec, clock, serialNumber: 'ABC123' });
    bootloader.expect(...dfu.open(ourSpec, OUR_COMMANDS));
    const other = scriptedDfuDevice({ ...ourSpec, serialNumber: 'OTHER' });
    let polls = 0;
    const usbBus = {
      getDevices: async () => (++polls < 3 ? [app, other] : [other, app, bootloader]),
      addEventListener: () => {},
    };
    const again = await detach(runtime, { usb: usbBus });
    expect(again.usb).toBe(bootloader);
    expect(again.mode).toBe('dfu');
    expect(polls).toBe(3);
    expect(clock.now()).toBe(200);
    app.assertDone();
    bootloader.assertDone();
  });

  it('detach: gives up with TimeoutError when the board does not come back', async () => {
    const clock = new ManualClock();
    const runtimeSpec = { alternates: ['runtime'], protocol: 1 as const, bmAttributes: 0x0f };
    const app = scriptedDfuDevice({ ...runtimeSpec, clock, serialNumber: 'ABC123' });
    app.expect(...dfu.open(runtimeSpec), dfu.detach(255));
    const runtime = await DfuDevice.open(app, { clock });
    const usbBus = { getDevices: async () => [], addEventListener: () => {} };
    const error = (await detach(runtime, { usb: usbBus, timeoutMs: 3000 }).catch(
      (e: unknown) => e,
    )) as TimeoutError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.what).toContain('ABC123');
    expect(clock.now()).toBe(3000);
  });

  it('plain DFU 1.1: blocks from 0 without addresses, then zero-length DNLOAD and manifestation', async () => {
    const spec = {
      alternates: ['firmware'],
      dfuVersion: 0x0110,
      transferSize: 4,
      bmAttributes: 0x07,
    };
    const { usb, device } = await openScripted(
      [
        dfu.getStatus('dfuIDLE'),
        ...dfu.block(0, Uint8Array.of(1, 2, 3, 4)),
        ...dfu.block(1, Uint8Array.of(5, 6)),
        dfu.dnload(2, undefined),
        dfu.getStatus('dfuMANIFEST-SYNC', { pollTimeout: 5 }),
        dfu.getStatus('dfuIDLE'),
      ],
      spec,
      undefined,
    );
    expect(device.dfuse).toBe(false);
    const result = await downloadPlain(device, {
      segments: [{ address: 0, data: Uint8Array.of(1, 2, 3, 4, 5, 6) }],
    });
    expect(result).toEqual({ gone: false, outcome: 'reported' });
    usb.assertDone();
  });

  it('plain DFU 1.1 upload: progress ends at bytesTotal when a short frame ends the memory', async () => {
    const spec = {
      alternates: ['firmware'],
      dfuVersion: 0x0110,
      transferSize: 4,
      bmAttributes: 0x07,
    };
    const { usb, device } = await openScripted(
      [
        dfu.getStatus('dfuIDLE'),
        dfu.upload(0, 4, { type: 'data', data: Uint8Array.of(1, 2, 3, 4) }),
        dfu.upload(1, 4, { type: 'data', data: Uint8Array.of(5, 6) }),
        dfu.abort(),
      ],
      spec,
      undefined,
    );
    const events: ProgressEvent[] = [];
    const data = await uploadPlain(device, { onProgress: (e) => events.push(e) });
    expect([...data]).toEqual([1, 2, 3, 4, 5, 6]);
    const last = events[events.length - 1]!;
    expect(last.bytesDone).toBe(6);
    expect(last.bytesTotal).toBe(6);
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.bytesDone).toBeGreaterThanOrEqual(events[i - 1]!.bytesDone);
      expect(events[i]!.bytesDone).toBeLessThanOrEqual(events[i]!.bytesTotal);
    }
    usb.assertDone();
  });
});
