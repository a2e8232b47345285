import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ch340Relay, lcusFrame, openCh340Relay } from '../src/relay/ch340.ts';
import { CommandRelay, GpioRelay, runCommand } from '../src/relay/command.ts';
import {
  type ControlSetup,
  HidRelay,
  type LibusbHidDevice,
  openHidRelay,
} from '../src/relay/hid.ts';

/** Control transfers as recorded from a dcttech two-channel board (serial "QAAMZ"). */
function recordingHid(states = 0) {
  const sent: { setup: ControlSetup; data: number[] }[] = [];
  let bits = states;
  return {
    sent,
    control: {
      async controlOut(setup: ControlSetup, data: Uint8Array) {
        sent.push({ setup, data: [...data] });
        if (data[0] === 0xff) bits |= 1 << (data[1]! - 1);
        if (data[0] === 0xfd) bits &= ~(1 << (data[1]! - 1));
      },
      async controlIn(setup: ControlSetup, length: number) {
        sent.push({ setup, data: [length] });
        return Uint8Array.of(0x51, 0x41, 0x41, 0x4d, 0x5a, 0x00, 0x00, bits);
      },
      async close() {},
    },
  };
}

describe('USB-HID relay (dcttech 16c0:05df, LCUS HID)', () => {
  it('closes and opens a channel with SET_REPORT feature report 0: [0xFF, ch] and [0xFD, ch]', async () => {
    const { sent, control } = recordingHid();
    const relay = new HidRelay(control, { channelCount: 2 });
    await relay.set(2, true);
    await relay.set(2, false);
    expect(sent).toEqual([
      {
        setup: { bmRequestType: 0x21, bRequest: 0x09, wValue: 0x0300, wIndex: 0 },
        data: [0xff, 2, 0, 0, 0, 0, 0, 0],
      },
      {
        setup: { bmRequestType: 0x21, bRequest: 0x09, wValue: 0x0300, wIndex: 0 },
        data: [0xfd, 2, 0, 0, 0, 0, 0, 0],
      },
    ]);
  });

  it('reads the state back with GET_REPORT: serial in bytes 0–4, channel bits in byte 7', async () => {
    const { sent, control } = recordingHid(0b10);
    const relay = new HidRelay(control, { channelCount: 2 });
    expect(await relay.readReport()).toEqual({ serial: 'QAAMZ', states: 2 });
    expect(await relay.get(1)).toBe(false);
    expect(await relay.get(2)).toBe(true);
    expect(sent[0]).toEqual({
      setup: { bmRequestType: 0xa1, bRequest: 0x01, wValue: 0x0300, wIndex: 0 },
      data: [8],
    });
    await relay.set(1, true);
    expect(await relay.get(1)).toBe(true);
  });

  it('refuses a channel the board does not have, naming the config field', async () => {
    const relay = new HidRelay(recordingHid().control, { channelCount: 2 });
    await expect(relay.set(3, true)).rejects.toMatchObject({
      code: 'RELAY_CHANNEL',
      field: 'relay.channels',
    });
  });

  it('goes through node-usb as libusb control transfers, usbhid detached, and picks the board by serial', async () => {
    const calls: unknown[][] = [];
    const make = (serial: string): LibusbHidDevice => ({
      deviceDescriptor: { idVendor: 0x16c0, idProduct: 0x05df },
      open: () => calls.push([serial, 'open']),
      close: () => calls.push([serial, 'close']),
      interface: () => ({
        isKernelDriverActive: () => true,
        detachKernelDriver: () => calls.push([serial, 'detachKernelDriver']),
        claim: () => calls.push([serial, 'claim']),
        release: (cb) => {
          calls.push([serial, 'release']);
          cb();
        },
      }),
      controlTransfer(bmRequestType, bRequest, wValue, wIndex, data, cb) {
        calls.push([
          serial,
          bmRequestType,
          bRequest,
          wValue,
          wIndex,
          typeof data === 'number' ? data : [...data],
        ]);
        cb(
          undefined,
          typeof data === 'number' ? Buffer.from([...Buffer.from(serial), 0, 0, 1]) : data.length,
        );
        return undefined;
      },
    });
    const relay = await openHidRelay({
      vendorId: 0x16c0,
      productId: 0x05df,
      serial: 'BBBBB',
      listDevices: () => [make('AAAAA'), make('BBBBB')],
    });
    expect(relay.description).toBe('USB-HID relay 16c0:05df serial BBBBB');
    await relay.set(1, false);
    expect(calls).toEqual([
      ['AAAAA', 'open'],
      ['AAAAA', 'detachKernelDriver'],
      ['AAAAA', 'claim'],
      ['AAAAA', 0xa1, 0x01, 0x0300, 0, 8],
      ['AAAAA', 'release'],
      ['AAAAA', 'close'],
      ['BBBBB', 'open'],
      ['BBBBB', 'detachKernelDriver'],
      ['BBBBB', 'claim'],
      ['BBBBB', 0xa1, 0x01, 0x0300, 0, 8],
      ['BBBBB', 0x21, 0x09, 0x0300, 0, [0xfd, 1, 0, 0, 0, 0, 0, 0]],
    ]);
    await expect(
      openHidRelay({
        vendorId: 0x16c0,
        productId: 0x05df,
        serial: 'ZZZZZ',
        listDevices: () => [make('AAAAA')],
      }),
    ).rejects.toThrow(/has serial ZZZZZ; seen: AAAAA\. Fix relay\.serial/);
    await expect(
      openHidRelay({ vendorId: 0x16c0, productId: 0x05df, listDevices: () => [] }),
    ).rejects.toMatchObject({
      code: 'RELAY_NOT_FOUND',
    });
  });
});

describe('CH340 serial relay (LCUS-1/2/4)', () => {
  it('frames a switch as A0 ch state sum', () => {
    expect([...lcusFrame(1, true)]).toEqual([0xa0, 0x01, 0x01, 0xa2]);
    expect([...lcusFrame(1, false)]).toEqual([0xa0, 0x01, 0x00, 0xa1]);
    expect([...lcusFrame(4, true)]).toEqual([0xa0, 0x04, 0x01, 0xa5]);
  });

  it('writes one frame per switch and remembers the state it cannot read back', async () => {
    const written: number[][] = [];
    const relay = new Ch340Relay({
      write: async (b) => void written.push([...b]),
      close: async () => {},
    });
    await relay.set(2, true);
    expect(written).toEqual([[0xa0, 0x02, 0x01, 0xa3]]);
    expect(await relay.get(2)).toBe(true);
    await expect(relay.set(5, true)).rejects.toMatchObject({ code: 'RELAY_CHANNEL' });
  });

  // A pseudo-terminal pair from socat stands in for the board: the driver opens one end
  // through serialport at 9600 baud, the test reads the bytes that arrive at the other.
  describe('through serialport on a pseudo-terminal pair', () => {
    const socat = ['/usr/bin/socat', '/bin/socat'].find((p) => existsSync(p));
    const dir = mkdtempSync(join(tmpdir(), 'hil-pty-'));
    let child: ReturnType<typeof spawn> | undefined;
    beforeAll(async () => {
      if (!socat) return;
      child = spawn(
        socat,
        [`pty,raw,echo=0,link=${dir}/relay`, `pty,raw,echo=0,link=${dir}/board`],
        { stdio: 'ignore' },
      );
      for (let i = 0; i < 100 && !(existsSync(`${dir}/relay`) && existsSync(`${dir}/board`)); i++)
        await new Promise((r) => setTimeout(r, 20));
    });
    afterAll(() => {
      child?.kill();
      rmSync(dir, { recursive: true, force: true });
    });
    const run = socat || process.env.CI ? it : it.skip;
    run(
      'sends A0 01 01 A2 then A0 01 00 A1 on the wire (needs socat: apt-get install socat)',
      async () => {
        expect(
          socat,
          'socat is not installed (scripts/bootstrap.sh test installs it)',
        ).toBeDefined();
        const { SerialPort } = await import('serialport');
        const board = new SerialPort({ path: `${dir}/board`, baudRate: 9600 });
        const received: number[] = [];
        board.on('data', (chunk: Buffer) => received.push(...chunk));
        await new Promise((r) => board.once('open', r));
        const relay = await openCh340Relay(`${dir}/relay`);
        await relay.set(1, true);
        await relay.set(1, false);
        for (let i = 0; i < 100 && received.length < 8; i++)
          await new Promise((r) => setTimeout(r, 10));
        await relay.close();
        await new Promise((r) => board.close(r));
        expect(received).toEqual([0xa0, 0x01, 0x01, 0xa2, 0xa0, 0x01, 0x00, 0xa1]);
      },
    );
    it('a missing port is an error that names relay.path', async () => {
      await expect(openCh340Relay(`${dir}/nothing`)).rejects.toMatchObject({
        code: 'RELAY_NOT_FOUND',
        field: 'relay.path',
      });
    });
  });
});

describe('GPIO relay through libgpiod tools', () => {
  it('holds each line with gpioset --mode=signal and stops the holder on the next change', async () => {
    const events: string[] = [];
    const relay = new GpioRelay({ chip: 'gpiochip0', lines: [17, 27], activeLow: true }, (argv) => {
      events.push(`start ${argv.join(' ')}`);
      return { stop: async () => void events.push(`stop ${argv.at(-1)}`) };
    });
    await relay.set(1, true);
    await relay.set(2, true);
    await relay.set(1, false);
    await relay.close();
    expect(events).toEqual([
      'start gpioset --mode=signal gpiochip0 17=0',
      'start gpioset --mode=signal gpiochip0 27=0',
      'stop 17=0',
      'start gpioset --mode=signal gpiochip0 17=1',
      'stop 17=1',
      'stop 27=0',
    ]);
  });
});

describe('command relay (uhubctl, usbrelay, a PDU)', () => {
  it('runs the on/off argv with {channel} replaced', async () => {
    const ran: string[][] = [];
    const relay = new CommandRelay(
      ['uhubctl', '-l', '1-1', '-p', '{channel}', '-a', 'on'],
      ['uhubctl', '-l', '1-1', '-p', '{channel}', '-a', 'off'],
      async (a) => void ran.push([...a]),
    );
    await relay.set(3, true);
    await relay.set(3, false);
    expect(ran).toEqual([
      ['uhubctl', '-l', '1-1', '-p', '3', '-a', 'on'],
      ['uhubctl', '-l', '1-1', '-p', '3', '-a', 'off'],
    ]);
  });

  it('runs a real program, and a failing one is an error that quotes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hil-cmd-'));
    const relay = new CommandRelay(
      ['sh', '-c', `echo on {channel} >> ${dir}/log`],
      ['sh', '-c', `echo off {channel} >> ${dir}/log`],
    );
    await relay.set(2, true);
    await relay.set(2, false);
    expect(readFileSync(`${dir}/log`, 'utf8')).toBe('on 2\noff 2\n');
    rmSync(dir, { recursive: true, force: true });
    await expect(runCommand(['sh', '-c', 'echo no such hub >&2; exit 3'])).rejects.toThrow(
      /failed \(3\): no such hub/,
    );
  });
});
