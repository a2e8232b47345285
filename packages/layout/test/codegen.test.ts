import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boardIds, generateFirmwareFiles, getLayout, sectorsOf } from '../src/index.ts';

function have(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A missing compiler fails the run in CI and skips locally with the package to install. */
function requireTool(tool: string, aptPackage: string): boolean {
  if (have(tool)) return true;
  if (process.env.CI)
    throw new Error(`${tool} is missing: install the Debian package ${aptPackage}`);
  console.warn(`skipping: ${tool} not installed (apt-get install ${aptPackage})`);
  return false;
}

function writeBoard(board: string): string {
  const dir = mkdtempSync(join(tmpdir(), `layout-${board}-`));
  for (const f of generateFirmwareFiles(getLayout(board)))
    writeFileSync(join(dir, f.name), f.content);
  return dir;
}

describe.each(boardIds)('generated firmware files for %s', (board) => {
  const layout = getLayout(board);
  const dir = writeBoard(board);

  it('the header compiles on its own (gcc -fsyntax-only)', () => {
    if (!requireTool('gcc', 'gcc')) return;
    execFileSync('gcc', [
      '-std=c11',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-fsyntax-only',
      '-x',
      'c',
      join(dir, 'stm32dfu_layout.h'),
    ]);
  });

  it('the sector table and partitions in C agree with the layout, checked by the C compiler', () => {
    if (!requireTool('gcc', 'gcc')) return;
    const sectors = sectorsOf(layout.chip.flash);
    const appFirst = layout.partitions.application.sectors[0]!;
    const check = [
      '#include "stm32dfu_layout.h"',
      'typedef struct { uint32_t start, size, erase_typ, erase_max; } sector_t;',
      'static const sector_t table[] = STM32DFU_SECTOR_TABLE;',
      `_Static_assert(sizeof table / sizeof table[0] == ${sectors.length}, "sector count");`,
      `_Static_assert(STM32DFU_SECTOR_COUNT == ${sectors.length}, "sector count macro");`,
      `_Static_assert(STM32DFU_APP_BASE == ${appFirst.start}u, "app base");`,
      `_Static_assert(STM32DFU_APP_FIRST_SECTOR == ${appFirst.index}u, "app first sector");`,
      `_Static_assert(STM32DFU_BOOT_REQUEST_MAGIC == ${layout.partitions.bootRequest.magic}u, "magic");`,
      'int main(void) {',
      '  uint32_t sum = 0;',
      '  for (unsigned i = 0; i < STM32DFU_SECTOR_COUNT; i++) {',
      '    if (i > 0 && table[i].start != table[i - 1].start + table[i - 1].size) return 1;',
      '    sum += table[i].size;',
      '  }',
      '  return sum == STM32DFU_FLASH_SIZE ? 0 : 2;',
      '}',
    ].join('\n');
    writeFileSync(join(dir, 'check.c'), check);
    execFileSync('gcc', [
      '-std=c11',
      '-Wall',
      '-Wextra',
      '-Werror',
      `-I${dir}`,
      join(dir, 'check.c'),
      '-o',
      join(dir, 'check'),
    ]);
    expect(spawnSync(join(dir, 'check')).status).toBe(0);
  });

  it.each(['bootloader', 'application'] as const)(
    'a Cortex-M program links with the %s MEMORY fragment at the right addresses',
    (image) => {
      if (!requireTool('arm-none-eabi-gcc', 'gcc-arm-none-eabi')) return;
      const partition = layout.partitions[image];
      writeFileSync(
        join(dir, 'tiny.c'),
        [
          'extern unsigned long __stm32dfu_stack_top;',
          'void reset(void) { for (;;) {} }',
          '__attribute__((section(".vectors"), used)) static const void *vectors[2] = { &__stm32dfu_stack_top, reset };',
          'int counter = 42;',
        ].join('\n'),
      );
      writeFileSync(
        join(dir, `tiny-${image}.ld`),
        [
          `INCLUDE memory-${image}.ld`,
          'SECTIONS {',
          '  .text : { KEEP(*(.vectors)) *(.text*) *(.rodata*) } > FLASH',
          '  .data : { *(.data*) } > RAM AT > FLASH',
          '  .bss (NOLOAD) : { *(.bss*) *(COMMON) } > RAM',
          '}',
        ].join('\n'),
      );
      const elf = join(dir, `tiny-${image}.elf`);
      execFileSync('arm-none-eabi-gcc', [
        '-mcpu=cortex-m4',
        '-mthumb',
        '-nostdlib',
        '-Os',
        `-L${dir}`,
        `-T${join(dir, `tiny-${image}.ld`)}`,
        join(dir, 'tiny.c'),
        '-o',
        elf,
      ]);
      const headers = execFileSync('arm-none-eabi-objdump', ['-h', elf], { encoding: 'utf8' });
      const text = headers
        .split('\n')
        .find((l) => /\s\.text\s/.test(l))!
        .trim()
        .split(/\s+/);
      const data = headers
        .split('\n')
        .find((l) => /\s\.data\s/.test(l))!
        .trim()
        .split(/\s+/);
      // columns: idx name size vma lma ...
      expect(Number.parseInt(text[3]!, 16)).toBe(partition.start);
      const ramStart =
        layout.partitions.bootRequest.address + layout.partitions.bootRequest.noInitSize;
      expect(Number.parseInt(data[3]!, 16)).toBe(ramStart);
      expect(Number.parseInt(data[4]!, 16)).toBeGreaterThan(partition.start);
      expect(Number.parseInt(data[4]!, 16)).toBeLessThan(partition.end);
    },
  );

  it('the CMake fragment names the board and chip', () => {
    const cmake = readFileSync(join(dir, 'layout.cmake'), 'utf8');
    expect(cmake).toContain(`set(STM32DFU_BOARD "${board}")`);
    expect(cmake).toContain(`set(STM32DFU_CHIP "${layout.chip.id}")`);
  });
});
