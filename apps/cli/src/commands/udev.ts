/** stm32dfu udev [--install]: the Linux udev rule that lets users (not only root) open the boards. */
import { installUdevRules, UDEV_RULES_PATH, udevRules } from '@stm32dfu/transport-node';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { EXIT, type ExitStatus } from '../errors.js';

export async function run(
  _args: unknown[],
  options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  if (!options.install) {
    const rules = udevRules();
    output.result(
      { command: 'udev', ok: true, exitStatus: EXIT.OK, path: UDEV_RULES_PATH, rules },
      () => `# ${UDEV_RULES_PATH} (install it with: stm32dfu udev --install)\n${rules.trimEnd()}`,
    );
    return EXIT.OK;
  }
  const report = await installUdevRules({ reload: true });
  const ok = report.todo.length === 0;
  output.result(
    {
      command: 'udev',
      ok,
      exitStatus: ok ? EXIT.OK : EXIT.PERMISSION,
      ...report,
      ...(ok ? {} : { error: { code: 'ACCESS_DENIED', message: report.message } }),
    },
    () => [report.message, ...report.todo.map((c) => `  ${c}`)].join('\n'),
  );
  return ok ? EXIT.OK : EXIT.PERMISSION;
}
