import { readFileSync } from 'node:fs';
import { getLayout } from '@stm32dfu/layout';
import { describe, expect, it } from 'vitest';
import { renderStampVectors } from '../scripts/make-stamp-vectors.ts';
import {
  crc32Stm32Words,
  encodeVersion,
  formatVersion,
  readStamp,
  SparseImage,
  STAMP_MAGIC,
  stampImage,
  verifyStamp,
} from '../src/index.ts';
import { expectImageError } from './helpers.ts';

const layout = getLayout('blackpill-f411');
const BASE = layout.partitions.application.start;
const FIXTURE = new URL('../fixtures/app-stamp-vectors.txt', import.meta.url);

/**
 * Independent reference: the STM32 CRC unit one bit at a time, exactly as RM0383 §4
 * describes it (word XOR into the register, then 32 shifts with poly 0x04C11DB7).
 */
function referenceStm32Crc(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i += 4) {
    const word =
      (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0;
    crc = (crc ^ word) >>> 0;
    for (let bit = 0; bit < 32; bit++) {
      crc = crc & 0x80000000 ? ((crc << 1) ^ 0x04c11db7) >>> 0 : (crc << 1) >>> 0;
    }
  }
  return crc;
}

function fromHex(text: string): Uint8Array {
  if (text === '-') return new Uint8Array(0);
  return new Uint8Array(text.match(/../g)!.map((h) => Number.parseInt(h, 16)));
}

function vectorTable(length: number): Uint8Array {
  const data = new Uint8Array(length).map((_, i) => (i * 7) & 0xff);
  const view = new DataView(data.buffer);
  view.setUint32(0, 0x20020000, true);
  view.setUint32(4, BASE + 0x201, true);
  data.fill(0, 0x1c, 0x2c);
  return data;
}

describe('app stamp fixture', () => {
  const text = readFileSync(FIXTURE, 'utf8');
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

  it('is exactly what the generator computes (run `pnpm run stamp-vectors` after a change)', () => {
    expect(text).toBe(renderStampVectors());
  });

  it('crc lines agree with the bit-by-bit reference and with crc32Stm32Words', () => {
    const crcLines = lines.filter((l) => l.startsWith('crc '));
    expect(crcLines.length).toBeGreaterThanOrEqual(5);
    expect(crcLines.some((l) => l.endsWith(' -'))).toBe(true);
    for (const line of crcLines) {
      const [, expected, data] = line.split(' ');
      const bytes = fromHex(data!);
      expect(referenceStm32Crc(bytes)).toBe(Number.parseInt(expected!, 16));
      expect(crc32Stm32Words(bytes)).toBe(Number.parseInt(expected!, 16));
    }
  });

  it('stamp lines cover every verdict, and verifyStamp agrees with each', () => {
    const stampLines = lines.filter((l) => l.startsWith('stamp '));
    const verdicts = new Set<string>();
    for (const line of stampLines) {
      const [, name, base, verdict, version, image] = line.split(' ');
      const bytes = fromHex(image!);
      expect(bytes.length, name).toBeGreaterThanOrEqual(0x2c);
      expect(bytes.length, name).toBeLessThanOrEqual(512);
      const check = verifyStamp(SparseImage.fromBytes(Number.parseInt(base!, 16), bytes), layout);
      expect(check.verdict, name).toBe(verdict);
      if (verdict === 'valid') {
        expect(check.stamp.version, name).toBe(Number.parseInt(version!, 16));
        // The reference CRC over the words, the CRC word itself left out.
        const withoutCrcWord = new Uint8Array([
          ...bytes.subarray(0, 0x24),
          ...bytes.subarray(0x28, check.stamp.length),
        ]);
        expect(referenceStm32Crc(withoutCrcWord), name).toBe(check.stamp.crc);
      }
      verdicts.add(verdict!);
    }
    expect([...verdicts].sort()).toEqual(['bad-crc', 'bad-length', 'bad-magic', 'valid']);
  });
});

describe('stampImage', () => {
  it('pads to a multiple of 4, writes magic, length, CRC and version, and verifies', () => {
    const stamped = stampImage(SparseImage.fromBytes(BASE, vectorTable(101)), layout, {
      version: '1.2.3',
    });
    expect(stamped.segments).toHaveLength(1);
    expect(stamped.size).toBe(104);
    expect(stamped.read(BASE + 101, 3)).toEqual(new Uint8Array([0xff, 0xff, 0xff]));
    const stamp = readStamp(stamped, layout);
    expect(stamp).toMatchObject({ magic: STAMP_MAGIC, length: 104, version: 0x01020003 });
    expect(stamped.read(BASE + 0x1c, 4)).toEqual(new Uint8Array([0x53, 0x54, 0x4d, 0x50]));
    expect(verifyStamp(stamped, layout).verdict).toBe('valid');
    // Restamping replaces the old stamp.
    const again = stampImage(stamped, layout, { version: { major: 2, minor: 0, patch: 1 } });
    expect(readStamp(again, layout).version).toBe(0x02000001);
    expect(verifyStamp(again, layout).verdict).toBe('valid');
  });

  it('fills gaps with 0xFF so the CRC covers what flash will hold', () => {
    const img = SparseImage.fromPieces([
      { address: BASE, data: vectorTable(64) },
      { address: BASE + 0x100, data: new Uint8Array([1, 2, 3, 4]) },
    ]);
    const stamped = stampImage(img, layout, { version: 1 });
    expect(stamped.segments).toHaveLength(1);
    expect(stamped.byteAt(BASE + 0x80)).toBe(0xff);
    expect(verifyStamp(stamped, layout).verdict).toBe('valid');
    expect(verifyStamp(stamped.patch(BASE + 0x80, new Uint8Array([0])), layout)).toMatchObject({
      verdict: 'bad-crc',
    });
  });

  it('refuses used vector slots, images not at the base, and images too big', () => {
    const used = vectorTable(64);
    used[0x20] = 0x42;
    const e = expectImageError(
      () => stampImage(SparseImage.fromBytes(BASE, used), layout, { version: 1 }),
      'STAMP_SLOTS_IN_USE',
    );
    expect(e.details.address).toBe(BASE + 0x20);
    expect(e.message).toContain('0x08008020');
    const e2 = expectImageError(
      () => stampImage(SparseImage.fromBytes(BASE + 4, vectorTable(64)), layout, { version: 1 }),
      'STAMP_NO_BASE',
    );
    expect(e2.message).toContain('0x08008004');
    const big = SparseImage.fromPieces([
      { address: BASE, data: vectorTable(64) },
      { address: BASE + 480 * 1024, data: new Uint8Array(4) },
    ]);
    expectImageError(() => stampImage(big, layout, { version: 1 }), 'OUTSIDE_REGION');
    expectImageError(() => encodeVersion('1.2'), 'INVALID_ARGUMENT');
    expectImageError(() => encodeVersion({ major: 256, minor: 0, patch: 0 }), 'INVALID_ARGUMENT');
    expect(formatVersion(encodeVersion('v3.4.5'))).toBe('3.4.5');
  });
});
