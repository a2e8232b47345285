/**
 * The GET_SECURITY record (docs/bootloader-core.md): decoded from the bytes the bootloader
 * sends. The same bytes are asserted against the bootloader in firmware/tests/test_security.c.
 */
import { boardIdOf, keyIdOf } from '@stm32dfu/image-tools/node';
import { describe, expect, it } from 'vitest';
import { formatId, parseSecurityRecord, SECURITY_RECORD_LENGTH } from '../src/index.ts';

const fromHex = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
const testKey = fromHex('79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664');

// A Black Pill that requires signatures by the vectors' test key, verifies at boot and locks
// upload, after installing an image with counter 7 (firmware/tests/test_security.c).
const signedLocked = fromHex(`
  01 87 01 01  45 da a4 b7  07 00 00 00  00 02 00 00
  65 b6 06 73  00 00 00 00  00 00 00 00  00 00 00 00`);
// The same board without signing: only the check compiled in, no keys, no verdict.
const plain = fromHex(`
  01 80 00 00  45 da a4 b7  00 00 00 00  00 00 00 00
  00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00`);
// A board that requires signatures (no lock) at counter 5, after refusing an image with
// counter 3 (verdict 8 + 1).
const rolledBack = fromHex(`
  01 81 01 09  45 da a4 b7  05 00 00 00  00 02 00 00
  65 b6 06 73  00 00 00 00  00 00 00 00  00 00 00 00`);

describe('parseSecurityRecord', () => {
  it('reads a signed, locked board', () => {
    expect(parseSecurityRecord(signedLocked)).toEqual({
      format: 1,
      signaturesRequired: true,
      verifyAtBoot: true,
      uploadLocked: true,
      flashProtected: false,
      checkBuiltIn: true,
      keyIds: ['7306b665'],
      boardId: 'b7a4da45',
      counter: 7,
      counterCapacity: 512,
      lastVerdict: 'valid',
    });
  });

  it('names keys and the board as the host computes them', () => {
    const record = parseSecurityRecord(signedLocked);
    expect(record.keyIds).toEqual([formatId(keyIdOf(testKey))]);
    expect(record.boardId).toBe(formatId(boardIdOf('blackpill-f411')));
  });

  it('reads a plain board and a refused rollback', () => {
    expect(parseSecurityRecord(plain)).toMatchObject({
      signaturesRequired: false,
      verifyAtBoot: false,
      uploadLocked: false,
      checkBuiltIn: true,
      keyIds: [],
      counter: 0,
      counterCapacity: 0,
      lastVerdict: 'none',
    });
    expect(parseSecurityRecord(rolledBack)).toMatchObject({
      signaturesRequired: true,
      verifyAtBoot: false,
      uploadLocked: false,
      checkBuiltIn: true,
      keyIds: ['7306b665'],
      counter: 5,
      counterCapacity: 512,
      lastVerdict: 'rolled-back',
    });
  });

  it('reads the flash protection flag and four keys, and only the first 32 bytes', () => {
    const bytes = new Uint8Array(40).fill(0xee);
    bytes.set(signedLocked.subarray(0, 16));
    bytes[1] = 0x08;
    bytes[2] = 4;
    bytes[3] = 10;
    const record = parseSecurityRecord(bytes);
    expect(record.flashProtected).toBe(true);
    expect(record.signaturesRequired).toBe(false);
    expect(record.keyIds).toEqual(['eeeeeeee', 'eeeeeeee', 'eeeeeeee', 'eeeeeeee']);
    expect(record.lastVerdict).toBe('counter-too-high');
  });

  it('names a verdict newer than this version unknown', () => {
    const bytes = signedLocked.slice();
    bytes[3] = 42;
    expect(parseSecurityRecord(bytes).lastVerdict).toBe('unknown');
  });

  it('refuses a short record, reports the format as sent and reads at most four keys', () => {
    expect(() => parseSecurityRecord(signedLocked.subarray(0, SECURITY_RECORD_LENGTH - 1))).toThrow(
      /32 bytes; got 31/,
    );
    const format = signedLocked.slice();
    format[0] = 2;
    expect(parseSecurityRecord(format).format).toBe(2);
    const keys = signedLocked.slice();
    keys[2] = 5;
    expect(parseSecurityRecord(keys).keyIds).toEqual([
      '7306b665',
      '00000000',
      '00000000',
      '00000000',
    ]);
  });
});
