import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRigConfig, parseRigConfig } from '../src/config.ts';

const good = {
  name: 'bench-1',
  board: 'blackpill-f411',
  serial: 'E94A8C51792E6C7D49924707',
  relay: { driver: 'hid', channels: { boot0: 1, nrst: 2 } },
};

describe('rig config', () => {
  it('reads the YAML of docs/hil.md with defaults for what it leaves out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hil-config-'));
    const path = join(dir, 'bench-1.yaml');
    writeFileSync(
      path,
      `name: bench-1
board: blackpill-f411
serial: E94A8C51792E6C7D49924707
relay:
  driver: ch340
  path: /dev/ttyUSB0
  channels: { boot0: 1, nrst: 2, power: 3 }
uart: { path: /dev/ttyUSB1 }
`,
    );
    const config = loadRigConfig(path);
    expect(config.relay).toEqual({
      driver: 'ch340',
      path: '/dev/ttyUSB0',
      baud: 9600,
      channels: { boot0: 1, nrst: 2, power: 3 },
    });
    expect(config.uart).toEqual({ path: '/dev/ttyUSB1', baud: 115200, banner: 'stm32dfu example' });
    expect(config.timings).toEqual({ resetPulseMs: 100, settleMs: 300, enumerateTimeoutMs: 5000 });
    expect(config.powerCut.samples).toBe(8);
  });

  it('takes USB ids as hex strings', () => {
    const config = parseRigConfig({
      ...good,
      relay: { ...good.relay, vendorId: '0x16c0', productId: '05df' },
    });
    expect(config.relay).toMatchObject({ vendorId: 0x16c0, productId: 0x05df });
  });

  const bad: [string, unknown, string, RegExp][] = [
    [
      'a channel given as a word',
      { ...good, relay: { driver: 'hid', channels: { boot0: 1, nrst: 'two' } } },
      'relay.channels.nrst',
      /channel number/,
    ],
    [
      'two lines on one channel',
      { ...good, relay: { driver: 'hid', channels: { boot0: 1, nrst: 1 } } },
      'relay.channels',
      /share one/,
    ],
    [
      'an unknown driver',
      { ...good, relay: { driver: 'x10', channels: { boot0: 1, nrst: 2 } } },
      'relay.driver',
      /hid, ch340, gpio, command, virtual/,
    ],
    [
      'a serial that is not the UID',
      { ...good, serial: 'abc' },
      'serial',
      /24 uppercase hex digits/,
    ],
    ['an unknown board', { ...good, board: 'nucleo' }, 'board', /blackpill-f411/],
    [
      'a misspelt key',
      { ...good, timings: { resetPulse: 100 } },
      'timings',
      /unknown key "resetPulse"/,
    ],
    [
      'a ch340 relay without its port',
      { ...good, relay: { driver: 'ch340', channels: { boot0: 1, nrst: 2 } } },
      'relay.path',
      /./,
    ],
  ];
  for (const [what, value, field, message] of bad) {
    it(`refuses ${what}, naming ${field}`, () => {
      let error: unknown;
      try {
        parseRigConfig(value, 'bench.yaml');
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'INVALID_RIG_CONFIG', field });
      expect((error as Error).message).toMatch(
        new RegExp(`^bench\\.yaml: ${field.replaceAll('.', '\\.')}: `),
      );
      expect((error as Error).message).toMatch(message);
    });
  }

  it('says which file is missing or broken', () => {
    expect(() => loadRigConfig('/nonexistent/rig.yaml')).toThrow(
      /Cannot read the rig config \/nonexistent\/rig\.yaml \(ENOENT\)/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'hil-config-'));
    writeFileSync(join(dir, 'r.json'), '{ "name": ');
    expect(() => loadRigConfig(join(dir, 'r.json'))).toThrow(/r\.json is not valid JSON/);
  });
});
