import type { BoardLayout } from './boards.js';
import { sectorsOf } from './chips.js';
import { dfuseLayoutFor } from './dfuse.js';
import { formatSize, hex } from './errors.js';

/** A board's memory map as a table people can read, one erase unit a row. */
export function formatMemoryMap(layout: BoardLayout): string {
  const { board, chip, partitions } = layout;
  const sectors = sectorsOf(chip.flash);
  const req = partitions.bootRequest;
  const out: string[] = [
    `${board.name} — ${chip.name}, ${formatSize(chip.flash.size)} flash`,
    '',
    `  ${chip.flash.eraseUnit.padEnd(7)} start       end         size     partition`,
  ];
  // Page-based parts have hundreds of pages: list runs of same-size pages per partition.
  const rows: { from: number; to: number; size: number; part: string }[] = [];
  for (const s of sectors) {
    const part =
      s.start < partitions.bootloader.end ? 'bootloader (read-only over DFU)' : 'application';
    const last = rows[rows.length - 1];
    if (chip.flash.eraseUnit === 'page' && last && last.part === part && last.size === s.size) {
      last.to = s.index;
    } else {
      rows.push({ from: s.index, to: s.index, size: s.size, part });
    }
  }
  for (const r of rows) {
    const first = sectors[r.from]!;
    const last = sectors[r.to]!;
    const label = r.from === r.to ? `${r.from}` : `${r.from}–${r.to}`;
    out.push(
      `  ${label.padEnd(7)} ${hex(first.start)}  ${hex(last.end - 1)}  ${formatSize(last.end - first.start).padEnd(8)} ${r.part}`,
    );
  }
  out.push(
    '',
    `  bootloader   ${hex(partitions.bootloader.start)} + ${formatSize(partitions.bootloader.size)}`,
    `  application  ${hex(partitions.application.start)} + ${formatSize(partitions.application.size)}`,
    `  boot request ${hex(req.address)} (no-init RAM): magic ${hex(req.magic)}, then its complement`,
    `  SRAM         ${chip.sram.map((r) => `${r.name} ${hex(r.start)} + ${formatSize(r.size)}`).join(', ')}`,
    `  USB          ${hex(board.usbIdentity.vendorId, 4)}:${hex(board.usbIdentity.productId, 4)}`.replace(
      /0x/g,
      '',
    ),
    `  DfuSe        ${dfuseLayoutFor(layout)}`,
  );
  return out.join('\n');
}
