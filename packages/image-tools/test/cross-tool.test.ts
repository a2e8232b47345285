import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getLayout } from '@stm32dfu/layout';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addDfuSuffix,
  readElf,
  readImage,
  type SparseImage,
  validateImage,
  writeBinary,
  writeDfuse,
  writeIntelHex,
  writeSrec,
} from '../src/index.ts';
import { missingTools, run, TOOL_PACKAGES, tempDir } from './helpers.ts';

const TOOLS = [
  'arm-none-eabi-gcc',
  'arm-none-eabi-objcopy',
  'srec_cat',
  'dfu-suffix',
  'dfuse-pack',
];
const missing = missingTools(TOOLS);
if (missing.length > 0) {
  console.warn(
    `skipping cross-tool tests: ${missing.join(', ')} not found; apt-get install ${[
      ...new Set(missing.map((m) => TOOL_PACKAGES[m])),
    ].join(' ')}`,
  );
}

const BASE = 0x08008000;

// A tiny Cortex-M4 application: vector table, .text, .rodata, and .data whose initial
// values are stored in flash (load address) and copied to RAM (run address) at reset.
const PROGRAM = `
typedef unsigned int u32;
extern u32 _sidata, _sdata, _edata, _estack;
void reset_handler(void);
void default_handler(void) { for (;;) {} }
__attribute__((section(".isr_vector"), used))
const void *const vectors[16] = {
  &_estack, reset_handler, default_handler, default_handler, default_handler,
  default_handler, default_handler, 0, 0, 0, 0, default_handler, default_handler,
  0, default_handler, default_handler,
};
const char message[] = "stm32dfu image-tools cross-check";
volatile u32 counter = 0x12345678;
u32 table[4] = { 0xA1A2A3A4, 0xB1B2B3B4, 0xC1C2C3C4, 0xD1D2D3D4 };
void reset_handler(void) {
  u32 *src = &_sidata;
  for (u32 *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (;;) counter += (u32)message[counter & 15] + table[counter & 3];
}
`;

const LINKER_SCRIPT = `
MEMORY {
  FLASH (rx) : ORIGIN = 0x08008000, LENGTH = 480K
  RAM (rwx)  : ORIGIN = 0x20000010, LENGTH = 128K - 16
}
ENTRY(reset_handler)
_estack = ORIGIN(RAM) + LENGTH(RAM);
SECTIONS {
  .isr_vector : { KEEP(*(.isr_vector)) } > FLASH
  .text : { *(.text*) } > FLASH
  .rodata : { *(.rodata*) . = ALIGN(4); } > FLASH
  _sidata = LOADADDR(.data);
  .data : { _sdata = .; *(.data*) . = ALIGN(4); _edata = .; } > RAM AT > FLASH
  .bss : { *(.bss*) *(COMMON) } > RAM
}
`;

describe.skipIf(missing.length > 0)(
  'cross-check with arm-none-eabi, srec_cat, dfu-suffix, dfuse-pack',
  () => {
    const dir = tempDir();
    const at = (name: string) => join(dir.path, name);
    const file = (name: string) => new Uint8Array(readFileSync(at(name)));
    let elfImage: SparseImage;
    let elfBytes: Uint8Array;

    beforeAll(() => {
      writeFileSync(at('app.c'), PROGRAM);
      writeFileSync(at('app.ld'), LINKER_SCRIPT);
      run(
        'arm-none-eabi-gcc',
        [
          '-mcpu=cortex-m4',
          '-mthumb',
          '-nostdlib',
          '-O1',
          '-T',
          'app.ld',
          'app.c',
          '-o',
          'app.elf',
        ],
        dir.path,
      );
      for (const [fmt, out] of [
        ['binary', 'app.bin'],
        ['ihex', 'app.hex'],
        ['srec', 'app.srec'],
      ] as const) {
        run('arm-none-eabi-objcopy', ['-O', fmt, 'app.elf', out], dir.path);
      }
      elfBytes = file('app.elf');
      elfImage = readElf(elfBytes, { file: 'app.elf' }).image;
    });
    afterAll(() => dir.cleanup());

    it('puts .data at its load address in flash, not at its RAM address', () => {
      const elf = readElf(elfBytes, { file: 'app.elf' });
      const data = elf.sections.find((s) => s.name === '.data')!;
      expect(data.address).toBeGreaterThanOrEqual(0x20000010);
      expect(data.loadAddress).toBeGreaterThan(BASE);
      expect(data.loadAddress).toBeLessThan(0x08010000);
      const initial = elfImage.read(data.loadAddress!, data.size);
      const words = new DataView(initial.buffer);
      const values = Array.from({ length: data.size / 4 }, (_, i) => words.getUint32(i * 4, true));
      expect(values).toEqual(expect.arrayContaining([0x12345678, 0xa1a2a3a4, 0xd1d2d3d4]));
      expect(elfImage.byteAt(data.address)).toBeUndefined();
      expect(elf.entry & 1).toBe(1);
      expect(elfImage.start).toBe(BASE);
      // The compiled program is a sane application for the Black Pill.
      const report = validateImage(elfImage, getLayout('blackpill-f411'), { file: 'app.elf' });
      expect(report.vectorTable?.initialSp).toBe(0x20020000);
    });

    it('reads objcopy binary / ihex / srec to the same bytes at the same addresses as the ELF', () => {
      const hex = readImage(file('app.hex'), { fileName: 'app.hex' });
      expect(hex.format).toBe('ihex');
      expect(hex.image.equals(elfImage)).toBe(true);
      const srec = readImage(file('app.srec'), { fileName: 'app.srec' });
      expect(srec.format).toBe('srec');
      expect(srec.image.equals(elfImage)).toBe(true);
      const bin = readImage(file('app.bin'), { fileName: 'app.bin', base: BASE });
      // objcopy -O binary fills gaps with zeros.
      expect(bin.image.equals(elfImage.fillGaps(0))).toBe(true);
    });

    it('reads srec_cat output (S3 records and 32-byte Intel HEX) the same way', () => {
      run(
        'srec_cat',
        ['app.hex', '-intel', '-o', 'cat.s37', '-motorola', '-address-length=4'],
        dir.path,
      );
      run('srec_cat', ['app.srec', '-o', 'cat.hex', '-intel', '-line-length=76'], dir.path);
      expect(readImage(file('cat.s37'), { fileName: 'cat.s37' }).image.equals(elfImage)).toBe(true);
      expect(readImage(file('cat.hex'), { fileName: 'cat.hex' }).image.equals(elfImage)).toBe(true);
    });

    it('reads binaries with a dfu-suffix suffix and dfuse-pack .dfu files', () => {
      copyFileSync(at('app.bin'), at('suffixed.bin'));
      run('dfu-suffix', ['-v', '0x1209', '-p', '0x0001', '-a', 'suffixed.bin'], dir.path);
      const suffixed = readImage(file('suffixed.bin'), { fileName: 'suffixed.bin', base: BASE });
      expect(suffixed.format).toBe('dfu');
      expect(suffixed.dfu).toMatchObject({ vendorId: 0x1209, productId: 0x0001 });
      expect(suffixed.image.equals(elfImage.fillGaps(0))).toBe(true);

      run(
        'dfuse-pack',
        ['-b', `0x${BASE.toString(16)}:app.bin`, '-D', '0x1209:0x0001', 'packed.dfu'],
        dir.path,
      );
      const packed = readImage(file('packed.dfu'), { fileName: 'packed.dfu' });
      expect(packed.format).toBe('dfuse');
      expect(packed.dfu).toMatchObject({ vendorId: 0x1209, productId: 0x0001, dfuVersion: 0x011a });
      expect(packed.image.equals(elfImage.fillGaps(0))).toBe(true);
    });

    it('writes Intel HEX and S-records that srec_cat turns into the same binary', () => {
      writeFileSync(at('ours.hex'), writeIntelHex(elfImage, { startLinear: 0x08008001 }));
      writeFileSync(at('ours32.hex'), writeIntelHex(elfImage, { recordSize: 32 }));
      writeFileSync(at('ours.srec'), writeSrec(elfImage, { header: 'app', start: BASE }));
      const offset = ['-offset', `-0x${BASE.toString(16)}`];
      run('srec_cat', ['ours.hex', '-intel', ...offset, '-o', 'from-hex.bin', '-binary'], dir.path);
      run(
        'srec_cat',
        ['ours32.hex', '-intel', ...offset, '-o', 'from-hex32.bin', '-binary'],
        dir.path,
      );
      run('srec_cat', ['ours.srec', ...offset, '-o', 'from-srec.bin', '-binary'], dir.path);
      // srec_cat writes gaps as zeros, like objcopy.
      const expected = file('app.bin');
      expect(file('from-hex.bin')).toEqual(expected);
      expect(file('from-hex32.bin')).toEqual(expected);
      expect(file('from-srec.bin')).toEqual(expected);
    });

    it('writes a DFU suffix that dfu-suffix accepts and a .dfu that dfuse-pack dumps', () => {
      const { bytes } = writeBinary(elfImage, { fill: 0 });
      writeFileSync(
        at('ours.bin'),
        addDfuSuffix(bytes, { vendorId: 0x1209, productId: 0x0001, deviceVersion: 0x0200 }),
      );
      const check = run('dfu-suffix', ['-c', 'ours.bin'], dir.path);
      expect(check).toMatch(/Vendor ID:\s*0x1209/i);
      expect(check).toMatch(/Product ID:\s*0x0001/i);

      writeFileSync(at('ours.dfu'), writeDfuse(elfImage, { vendorId: 0x1209, productId: 0x0001 }));
      const dump = run('dfuse-pack', ['-d', 'ours.dfu'], dir.path);
      expect(dump).not.toMatch(/ERROR/);
      expect(dump).toContain('usb: 1209:0001');
      const elements = elfImage.segments.length;
      expect(dump).toContain(`elements: ${elements}`);
      for (const [i, s] of elfImage.segments.entries()) {
        expect(dump).toContain(
          `address: 0x${s.address.toString(16).padStart(8, '0')}, size: ${s.data.length}`,
        );
        const dumped = readdirSync(dir.path).find((n) => n === `ours.dfu.target0.image${i}.bin`);
        expect(dumped).toBeDefined();
        expect(file(dumped!)).toEqual(s.data);
      }
    });
  },
);
