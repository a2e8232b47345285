/** stm32dfu erase [--app | --sectors LIST]: erase application sectors, never the bootloader's. */
import { sectorsOf } from '@stm32dfu/layout';
import { massErase } from '@stm32dfu/protocol';
import { openOneBoard } from '../boards.js';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { layoutFor, openDfu } from '../dfu.js';
import { CliError, EXIT, type ExitStatus } from '../errors.js';

/** "2,3" or "4-7" or "2,5-7" → sector numbers. */
export function parseSectorList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m)
      throw new CliError('USAGE', `--sectors "${text}": give numbers like 2,3 or 4-7.`, EXIT.USAGE);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from)
      throw new CliError(
        'USAGE',
        `--sectors "${part.trim()}": the range runs backwards.`,
        EXIT.USAGE,
      );
    for (let i = from; i <= to; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

export async function run(
  _args: unknown[],
  options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  const handle = await openOneBoard(options, output);
  try {
    const layout = layoutFor(handle, options.board);
    const app = layout.partitions.application;
    let regions: { start: number; end: number }[] = [{ start: app.start, end: app.end }];
    if (options.sectors !== undefined) {
      const sectors = sectorsOf(layout.chip.flash);
      regions = parseSectorList(String(options.sectors)).map((n) => {
        const s = sectors.find((x) => x.index === n);
        if (!s)
          throw new CliError(
            'USAGE',
            `Sector ${n} does not exist on ${layout.board.id} (0–${sectors.length - 1}).`,
            EXIT.USAGE,
          );
        if (s.start < app.start) {
          throw new CliError(
            'PROTECTED',
            `Sector ${n} (0x${s.start.toString(16)}) holds the bootloader, which never erases itself; the application starts at sector ${app.sectors[0]?.index}.`,
            EXIT.REFUSED_BY_DEVICE,
          );
        }
        return { start: s.start, end: s.end };
      });
    }
    const dfu = await openDfu(handle, output);
    let bytes = 0;
    for (const region of regions)
      bytes += await massErase(dfu, {
        region,
        onProgress: (e) => output.progress(handle.label, e),
      });
    await dfu.release();
    output.result(
      {
        command: 'erase',
        ok: true,
        exitStatus: EXIT.OK,
        board: handle.label,
        erasedBytes: bytes,
        regions,
      },
      () => `${handle.label}: erased ${bytes / 1024} kB`,
    );
    return EXIT.OK;
  } finally {
    await handle.close();
  }
}
