/** Synthetic applications (`@stm32dfu/image-tools/testing`): bootable in shape, stable per seed. */
import { getLayout } from '@stm32dfu/layout';
import { describe, expect, it } from 'vitest';
import { readBinary, validateImage, verifyStamp } from '../src/index.ts';
import { restampApplication, syntheticApplication } from '../src/testing.ts';

const layout = getLayout('blackpill-f411');

describe('syntheticApplication', () => {
  it('is what the bootloader boots: SP in SRAM, a Thumb reset handler in the image, a valid stamp', () => {
    const bytes = syntheticApplication(16 * 1024, { seed: 7, version: '3.2.1' });
    const report = validateImage(readBinary(bytes, { base: 0x08008000 }), layout, {
      file: 'synthetic',
    });
    expect(report.stamp?.verdict).toBe('valid');
    expect(report.stamp?.stamp.version).toBe(0x03020001);
    expect(report.vectorTable).toMatchObject({ initialSp: 0x20020000, resetHandler: 0x08008101 });
  });

  it('gives the same bytes for the same seed and different ones for another', () => {
    expect(
      Buffer.from(syntheticApplication(4096, { seed: 3 })).equals(
        Buffer.from(syntheticApplication(4096, { seed: 3 })),
      ),
    ).toBe(true);
    expect(
      Buffer.from(syntheticApplication(4096, { seed: 3 })).equals(
        Buffer.from(syntheticApplication(4096, { seed: 4 })),
      ),
    ).toBe(false);
  });

  it('restampApplication makes an edited image valid again', () => {
    const bytes = syntheticApplication(4096);
    bytes[0x800] = (bytes[0x800] ?? 0) ^ 0xff;
    expect(verifyStamp(readBinary(bytes, { base: 0x08008000 }), layout).verdict).toBe('bad-crc');
    const again = restampApplication(bytes, { version: '0.2.0' });
    expect(verifyStamp(readBinary(again, { base: 0x08008000 }), layout).verdict).toBe('valid');
  });
});
