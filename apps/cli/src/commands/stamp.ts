/** stm32dfu stamp <in> <out>: stamp an application image (contract 4) so the bootloader boots it. */
import { stampImage, validateImage, verifyStamp } from '@stm32dfu/image-tools';
import { readImageFile, writeImageFile } from '@stm32dfu/image-tools/node';
import { getLayout } from '@stm32dfu/layout';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { hex, parseNumber } from '../dfu.js';
import { EXIT, type ExitStatus } from '../errors.js';
import { formatForPath } from './convert.js';

export async function run(
  args: unknown[],
  options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  const [input, out] = args as [string, string];
  const format = formatForPath(out);
  const layout = getLayout(options.board ?? 'blackpill-f411');
  const base =
    options.address !== undefined
      ? parseNumber(options.address as string, 'The address')
      : layout.partitions.application.start;
  const read = await readImageFile(input, { base });
  validateImage(read.image, layout, { file: input });
  const stamped = stampImage(read.image, layout, {
    version: (options.appVersion as string | undefined) ?? '0.0.0',
  });
  const check = verifyStamp(stamped, layout);
  const { vendorId, productId } = layout.board.usbIdentity;
  await writeImageFile(
    out,
    stamped,
    format,
    format === 'dfuse' ? { vendorId, productId } : undefined,
  );
  output.result(
    {
      command: 'stamp',
      ok: true,
      exitStatus: EXIT.OK,
      input,
      output: out,
      format,
      length: check.stamp.length,
      crc: check.stamp.crc,
      version: check.stamp.version,
    },
    () =>
      `${out}: stamped at ${hex(layout.partitions.application.start + 0x1c)}, length ${check.stamp.length}, crc ${hex(check.stamp.crc)}`,
  );
  return EXIT.OK;
}
