/** stm32dfu layout [--board B] [--ld | --header | --dfuse | --json]: the board's memory map. */
import {
  dfuseLayoutFor,
  formatMemoryMap,
  generateFirmwareFiles,
  getLayout,
} from '@stm32dfu/layout';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { EXIT, type ExitStatus } from '../errors.js';

export async function run(
  _args: unknown[],
  options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  const layout = getLayout(options.board ?? 'blackpill-f411');
  const file = (name: string) =>
    generateFirmwareFiles(layout).find((f) => f.name === name)!.content;
  if (options.json) {
    output.result(
      {
        command: 'layout',
        ok: true,
        exitStatus: EXIT.OK,
        board: layout.board,
        chip: layout.chip,
        partitions: layout.partitions,
        dfuse: dfuseLayoutFor(layout),
      },
      () => undefined,
    );
    return EXIT.OK;
  }
  const text = options.ld
    ? file('memory-application.ld')
    : options.header
      ? file('stm32dfu_layout.h')
      : options.dfuse
        ? dfuseLayoutFor(layout)
        : formatMemoryMap(layout);
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return EXIT.OK;
}
