import { describe, expect, it } from 'vitest';
import { dfuseLayoutFor, getLayout, LayoutError, parseDfuseLayout } from '../src/index.ts';

describe('DfuSe layout strings', () => {
  it('announces the F411 with the bootloader sectors read-only', () => {
    expect(dfuseLayoutFor(getLayout('blackpill-f411'))).toBe(
      '@Internal Flash  /0x08000000/02*016Ka,02*016Kg,01*064Kg,03*128Kg',
    );
  });

  it('the ROM-bootloader model lists every sector writable, as ST’s F411 ROM does', () => {
    expect(dfuseLayoutFor(getLayout('blackpill-f411'), { protectBootloader: false })).toBe(
      '@Internal Flash  /0x08000000/04*016Kg,01*064Kg,03*128Kg',
    );
  });

  it('parses our string back into the board’s sectors', () => {
    const layout = getLayout('blackpill-f411');
    const parsed = parseDfuseLayout(dfuseLayoutFor(layout));
    expect(parsed.name).toBe('Internal Flash');
    expect(parsed.sectors.map((s) => [s.start, s.size])).toEqual(
      layout.partitions.bootloader.sectors
        .concat(layout.partitions.application.sectors)
        .map((s) => [s.start, s.size]),
    );
    expect(parsed.sectors.filter((s) => !s.writable).map((s) => s.start)).toEqual([
      0x08000000, 0x08004000,
    ]);
  });

  it('parses ST ROM bootloader strings with byte-sized units', () => {
    const opt = parseDfuseLayout('@Option Bytes  /0x1FFFC000/01*016 e');
    expect(opt.sectors).toEqual([
      {
        start: 0x1fffc000,
        size: 16,
        end: 0x1fffc010,
        readable: true,
        erasable: false,
        writable: true,
      },
    ]);
    const otp = parseDfuseLayout('@OTP Memory /0x1FFF7800/01*512 e,01*016 e');
    expect(otp.sectors.map((s) => s.size)).toEqual([512, 16]);
  });

  it('parses several address segments and megabyte units', () => {
    const parsed = parseDfuseLayout('@Flash /0x08000000/04*016Kg/0x08100000/01*001Mg');
    expect(parsed.segments).toHaveLength(2);
    expect(parsed.sectors.at(-1)).toMatchObject({ start: 0x08100000, size: 1024 * 1024 });
  });

  it.each([
    ['Internal Flash /0x08000000/04*016Kg', 0, 'expected "@"'],
    ['@Internal Flash', 1, 'expected "/" after the memory name'],
    ['@Flash /08000000/04*016Kg', 8, 'expected "0x"'],
    ['@Flash /0x08000000/04x016Kg', 21, 'expected "*"'],
    ['@Flash /0x08000000/04*016Qg', 25, 'unknown size unit "Q"'],
    ['@Flash /0x08000000/04*016Kz', 26, 'sector type letter'],
    ['@Flash /0x08000000/04*016Kg,', 28, 'expected a number'],
  ])('refuses %j at character %i', (text, offset, what) => {
    try {
      parseDfuseLayout(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LayoutError);
      expect((e as LayoutError).code).toBe('MALFORMED_DFUSE_LAYOUT');
      expect((e as LayoutError).details.offset).toBe(offset);
      expect((e as LayoutError).message).toContain(what);
    }
  });
});
