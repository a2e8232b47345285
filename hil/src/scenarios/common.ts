import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check } from '../errors.js';
import { firmwareFiles, readFirmware, stamped } from '../images.js';
import type { CliRun } from '../rig.js';
import type { ScenarioContext } from './types.js';

/** The example application stamped as `version`, written to the scratch directory. */
export function appFile(
  context: ScenarioContext,
  version: string,
): { path: string; bytes: Uint8Array } {
  const { rig } = context;
  const bytes = stamped(readFirmware(firmwareFiles(rig.layout.board.id).app), rig.layout, version);
  const path = join(context.dir, `app-${version}.bin`);
  writeFileSync(path, bytes);
  return { path, bytes };
}

/** A CLI step that must end with `status`; its result line is returned. */
export async function cliExpect(
  context: ScenarioContext,
  args: readonly string[],
  status: number,
): Promise<CliRun> {
  const run = await context.rig.cli(args);
  const said = (run.result?.error as { message?: string } | undefined)?.message;
  context.log(`$ stm32dfu ${args.join(' ')} → exit ${run.status}${said ? ` (${said})` : ''}`);
  check(
    run.status === status,
    `\`stm32dfu ${args.join(' ')}\` exited ${run.status}, expected ${status}:\n${run.stderr.trim() || run.stdout.trim()}`,
  );
  return run;
}
