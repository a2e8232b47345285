import { getLayout } from '@stm32dfu/layout';
import { describe, expect, it } from 'vitest';
import { SparseImage, stampImage, validateImage } from '../src/index.ts';
import { expectImageError } from './helpers.ts';

const layout = getLayout('blackpill-f411');
const APP = 0x08008000;

function app(sp: number, reset: number, length = 256, base = APP): SparseImage {
  const data = new Uint8Array(length);
  const view = new DataView(data.buffer);
  view.setUint32(0, sp, true);
  view.setUint32(4, reset, true);
  return SparseImage.fromBytes(base, data);
}

describe('validateImage (Black Pill F411)', () => {
  it('accepts a sane application, with SP at the end of SRAM, and plans the erase', () => {
    const img = stampImage(app(0x20020000, APP + 0x81), layout, { version: '1.0.0' });
    const report = validateImage(img, layout);
    expect(report.region).toMatchObject({ name: 'application', start: APP });
    expect(report.vectorTable).toEqual({
      address: APP,
      initialSp: 0x20020000,
      resetHandler: APP + 0x81,
    });
    expect(report.sectors.map((s) => s.number)).toEqual([2]);
    expect(report.erase.estimatedMs?.typ).toBe(250);
    expect(report.stamp?.verdict).toBe('valid');
    expect(report.warnings).toEqual([]);
  });

  it('warns (does not throw) about an unstamped application', () => {
    const report = validateImage(app(0x20010000, APP + 0x101), layout);
    expect(report.stamp?.verdict).toBe('bad-magic');
    expect(report.warnings.join(' ')).toContain('not stamped');
    // The reset handler at +0x100 lies past the 256 bytes of this image.
    expect(report.warnings.join(' ')).toContain('does not contain');
  });

  it('refuses bytes in the bootloader, naming the address', () => {
    const e = expectImageError(
      () =>
        validateImage(app(0x20020000, 0x08000101, 256, 0x08000000), layout, { file: 'app.hex' }),
      'IN_BOOTLOADER',
    );
    expect(e.details.address).toBe(0x08000000);
    expect(e.message).toContain('app.hex');
    expect(e.message).toContain('0x08008000');
  });

  it('refuses images past the end of flash', () => {
    const img = app(0x20020000, APP + 0x101).merge(
      SparseImage.fromBytes(0x08080000, new Uint8Array(4)),
    );
    const e = expectImageError(() => validateImage(img, layout), 'OUTSIDE_REGION');
    expect(e.details.address).toBe(0x08080000);
  });

  it('refuses a bad vector table: SP outside SRAM, no Thumb bit, handler outside the region', () => {
    let e = expectImageError(
      () => validateImage(app(0x20020004, APP + 0x101), layout),
      'BAD_VECTOR_TABLE',
    );
    expect(e.message).toContain('0x20020004');
    e = expectImageError(
      () => validateImage(app(0x20020000, APP + 0x100), layout),
      'BAD_VECTOR_TABLE',
    );
    expect(e.message).toContain('Thumb');
    expect(e.details.address).toBe(APP + 4);
    e = expectImageError(
      () => validateImage(app(0x20020000, 0x08000101), layout),
      'BAD_VECTOR_TABLE',
    );
    expect(e.message).toContain('outside the application region');
    e = expectImageError(
      () => validateImage(SparseImage.fromBytes(APP + 0x200, new Uint8Array(8)), layout),
      'BAD_VECTOR_TABLE',
    );
    expect(e.message).toContain('no vector table at 0x08008000');
    expect(
      validateImage(SparseImage.fromBytes(APP + 0x200, new Uint8Array(8)), layout, {
        vectorTable: false,
      }).size,
    ).toBe(8);
  });

  it('checks the bootloader and the whole flash as regions too', () => {
    const bl = app(0x20020000, 0x08000101, 256, 0x08000000);
    expect(
      validateImage(bl, layout, { region: 'bootloader' }).sectors.map((s) => s.number),
    ).toEqual([0]);
    expect(validateImage(bl, layout, { region: 'flash' }).stamp).toBeUndefined();
    expectImageError(
      () => validateImage(app(0x20020000, APP + 0x101), layout, { region: 'bootloader' }),
      'OUTSIDE_REGION',
    );
    expectImageError(() => validateImage(SparseImage.empty(), layout), 'EMPTY_IMAGE');
  });
});
