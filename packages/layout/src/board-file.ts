import {
  type BoardDefinition,
  boardIds,
  DEFAULT_USB_IDENTITY,
  type GpioPort,
  type Pin,
  type SigningConfig,
  type UartConfig,
  type UsbIdentity,
} from './boards.js';
import { type ChipDefinition, type ChipId, chipIds, chips, sectorsOf } from './chips.js';
import { formatSize, LayoutError } from './errors.js';
import { definePartitions } from './partitions.js';

/**
 * Custom boards from JSON. Everything a user could get wrong is refused here, with the
 * field's path, so a mistake surfaces as one message instead of a firmware that does not
 * enumerate. The format is documented in docs/layout.md.
 */

/** What a bootloader needs at least; the default size is the first erase boundary at or past it. */
const DEFAULT_BOOTLOADER_MIN = 32 * 1024;

/**
 * A USB string descriptor's bLength is one byte: 2 header bytes + at most 252 bytes of
 * UTF-16LE in an even count fit in 254, so 126 characters (USB 2.0 §9.6.7).
 */
export const USB_STRING_MAX_CHARS = 126;

/** ST's ROM DFU bootloader (AN2606); a board must never enumerate as it. */
const ST_ROM_VID = 0x0483;
const ST_ROM_PID = 0xdf11;

const USART_INSTANCES = ['USART1', 'USART2', 'USART6'] as const;

type Json = Record<string, unknown>;

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

class BoardReader {
  constructor(readonly source: string) {}

  /** `value`, when given (even `undefined`), is shown as what the file had. */
  fail(field: string, text: string, ...value: [] | [unknown]): never {
    const got = value.length > 0 ? `, got ${show(value[0])}` : '';
    throw new LayoutError('INVALID_BOARD', `${this.source}: ${field} ${text}${got}.`, {
      field,
      source: this.source,
    });
  }

  object(value: unknown, field: string, known: readonly string[]): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(field, 'must be a JSON object', value);
    }
    const obj = value as Json;
    for (const key of Object.keys(obj)) {
      if (!known.includes(key) && key !== '$schema') {
        const path = field === '(top level)' ? key : `${field}.${key}`;
        this.fail(
          path,
          `is not a board field (known here: ${known.join(', ')}); check its spelling`,
        );
      }
    }
    return obj;
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string' || value.length === 0)
      this.fail(field, 'must be a non-empty string', value);
    return value;
  }

  /** Printable ASCII only: the strings become C string literals and USB descriptors. */
  text(value: unknown, field: string, max = USB_STRING_MAX_CHARS): string {
    const s = this.string(value, field);
    const bad = [...s].findIndex((c) => c < ' ' || c > '~');
    if (bad >= 0) {
      this.fail(
        field,
        `must be printable ASCII (character ${bad + 1} is ${show(s[bad])}); write it without accents, symbols or control characters`,
      );
    }
    if (s.length > max) {
      this.fail(
        field,
        `must be at most ${max} characters (a USB string descriptor's one-byte length holds ${2 * max} bytes of UTF-16), got ${s.length}`,
      );
    }
    return s;
  }

  boolean(value: unknown, field: string): boolean {
    if (typeof value !== 'boolean') this.fail(field, 'must be true or false', value);
    return value;
  }

  integer(value: unknown, field: string, what: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value)) this.fail(field, what, value);
    return value;
  }

  /** A 16-bit number; JSON has no hex literals, so "0x1209" is accepted as well. */
  u16(value: unknown, field: string): number {
    const n =
      typeof value === 'string' && /^0x[0-9a-f]{1,4}$/i.test(value)
        ? Number.parseInt(value.slice(2), 16)
        : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffff) {
      this.fail(field, 'must be a 16-bit number (0–65535, or a string like "0x1209")', value);
    }
    return n;
  }
}

function portList(chip: ChipDefinition): string {
  return [...(chip.gpioPorts ?? '')].join(', ');
}

function readPort(r: BoardReader, value: unknown, field: string, chip: ChipDefinition): GpioPort {
  const port = typeof value === 'string' ? value.toUpperCase() : value;
  if (typeof port !== 'string' || !/^[A-K]$/.test(port) || !chip.gpioPorts?.includes(port)) {
    r.fail(field, `must be a GPIO port letter the ${chip.name} has (${portList(chip)})`, value);
  }
  return port as GpioPort;
}

function readPin(r: BoardReader, value: unknown, field: string, chip: ChipDefinition): Pin {
  const obj = r.object(value, field, ['port', 'pin', 'activeLow']);
  const port = readPort(r, obj.port, `${field}.port`, chip);
  const pin = obj.pin;
  if (typeof pin !== 'number' || !Number.isInteger(pin) || pin < 0 || pin > 15) {
    r.fail(`${field}.pin`, 'must be a pin number 0–15', pin);
  }
  const activeLow = r.boolean(obj.activeLow, `${field}.activeLow`);
  return Object.freeze({ port, pin, activeLow });
}

/** A pin by name, "PA11", as the USB and UART fields give them. */
function readPinName(r: BoardReader, value: unknown, field: string, chip: ChipDefinition): string {
  const m = typeof value === 'string' ? /^P([A-Ka-k])(\d{1,2})$/.exec(value) : null;
  const port = m?.[1]?.toUpperCase();
  if (!m || !port || Number(m[2]) > 15 || !chip.gpioPorts?.includes(port)) {
    r.fail(
      field,
      `must be a pin name like "PA11" on a port the ${chip.name} has (${portList(chip)}), pin 0–15`,
      value,
    );
  }
  return `P${port}${Number(m[2])}`;
}

function readChip(r: BoardReader, value: unknown): ChipDefinition {
  const id = typeof value === 'string' ? value.toLowerCase() : undefined;
  const chip = id ? (chips as Record<string, ChipDefinition>)[id] : undefined;
  if (!chip) r.fail('chip', `must be one of ${chipIds.join(', ')}`, value);
  return chip;
}

function readClocks(r: BoardReader, obj: Json, chip: ChipDefinition): { hse: number; sys: number } {
  const mhz = (hz: number) => `${hz / 1_000_000} MHz`;
  const limits = chip.clocks;
  const hse = r.integer(obj.hseHz, 'hseHz', 'must be a frequency in Hz (an integer)');
  if (hse !== 0 && limits && (hse < limits.hseMinHz || hse > limits.hseMaxHz)) {
    r.fail(
      'hseHz',
      `must be 0 (no crystal) or ${mhz(limits.hseMinHz)}–${mhz(limits.hseMaxHz)} for the ${chip.name} (${limits.source})`,
      hse,
    );
  }
  const sys = r.integer(obj.sysclkHz, 'sysclkHz', 'must be a frequency in Hz (an integer)');
  // The STM32F4 port programs the OTG_FS turnaround time (GUSBCFG.TRDT) for HCLK >= 32 MHz.
  const min = chip.family === 'STM32F4' ? 32_000_000 : 1;
  const max = limits?.sysclkMaxHz ?? Number.MAX_SAFE_INTEGER;
  if (sys < min || sys > max) {
    r.fail(
      'sysclkHz',
      `must be ${mhz(min)}–${mhz(max)} for the ${chip.name}` +
        (chip.family === 'STM32F4' ? ' (USB on the F4 port needs HCLK ≥ 32 MHz)' : ''),
      sys,
    );
  }
  return { hse, sys };
}

function readUsbIdentity(r: BoardReader, value: unknown): UsbIdentity {
  if (value === undefined) return DEFAULT_USB_IDENTITY;
  const keys = [
    'vendorId',
    'productId',
    'bootloaderBcdDevice',
    'applicationBcdDevice',
    'manufacturer',
    'bootloaderProduct',
    'applicationProduct',
  ] as const;
  const obj = r.object(value, 'usbIdentity', keys);
  const vendorId = r.u16(obj.vendorId, 'usbIdentity.vendorId');
  const productId = r.u16(obj.productId, 'usbIdentity.productId');
  if (vendorId === ST_ROM_VID && productId === ST_ROM_PID) {
    r.fail(
      'usbIdentity',
      "must not be 0483:df11, the id of ST's ROM DFU bootloader: hosts could not tell this bootloader " +
        'from the ROM (which is not manifestation-tolerant and has a different memory layout); use your own ' +
        'VID:PID (pid.codes gives open projects one)',
    );
  }
  const d = DEFAULT_USB_IDENTITY;
  const opt = <T>(v: unknown, read: (v: unknown) => T, fallback: T): T =>
    v === undefined ? fallback : read(v);
  return Object.freeze({
    vendorId,
    productId,
    bootloaderBcdDevice: opt(
      obj.bootloaderBcdDevice,
      (v) => r.u16(v, 'usbIdentity.bootloaderBcdDevice'),
      d.bootloaderBcdDevice,
    ),
    applicationBcdDevice: opt(
      obj.applicationBcdDevice,
      (v) => r.u16(v, 'usbIdentity.applicationBcdDevice'),
      d.applicationBcdDevice,
    ),
    manufacturer: opt(
      obj.manufacturer,
      (v) => r.text(v, 'usbIdentity.manufacturer'),
      d.manufacturer,
    ),
    bootloaderProduct: opt(
      obj.bootloaderProduct,
      (v) => r.text(v, 'usbIdentity.bootloaderProduct'),
      d.bootloaderProduct,
    ),
    applicationProduct: opt(
      obj.applicationProduct,
      (v) => r.text(v, 'usbIdentity.applicationProduct'),
      d.applicationProduct,
    ),
  });
}

function readUart(r: BoardReader, value: unknown, chip: ChipDefinition, sys: number): UartConfig {
  const obj = r.object(value, 'uart', ['instance', 'tx', 'rx', 'baud']);
  const instance = obj.instance;
  if (!USART_INSTANCES.includes(instance as (typeof USART_INSTANCES)[number])) {
    r.fail('uart.instance', `must be one of ${USART_INSTANCES.join(', ')}`, instance);
  }
  const tx = readPinName(r, obj.tx, 'uart.tx', chip);
  const rx = readPinName(r, obj.rx, 'uart.rx', chip);
  const baud = obj.baud;
  // Oversampling by 8 gives the highest rate, fCK / 8 (RM0383, USART baud rate generation).
  if (typeof baud !== 'number' || !Number.isInteger(baud) || baud < 300 || baud > sys / 8) {
    r.fail('uart.baud', `must be a baud rate from 300 to ${Math.floor(sys / 8)}`, baud);
  }
  return Object.freeze({ instance: instance as UartConfig['instance'], tx, rx, baud });
}

/** The first erase-unit boundary at or past 32 kB that leaves room for an application. */
/** At most this many keys: rotation needs two, and each costs 32 bytes of bootloader flash. */
export const MAX_SIGNING_KEYS = 4;

function readSigning(r: BoardReader, value: unknown): SigningConfig {
  const obj = r.object(value, 'signing', [
    'keys',
    'required',
    'verifyAtBoot',
    'lockUpload',
    'protectFlash',
  ]);
  if (!Array.isArray(obj.keys) || obj.keys.length === 0 || obj.keys.length > MAX_SIGNING_KEYS) {
    r.fail(
      'signing.keys',
      `must be a list of 1 to ${MAX_SIGNING_KEYS} Ed25519 public keys`,
      obj.keys,
    );
  }
  const keys = (obj.keys as unknown[]).map((key, i) => {
    if (typeof key !== 'string' || !/^[0-9a-fA-F]{64}$/.test(key)) {
      r.fail(
        `signing.keys[${i}]`,
        'must be a raw Ed25519 public key: 64 hex digits (stm32dfu keygen prints it)',
        key,
      );
    }
    return key.toLowerCase();
  });
  if (new Set(keys).size !== keys.length)
    r.fail('signing.keys', 'lists the same key twice', obj.keys);
  const flag = (
    name: 'required' | 'verifyAtBoot' | 'lockUpload' | 'protectFlash',
    byDefault: boolean,
  ) => (obj[name] === undefined ? byDefault : r.boolean(obj[name], `signing.${name}`));
  const required = flag('required', true);
  const verifyAtBoot = flag('verifyAtBoot', false);
  const lockUpload = flag('lockUpload', false);
  const protectFlash = flag('protectFlash', false);
  if ((verifyAtBoot || lockUpload || protectFlash) && !required) {
    r.fail(
      'signing.required',
      'must be true when verifyAtBoot, lockUpload or protectFlash is set: without it any image installs',
      obj.required,
    );
  }
  return Object.freeze({
    keys: Object.freeze(keys),
    required,
    verifyAtBoot,
    lockUpload,
    protectFlash,
  });
}

function defaultBootloaderSize(chip: ChipDefinition): number {
  const sectors = sectorsOf(chip.flash);
  const end = sectors.find((s) => s.end - chip.flash.base >= DEFAULT_BOOTLOADER_MIN)?.end;
  return (end ?? chip.flash.base + DEFAULT_BOOTLOADER_MIN) - chip.flash.base;
}

function readBootloaderSize(r: BoardReader, value: unknown, chip: ChipDefinition): number {
  if (value === undefined) return defaultBootloaderSize(chip);
  const size = r.integer(value, 'bootloaderSize', 'must be a size in bytes (an integer)');
  if (size <= 0 || size >= chip.flash.size) {
    r.fail(
      'bootloaderSize',
      `must be more than 0 and leave room for an application in the ${chip.name}'s ${formatSize(chip.flash.size)} of flash`,
      size,
    );
  }
  try {
    definePartitions(chip, { bootloaderSize: size });
  } catch (e) {
    if (e instanceof LayoutError)
      r.fail('bootloaderSize', `is not usable: ${e.message.replace(/\.$/, '')}`);
    throw e;
  }
  return size;
}

const TOP_LEVEL = [
  'id',
  'name',
  'chip',
  'hseHz',
  'sysclkHz',
  'led',
  'button',
  'usb',
  'uart',
  'usbIdentity',
  'bootloaderSize',
  'emulated',
  'signing',
] as const;

/**
 * Check a custom board definition (parsed JSON) and fill in the optional fields the way the
 * built-in boards have them. Every refusal is an `INVALID_BOARD` `LayoutError` whose message
 * starts with `source` and names the field, e.g. `usbIdentity.productId`.
 */
export function parseBoardDefinition(json: unknown, source = 'board definition'): BoardDefinition {
  const r = new BoardReader(source);
  const obj = r.object(json, '(top level)', TOP_LEVEL);
  const id = r.string(obj.id, 'id');
  // The id names the codegen output directory and a C macro (STM32DFU_BOARD_<ID>).
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) {
    r.fail('id', 'must be lower-case letters, digits and "-" (at most 63), like "my-board"', id);
  }
  if ((boardIds as readonly string[]).includes(id)) {
    r.fail('id', 'is a built-in board; give your board its own id', id);
  }
  const name = r.text(obj.name, 'name');
  const chip = readChip(r, obj.chip);
  const { hse, sys } = readClocks(r, obj, chip);
  const led = readPin(r, obj.led, 'led', chip);
  const button = obj.button === undefined ? undefined : readPin(r, obj.button, 'button', chip);
  let usb: BoardDefinition['usb'] = { dm: 'PA11', dp: 'PA12', vbusSense: false };
  if (obj.usb !== undefined) {
    const u = r.object(obj.usb, 'usb', ['dm', 'dp', 'vbusSense']);
    usb = {
      dm: u.dm === undefined ? usb.dm : readPinName(r, u.dm, 'usb.dm', chip),
      dp: u.dp === undefined ? usb.dp : readPinName(r, u.dp, 'usb.dp', chip),
      vbusSense: u.vbusSense === undefined ? false : r.boolean(u.vbusSense, 'usb.vbusSense'),
    };
    if (usb.dm === usb.dp) r.fail('usb.dp', 'must be a different pin from usb.dm', u.dp);
  }
  const uart = obj.uart === undefined ? undefined : readUart(r, obj.uart, chip, sys);
  const usbIdentity = readUsbIdentity(r, obj.usbIdentity);
  const bootloaderSize = readBootloaderSize(r, obj.bootloaderSize, chip);
  const emulated = obj.emulated === undefined ? false : r.boolean(obj.emulated, 'emulated');
  const signing = obj.signing === undefined ? undefined : readSigning(r, obj.signing);
  return Object.freeze({
    id,
    name,
    chip: chip.id as ChipId,
    hseHz: hse,
    sysclkHz: sys,
    led,
    ...(button && { button }),
    usb: Object.freeze(usb),
    ...(uart && { uart }),
    usbIdentity,
    bootloaderSize,
    emulated,
    ...(signing && { signing }),
  });
}

/** `parseBoardDefinition` for JSON text (a file's content); bad JSON is `INVALID_BOARD` too. */
export function parseBoardJson(text: string, source = 'board definition'): BoardDefinition {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LayoutError(
      'INVALID_BOARD',
      `${source}: not valid JSON (${(e as Error).message}); check for trailing commas, comments and unquoted keys.`,
      { source },
    );
  }
  return parseBoardDefinition(json, source);
}
