/**
 * A board's signing keys (docs/signed-firmware.md) in its JSON definition: checked naming the
 * field, and written into the firmware's header as the bootloader will compile them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateHeader, getLayout, LayoutError, parseBoardDefinition } from '../src/index.ts';

const KEY_A = '79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664';
const KEY_B = 'AA'.repeat(32);

const board = (signing: unknown) => ({
  id: 'signed-node',
  name: 'Signed node (STM32F411CE)',
  chip: 'STM32F411xE',
  hseHz: 25_000_000,
  sysclkHz: 96_000_000,
  led: { port: 'C', pin: 13, activeLow: true },
  usbIdentity: { vendorId: 0x1209, productId: 0x70d2 },
  ...(signing === undefined ? {} : { signing }),
});

function refusal(signing: unknown): string {
  try {
    parseBoardDefinition(board(signing), 'signed.json');
  } catch (e) {
    if (e instanceof LayoutError) return e.message;
    throw e;
  }
  throw new Error('the board was accepted');
}

describe('signing in a board definition', () => {
  it('takes 1–4 raw Ed25519 keys, lower-cases them, and requires signatures unless told not to', () => {
    const b = parseBoardDefinition(board({ keys: [KEY_A, KEY_B] }), 'signed.json');
    expect(b.signing).toEqual({
      keys: [KEY_A, KEY_B.toLowerCase()],
      required: true,
      verifyAtBoot: false,
      lockUpload: false,
      protectFlash: false,
    });
    expect(parseBoardDefinition(board({ keys: [KEY_A], required: false })).signing?.required).toBe(
      false,
    );
    expect(parseBoardDefinition(board(undefined)).signing).toBeUndefined();
  });

  it('refuses bad keys, naming the field', () => {
    expect(refusal({ keys: [] })).toMatch(/signed\.json: signing\.keys must be a list of 1 to 4/);
    expect(refusal({ keys: [KEY_A, KEY_A.slice(2)] })).toMatch(
      /signing\.keys\[1\] must be a raw Ed25519 public key: 64 hex digits/,
    );
    expect(refusal({ keys: [KEY_A, KEY_A] })).toMatch(/signing\.keys lists the same key twice/);
    expect(refusal({ keys: [KEY_A], required: 'yes' })).toMatch(
      /signing\.required must be true or false/,
    );
    expect(refusal({ keys: [KEY_A], extra: 1 })).toMatch(/signing/);
    expect(refusal({ keys: [KEY_A], lockUpload: 1 })).toMatch(
      /signing\.lockUpload must be true or false/,
    );
    expect(refusal({ keys: [KEY_A], required: false, verifyAtBoot: true })).toMatch(
      /signing\.required must be true when verifyAtBoot, lockUpload or protectFlash is set/,
    );
  });

  it('writes the lock-down options and the anti-rollback counter area into the header', () => {
    const locked = parseBoardDefinition(
      board({ keys: [KEY_A], verifyAtBoot: true, lockUpload: true, protectFlash: true }),
    );
    const header = generateHeader(getLayout(locked));
    expect(header).toMatch(/STM32DFU_SIGNING_VERIFY_AT_BOOT\s+1u/);
    expect(header).toMatch(/STM32DFU_LOCK_UPLOAD\s+1u/);
    expect(header).toMatch(/STM32DFU_PROTECT_FLASH\s+1u/);
    // RM0383 §3.6: the F411's 512 OTP bytes; the counter takes the last two 32-byte blocks.
    expect(header).toMatch(/STM32DFU_OTP_BASE\s+0x1FFF7800u/);
    expect(header).toMatch(/STM32DFU_COUNTER_OTP_OFFSET\s+448u/);
    expect(header).toMatch(/STM32DFU_COUNTER_OTP_SIZE\s+64u/);
    const plain = generateHeader(getLayout('blackpill-f411'));
    expect(plain).toMatch(/STM32DFU_LOCK_UPLOAD\s+0u/);
  });

  it('puts the keys into the header as a C array the bootloader compiles', () => {
    const header = generateHeader(getLayout(parseBoardDefinition(board({ keys: [KEY_A, KEY_B] }))));
    expect(header).toMatch(/STM32DFU_SIGNING_REQUIRED\s+1u/);
    expect(header).toMatch(/STM32DFU_SIGNING_KEY_COUNT\s+2u/);
    expect(header).toContain('{0x79u, 0xb5u, 0x56u');
    const plain = generateHeader(getLayout('blackpill-f411'));
    expect(plain).toMatch(/STM32DFU_SIGNING_REQUIRED\s+0u/);
    expect(plain).toMatch(/STM32DFU_SIGNING_KEY_COUNT\s+0u/);
    expect(plain).not.toContain('STM32DFU_SIGNING_KEYS');
    if (spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status !== 0) {
      if (process.env.CI) throw new Error('gcc is missing: install the Debian package gcc');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'stm32dfu-signing-'));
    writeFileSync(join(dir, 'stm32dfu_layout.h'), header);
    writeFileSync(
      join(dir, 'check.c'),
      [
        '#include <stdint.h>',
        '#include "stm32dfu_layout.h"',
        'const uint8_t keys[STM32DFU_SIGNING_KEY_COUNT][32] = STM32DFU_SIGNING_KEYS;',
        '_Static_assert(sizeof keys == 64, "two 32-byte keys");',
        '',
      ].join('\n'),
    );
    execFileSync('gcc', [
      '-std=c11',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-fsyntax-only',
      join(dir, 'check.c'),
    ]);
  });
});
