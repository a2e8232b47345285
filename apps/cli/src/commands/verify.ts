/** stm32dfu verify <file>: compare the board with an image, sector by sector; write nothing. */
import { readImageFile } from '@stm32dfu/image-tools/node';
import { planDownload } from '@stm32dfu/protocol';
import { openOneBoard } from '../boards.js';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { hex, layoutFor, openDfu, parseNumber } from '../dfu.js';
import { EXIT, type ExitStatus } from '../errors.js';

export async function run(
  args: unknown[],
  options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  const file = args[0] as string;
  const handle = await openOneBoard(options, output);
  try {
    const layout = layoutFor(handle, options.board);
    const base =
      options.address !== undefined
        ? parseNumber(options.address as string, 'The address')
        : layout.partitions.application.start;
    const { image } = await readImageFile(file, { base });
    const dfu = await openDfu(handle, output);
    // The differential plan compares each touched sector with the device (its CRC
    // command, else a read-back); a sector to skip is one that already matches.
    const plan = await planDownload(dfu, image, { differential: true });
    await dfu.release();
    const differ = plan.sectors.filter((s) => s.action !== 'skip');
    const ok = differ.length === 0;
    output.result(
      {
        command: 'verify',
        ok,
        exitStatus: ok ? EXIT.OK : EXIT.VERIFY_FAILED,
        board: handle.label,
        file,
        compare: plan.compare,
        differingSectors: differ.map((s) => ({ start: s.start, size: s.size })),
        ...(ok
          ? {}
          : {
              error: { code: 'VERIFY', message: `${differ.length} sector(s) differ from ${file}` },
            }),
      },
      () =>
        ok
          ? `${handle.label}: matches ${file} (${plan.sectors.length} sector(s), by ${plan.compare})`
          : `${handle.label}: differs from ${file} in ${differ.map((s) => hex(s.start)).join(', ')}`,
    );
    return ok ? EXIT.OK : EXIT.VERIFY_FAILED;
  } finally {
    await handle.close();
  }
}
