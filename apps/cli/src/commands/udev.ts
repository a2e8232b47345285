import type { CommandContext, GlobalOptions } from '../cli.js';
import { EXIT, type ExitStatus } from '../errors.js';
export async function run(
  _a: unknown[],
  _o: GlobalOptions,
  _c: CommandContext,
): Promise<ExitStatus> {
  return EXIT.INTERNAL;
}
