/** stm32dfu convert <in> <out>: any image format to any (.dfu with --vid/--pid). */
import { extname } from 'node:path';
import {
  readImageFile,
  type WritableImageFormat,
  writeImageFile,
} from '@stm32dfu/image-tools/node';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { hex, parseNumber } from '../dfu.js';
import { CliError, EXIT, type ExitStatus } from '../errors.js';

export const OUTPUT_FORMATS: Readonly<Record<string, WritableImageFormat>> = {
  '.bin': 'binary',
  '.hex': 'ihex',
  '.ihex': 'ihex',
  '.srec': 'srec',
  '.s19': 'srec',
  '.mot': 'srec',
  '.elf': 'elf',
  '.dfu': 'dfuse',
};

export function formatForPath(path: string): WritableImageFormat {
  const format = OUTPUT_FORMATS[extname(path).toLowerCase()];
  if (!format) {
    throw new CliError(
      'USAGE',
      `${path}: cannot tell the format from "${extname(path) || 'no extension'}"; use one of ${Object.keys(OUTPUT_FORMATS).join(', ')}.`,
      EXIT.USAGE,
    );
  }
  return format;
}

export async function run(
  args: unknown[],
  options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  const [input, out] = args as [string, string];
  const format = formatForPath(out);
  const base =
    options.address !== undefined
      ? parseNumber(options.address as string, 'The address')
      : 0x08008000;
  const read = await readImageFile(input, { base });
  const ids =
    format === 'dfuse'
      ? {
          ...(options.vid !== undefined
            ? { vendorId: parseNumber(String(options.vid), 'The vendor id') }
            : {}),
          ...(options.pid !== undefined
            ? { productId: parseNumber(String(options.pid), 'The product id') }
            : {}),
        }
      : undefined;
  const written = await writeImageFile(out, read.image, format, ids);
  output.result(
    {
      command: 'convert',
      ok: true,
      exitStatus: EXIT.OK,
      input,
      inputFormat: read.format,
      output: out,
      format,
      size: written.size,
      start: read.image.start,
      end: read.image.end,
    },
    () =>
      `${input} (${read.format}) → ${out} (${format}): ${read.image.size} bytes at ${hex(read.image.start)}–${hex(read.image.end - 1)}`,
  );
  return EXIT.OK;
}
