import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli-main.ts';
import {
  DEFAULT_USB_IDENTITY,
  dfuseLayoutFor,
  generateHeader,
  getLayout,
  LayoutError,
  parseBoardDefinition,
  parseBoardJson,
} from '../src/index.ts';

/** A team's own F401 board: everything a user would write, nothing defaulted. */
const MY_BOARD = {
  id: 'sensor-node',
  name: 'Sensor node rev B (STM32F401CC)',
  chip: 'STM32F401xC',
  hseHz: 8_000_000,
  sysclkHz: 84_000_000,
  led: { port: 'B', pin: 2, activeLow: false },
  button: { port: 'a', pin: 0, activeLow: true },
  usb: { dm: 'PA11', dp: 'PA12', vbusSense: true },
  uart: { instance: 'USART2', tx: 'PA2', rx: 'PA3', baud: 921_600 },
  usbIdentity: {
    vendorId: '0x1209',
    productId: 0x70d1,
    bootloaderBcdDevice: 0x0300,
    manufacturer: 'Example Instruments',
    bootloaderProduct: 'Sensor node DFU',
    applicationProduct: 'Sensor node',
  },
  bootloaderSize: 64 * 1024,
};

/** `MY_BOARD` with one field replaced (`undefined` removes it), by dotted path. */
function withField(path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(MY_BOARD) as Record<string, unknown>;
  const keys = path.split('.');
  let obj = copy;
  for (const k of keys.slice(0, -1)) obj = obj[k] as Record<string, unknown>;
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete obj[last];
  else obj[last] = value;
  return copy;
}

function refusal(json: unknown, source = 'myboard.json'): LayoutError {
  try {
    parseBoardDefinition(json, source);
  } catch (e) {
    if (e instanceof LayoutError) return e;
    throw new Error(`expected a LayoutError, got ${String(e)}`);
  }
  throw new Error('expected INVALID_BOARD, but the board was accepted');
}

describe('parseBoardDefinition: a valid custom board', () => {
  it('round-trips into a layout with the right partitions and DfuSe string', () => {
    const board = parseBoardDefinition(MY_BOARD, 'myboard.json');
    expect(board.chip).toBe('stm32f401xc');
    expect(board.button).toEqual({ port: 'A', pin: 0, activeLow: true });
    expect(board.usbIdentity).toMatchObject({
      vendorId: 0x1209,
      productId: 0x70d1,
      bootloaderBcdDevice: 0x0300,
      applicationBcdDevice: DEFAULT_USB_IDENTITY.applicationBcdDevice,
    });
    const layout = getLayout(board);
    expect(layout.partitions.bootloader).toMatchObject({ start: 0x08000000, end: 0x08010000 });
    expect(layout.partitions.application).toMatchObject({
      start: 0x08010000,
      end: 0x08040000,
      size: 192 * 1024,
    });
    expect(layout.partitions.application.sectors.map((s) => s.index)).toEqual([4, 5]);
    expect(dfuseLayoutFor(layout)).toBe('@Internal Flash  /0x08000000/04*016Ka,01*064Kg,01*128Kg');
    // The same definition read twice (as JSON text) gives the same board.
    expect(parseBoardJson(JSON.stringify(MY_BOARD), 'myboard.json')).toEqual(board);
  });

  it('fills optional fields the way the built-in boards have them', () => {
    const minimal = {
      id: 'bare',
      name: 'Bare F411',
      chip: 'stm32f411xe',
      hseHz: 25_000_000,
      sysclkHz: 96_000_000,
      led: { port: 'C', pin: 13, activeLow: true },
    };
    const board = parseBoardDefinition(minimal);
    expect(board).toMatchObject({
      usb: { dm: 'PA11', dp: 'PA12', vbusSense: false },
      usbIdentity: DEFAULT_USB_IDENTITY,
      bootloaderSize: 32 * 1024,
      emulated: false,
    });
    expect(board.button).toBeUndefined();
    expect(board.uart).toBeUndefined();
    expect(getLayout(board).partitions.application.start).toBe(0x08008000);
  });

  it('defaults the bootloader to the first erase boundary past 32 kB (a whole 128 kB H7 sector)', () => {
    const board = parseBoardDefinition({
      id: 'h7-board',
      name: 'H7 board',
      chip: 'stm32h743xi',
      hseHz: 25_000_000,
      sysclkHz: 400_000_000,
      led: { port: 'K', pin: 3, activeLow: false },
    });
    expect(board.bootloaderSize).toBe(128 * 1024);
  });

  it('the built-in boards pass the same rules and read back unchanged', () => {
    for (const id of ['blackpill-f411', 'netduinoplus2']) {
      const builtIn = { ...getLayout(id).board, id: `copy-of-${id}` };
      expect(parseBoardJson(JSON.stringify(builtIn))).toEqual(builtIn);
    }
  });

  it('an HSI-only board (hseHz 0) is accepted', () => {
    expect(parseBoardDefinition(withField('hseHz', 0)).hseHz).toBe(0);
  });
});

describe('parseBoardDefinition refuses what users get wrong, naming the field', () => {
  const cases: [string, string, unknown, RegExp][] = [
    ['id', 'id', 'My Board', /lower-case letters/],
    ['id', 'id', 'blackpill-f411', /built-in board/],
    ['name', 'name', '', /non-empty string/],
    ['name', 'name', 'Sensör', /printable ASCII \(character 5/],
    ['chip', 'chip', 'stm32f999', /must be one of stm32f411xe, .*got "stm32f999"/],
    [
      'hseHz',
      'hseHz',
      3_000_000,
      /0 \(no crystal\) or 4 MHz–26 MHz for the STM32F401xC \(datasheet DS9716/,
    ],
    ['hseHz', 'hseHz', 30_000_000, /4 MHz–26 MHz .* got 30000000/],
    ['hseHz', 'hseHz', '8MHz', /frequency in Hz/],
    ['sysclkHz', 'sysclkHz', 100_000_000, /32 MHz–84 MHz for the STM32F401xC/],
    ['sysclkHz', 'sysclkHz', 16_000_000, /HCLK ≥ 32 MHz/],
    ['led', 'led', undefined, /must be a JSON object, got nothing/],
    ['led.port', 'led.port', 'F', /port letter the STM32F401xC has \(A, B, C, D, E, H\)/],
    ['led.port', 'led.port', 'Z', /port letter/],
    ['led.pin', 'led.pin', 16, /0–15, got 16/],
    ['led.activeLow', 'led.activeLow', 'yes', /true or false/],
    ['button.pin', 'button.pin', -1, /0–15/],
    ['led.colour', 'led.colour', 'green', /not a board field/],
    ['usb.dm', 'usb.dm', 'PA16', /pin name like "PA11"/],
    ['usb.dp', 'usb.dp', 'PA11', /different pin/],
    ['usb.vbusSense', 'usb.vbusSense', 1, /true or false/],
    ['uart.instance', 'uart.instance', 'UART4', /USART1, USART2, USART6/],
    ['uart.tx', 'uart.tx', 'PG2', /port the STM32F401xC has/],
    ['uart.baud', 'uart.baud', 20_000_000, /from 300 to 10500000/],
    ['usbIdentity.vendorId', 'usbIdentity.vendorId', undefined, /16-bit number/],
    [
      'usbIdentity.productId',
      'usbIdentity.productId',
      70000,
      /^myboard\.json: usbIdentity\.productId must be a 16-bit number .*got 70000\.$/,
    ],
    ['usbIdentity.bootloaderBcdDevice', 'usbIdentity.bootloaderBcdDevice', '0x12345', /16-bit/],
    [
      'usbIdentity.manufacturer',
      'usbIdentity.manufacturer',
      'x'.repeat(127),
      /at most 126 .* got 127/,
    ],
    ['usbIdentity.bootloaderProduct', 'usbIdentity.bootloaderProduct', 'DFU\n', /printable ASCII/],
    ['bootloaderSize', 'bootloaderSize', 24 * 1024, /not usable: .*0x08006000/],
    ['bootloaderSize', 'bootloaderSize', 256 * 1024, /leave room for an application/],
    ['bootloaderSize', 'bootloaderSize', 0, /more than 0/],
    ['emulated', 'emulated', 'no', /true or false/],
    ['usbIdenity', 'usbIdenity', {}, /not a board field .*check its spelling/],
  ];

  it.each(cases)('%s = %j', (path, field, value, message) => {
    const e = refusal(withField(path, value));
    expect(e.code).toBe('INVALID_BOARD');
    expect(e.details).toMatchObject({ field, source: 'myboard.json' });
    expect(e.message).toMatch(new RegExp(`^myboard\\.json: ${field.replace('.', '\\.')} `));
    expect(e.message).toMatch(message);
  });

  it("refuses ST's ROM bootloader id 0483:df11 and says why", () => {
    const e = refusal(
      withField('usbIdentity', { vendorId: 0x0483, productId: '0xDF11' }),
      'myboard.json',
    );
    expect(e.details.field).toBe('usbIdentity');
    expect(e.message).toContain("ST's ROM DFU bootloader");
    expect(e.message).toContain('manifestation-tolerant');
  });

  it('refuses a definition that is not an object, and JSON that does not parse', () => {
    expect(refusal([MY_BOARD]).message).toMatch(/must be a JSON object/);
    const e = (() => {
      try {
        parseBoardJson('{ "id": "x", }', 'myboard.json');
      } catch (err) {
        return err as LayoutError;
      }
      throw new Error('accepted bad JSON');
    })();
    expect(e.code).toBe('INVALID_BOARD');
    expect(e.message).toMatch(/^myboard\.json: not valid JSON/);
  });
});

describe('a custom board through codegen and the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'layout-board-file-'));
  const boardFile = join(dir, 'sensor-node.json');
  writeFileSync(boardFile, JSON.stringify(MY_BOARD, null, 2));

  function cli(...argv: string[]): { status: number; out: string; err: string } {
    const out: string[] = [];
    const err: string[] = [];
    const status = runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { status, out: out.join('\n'), err: err.join('\n') };
  }

  it('the generated header compiles on its own (gcc -fsyntax-only) and carries the board', () => {
    const header = generateHeader(getLayout(parseBoardDefinition(MY_BOARD)));
    expect(header).toContain('#define STM32DFU_BOARD_SENSOR_NODE');
    expect(header).toMatch(/STM32DFU_USB_PID\s+0x70D1u/);
    expect(header).toMatch(/STM32DFU_LED_PORT\s+1u/);
    const path = join(dir, 'stm32dfu_layout.h');
    writeFileSync(path, header);
    if (spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status !== 0) {
      if (process.env.CI) throw new Error('gcc is missing: install the Debian package gcc');
      console.warn('skipping: gcc not installed (apt-get install gcc)');
      return;
    }
    execFileSync('gcc', [
      '-std=c11',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-fsyntax-only',
      '-x',
      'c',
      path,
    ]);
  });

  it('map --board-file prints the custom board’s memory map', () => {
    const r = cli('map', '--board-file', boardFile);
    expect(r.status).toBe(0);
    expect(r.out).toContain('Sensor node rev B');
    expect(r.out).toContain('0x08010000');
  });

  it('codegen --board-file writes only that board', () => {
    const out = join(dir, 'generated');
    const r = cli('codegen', '--out', out, '--board-file', boardFile);
    expect(r.status).toBe(0);
    const header = readFileSync(join(out, 'sensor-node', 'stm32dfu_layout.h'), 'utf8');
    expect(header).toMatch(/STM32DFU_APP_BASE\s+0x08010000u/);
    expect(existsSync(join(out, 'sensor-node', 'memory-application.ld'))).toBe(true);
    expect(existsSync(join(out, 'blackpill-f411'))).toBe(false);
  });

  it('a bad board file exits 1 with its code and field, and writes nothing', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify(withField('usbIdentity.productId', 70000)));
    const out = join(dir, 'not-written');
    const r = cli('codegen', '--out', out, 'blackpill-f411', '--board-file', bad);
    expect(r.status).toBe(1);
    expect(r.err).toBe(
      'error [INVALID_BOARD]: bad.json: usbIdentity.productId must be a 16-bit number (0–65535, or a string like "0x1209"), got 70000.',
    );
    expect(existsSync(out)).toBe(false);
  });

  it('a missing or directory board file exits 1 with BOARD_FILE_UNREADABLE naming the path', () => {
    const missing = join(dir, 'nope.json');
    const r = cli('map', '--board-file', missing);
    expect(r.status).toBe(1);
    expect(r.err).toContain('error [BOARD_FILE_UNREADABLE]');
    expect(r.err).toContain(missing);
    const sub = join(dir, 'a-dir');
    mkdirSync(sub);
    expect(cli('map', '--board-file', sub).err).toContain('directory');
  });

  it('usage mistakes exit 2', () => {
    expect(cli('map', '--board-file').status).toBe(2);
    expect(cli('codegen', '--board-file', boardFile).status).toBe(2);
    expect(cli('map', '--bord-file', boardFile).status).toBe(2);
  });
});
