import { createHash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32DfuSuffix, crc32Stm32Words, sha256Hex } from '../src/index.ts';
import { ascii, expectImageError } from './helpers.ts';

describe('checksums', () => {
  it('crc32 gives the CRC-32 check value and matches zlib, also when seeded in pieces', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    const data = ascii('The quick brown fox jumps over the lazy dog');
    expect(crc32(data)).toBe(zlibCrc32(data));
    expect(crc32(data.subarray(10), crc32(data.subarray(0, 10)))).toBe(crc32(data));
    expect(crc32DfuSuffix(data)).toBe(~zlibCrc32(data) >>> 0);
  });

  it('crc32Stm32Words gives the known STM32 values and refuses partial words', () => {
    expect(crc32Stm32Words(new Uint8Array([0x78, 0x56, 0x34, 0x12]))).toBe(0xdf8a8a2b);
    expect(crc32Stm32Words(new Uint8Array(4))).toBe(0xc704dd7b);
    expect(crc32Stm32Words(new Uint8Array(0))).toBe(0xffffffff);
    const e = expectImageError(() => crc32Stm32Words(new Uint8Array(5)), 'NOT_WORD_ALIGNED');
    expect(e.message).toContain('5 bytes');
  });

  it('sha256 matches node:crypto for lengths around the block boundaries', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 1000]) {
      const data = new Uint8Array(n).map((_, i) => (i * 31 + 7) & 0xff);
      expect(sha256Hex(data)).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });
});
