import { describe, expect, it } from 'vitest';
import {
  BOOT_REQUEST_MAGIC,
  definePartitions,
  getChip,
  getLayout,
  LayoutError,
} from '../src/index.ts';

describe('boards and partitions', () => {
  it('blackpill-f411: bootloader 32 kB at 0x08000000, application 480 kB at 0x08008000', () => {
    const { board, chip, partitions } = getLayout('blackpill-f411');
    expect(chip.id).toBe('stm32f411xe');
    expect(board.hseHz).toBe(25_000_000);
    expect(board.led).toEqual({ port: 'C', pin: 13, activeLow: true });
    expect(board.button).toEqual({ port: 'A', pin: 0, activeLow: true });
    expect(board.usb).toMatchObject({ dm: 'PA11', dp: 'PA12' });
    expect(partitions.bootloader).toMatchObject({
      start: 0x08000000,
      size: 32 * 1024,
      end: 0x08008000,
    });
    expect(partitions.application).toMatchObject({
      start: 0x08008000,
      size: 480 * 1024,
      end: 0x08080000,
    });
    expect(partitions.bootloader.sectors.map((s) => s.index)).toEqual([0, 1]);
    expect(partitions.application.sectors.map((s) => s.index)).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it('netduinoplus2 (F405 in QEMU) keeps the same first sectors and runs the app to 1 MB', () => {
    const { partitions, board } = getLayout('netduinoplus2');
    expect(board.emulated).toBe(true);
    expect(partitions.application).toMatchObject({ start: 0x08008000, end: 0x08100000 });
  });

  it('the boot-request word is in no-init SRAM with a non-trivial magic', () => {
    const { partitions, chip } = getLayout('blackpill-f411');
    const req = partitions.bootRequest;
    expect(req.address).toBe(chip.sram[0]!.start);
    expect(req.magic).toBe(BOOT_REQUEST_MAGIC);
    expect(req.magic).not.toBe(0);
    expect(req.magic).not.toBe(0xffffffff);
  });

  it('USB ids are the board’s own, never ST’s ROM bootloader 0483:df11', () => {
    for (const id of ['blackpill-f411', 'netduinoplus2']) {
      const usb = getLayout(id).board.usbIdentity;
      expect(`${usb.vendorId}:${usb.productId}`).not.toBe(`${0x0483}:${0xdf11}`);
      expect(usb.bootloaderBcdDevice).not.toBe(usb.applicationBcdDevice);
    }
  });

  it('a bootloader size that does not end on a sector boundary is refused', () => {
    try {
      definePartitions(getChip('stm32f411xe'), { bootloaderSize: 24 * 1024 });
      expect.unreachable();
    } catch (e) {
      expect((e as LayoutError).code).toBe('UNALIGNED_PARTITION');
      expect((e as LayoutError).details.address).toBe(0x08006000);
      expect((e as LayoutError).message).toContain('0x08006000');
    }
  });

  it('a 64 kB bootloader is accepted on the F411 (ends at sector 4)', () => {
    const p = definePartitions(getChip('stm32f411xe'), { bootloaderSize: 64 * 1024 });
    expect(p.application.start).toBe(0x08010000);
  });

  it('a custom board definition resolves like a built-in one', () => {
    const custom = {
      ...getLayout('blackpill-f411').board,
      id: 'my-board',
      chip: 'stm32f401xc' as const,
    };
    const layout = getLayout(custom);
    expect(layout.partitions.application.end).toBe(0x08040000);
  });

  it('an unknown board is a typed error naming it and the known boards', () => {
    expect(() => getLayout('bluepill')).toThrowError(LayoutError);
    try {
      getLayout('bluepill');
    } catch (e) {
      expect((e as LayoutError).code).toBe('UNKNOWN_BOARD');
      expect((e as LayoutError).message).toMatch(/"bluepill".*blackpill-f411/);
    }
  });
});
