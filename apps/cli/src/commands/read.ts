/** stm32dfu read <out> [--range ADDR:LEN]: read flash into a file; the format from its extension. */
import { SparseImage } from '@stm32dfu/image-tools';
import { writeImageFile } from '@stm32dfu/image-tools/node';
import { upload } from '@stm32dfu/protocol';
import { openOneBoard } from '../boards.js';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { hex, layoutFor, openDfu, parseRange } from '../dfu.js';
import { EXIT, type ExitStatus } from '../errors.js';
import { formatForPath } from './convert.js';

export async function run(
  args: unknown[],
  options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  const out = args[0] as string;
  const format = formatForPath(out);
  const handle = await openOneBoard(options, output);
  try {
    const layout = layoutFor(handle, options.board);
    const range = options.range
      ? parseRange(String(options.range))
      : {
          address: layout.partitions.application.start,
          length: layout.partitions.application.size,
        };
    const dfu = await openDfu(handle, output);
    const read = await upload(dfu, [range], {
      onProgress: (e) => output.progress(handle.label, e),
    });
    await dfu.release();
    const image = SparseImage.from(read);
    const { vendorId, productId } = layout.board.usbIdentity;
    const written = await writeImageFile(
      out,
      image,
      format,
      format === 'dfuse' ? { vendorId, productId } : undefined,
    );
    output.result(
      {
        command: 'read',
        ok: true,
        exitStatus: EXIT.OK,
        board: handle.label,
        file: out,
        format,
        address: range.address,
        length: image.size,
      },
      () =>
        `${handle.label}: read ${image.size} bytes from ${hex(range.address)} into ${written.path} (${format})`,
    );
    return EXIT.OK;
  } finally {
    await handle.close();
  }
}
