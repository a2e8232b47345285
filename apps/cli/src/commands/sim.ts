/**
 * stm32dfu sim status | reset [--boot0 | --no-boot0] | power-cut --after-ops N — the virtual
 * board file: what it is and does at power-on, its pins, a power cut for the next command.
 */
import { createVirtualBoard } from '@stm32dfu/virtual-board/node';
import { listOf } from '../boards.js';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { parseNumber } from '../dfu.js';
import { CliError, EXIT, type ExitStatus } from '../errors.js';
import { readSimFile, writeSimFile } from '../sim-file.js';

export async function run(
  args: unknown[],
  options: GlobalOptions,
  { output }: CommandContext,
): Promise<ExitStatus> {
  const action = String(args[0]);
  const files = listOf(options.sim);
  if (files.length !== 1)
    throw new CliError('USAGE', `stm32dfu sim ${action} needs one --sim <file>.`, EXIT.USAGE);
  const path = files[0]!;
  const file = readSimFile(path, { board: options.board ?? 'blackpill-f411' });
  let state = file.state;
  switch (action) {
    case 'status':
      break;
    case 'reset': {
      const boot0 = options.boot0 === undefined ? state.boot0 : Boolean(options.boot0);
      state = { board: state.board, boot0 };
      writeSimFile(path, state, file.flash);
      break;
    }
    case 'power-cut': {
      if (options.afterOps === undefined)
        throw new CliError('USAGE', 'stm32dfu sim power-cut needs --after-ops <n>.', EXIT.USAGE);
      const n = parseNumber(String(options.afterOps), '--after-ops');
      if (n < 1) throw new CliError('USAGE', '--after-ops must be at least 1.', EXIT.USAGE);
      state = { ...state, powerCutAfterOps: n };
      writeSimFile(path, state, file.flash);
      break;
    }
    default:
      throw new CliError(
        'USAGE',
        `Unknown sim action "${action}": use status, reset or power-cut.`,
        EXIT.USAGE,
      );
  }
  // What the board does at power-on, from its own boot decision.
  const board = await createVirtualBoard({
    board: state.board,
    flash: file.flash,
    boot0: state.boot0,
  });
  await board.clock.sleep(1000);
  const boot = board.events.find((e) => e.type === 'boot');
  const verdict = boot && 'verdict' in boot ? boot.verdict : undefined;
  const result = {
    command: 'sim',
    ok: true,
    exitStatus: EXIT.OK,
    action,
    file: path,
    board: state.board,
    boot0: state.boot0,
    ...(state.powerCutAfterOps !== undefined ? { powerCutAfterOps: state.powerCutAfterOps } : {}),
    mode: board.mode,
    bootVerdict: verdict,
    serialNumber: board.serialNumber,
  };
  output.result(result, () =>
    [
      `${path}: ${state.board}, serial ${board.serialNumber}`,
      `  at power-on: ${board.mode} (${verdict})${state.boot0 ? ', Boot0 held' : ''}`,
      state.powerCutAfterOps !== undefined
        ? `  the next command loses power after ${state.powerCutAfterOps} flash operations`
        : undefined,
    ]
      .filter(Boolean)
      .join('\n'),
  );
  return EXIT.OK;
}
