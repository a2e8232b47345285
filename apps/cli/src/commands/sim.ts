/**
 * stm32dfu sim status | reset [--boot0 | --no-boot0] | power-cut --after-ops N |
 * lock --public-key K [--verify-at-boot] [--lock-upload] — the virtual board file: what it
 * is and does at power-on, its pins, a power cut for the next command, and a lock: the keys
 * and policy its bootloader runs with, as a board JSON's `signing` compiles them in. The
 * board's OTP area (its anti-rollback counter) is kept in the file across commands.
 */
import { createVirtualBoard } from '@stm32dfu/virtual-board/node';
import { listOf } from '../boards.js';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { parseNumber } from '../dfu.js';
import { CliError, EXIT, type ExitStatus } from '../errors.js';
import { readPublicKeys } from '../keys.js';
import { counterIn, otpOf, readSimFile, writeSimFile } from '../sim-file.js';

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
  // What stays with the board whatever the action: its lock and its OTP area.
  const kept = {
    ...(state.signing ? { signing: state.signing } : {}),
    ...(state.otp ? { otp: state.otp } : {}),
  };
  switch (action) {
    case 'status':
      break;
    case 'reset': {
      const boot0 = options.boot0 === undefined ? state.boot0 : Boolean(options.boot0);
      state = { board: state.board, boot0, ...kept };
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
    case 'lock': {
      const keys = readPublicKeys(options.publicKey);
      if (keys.length < 1 || keys.length > 4) {
        throw new CliError(
          'USAGE',
          `stm32dfu sim lock needs 1 to 4 --public-key <file> (the .pub files \`stm32dfu keygen\` writes); ${keys.length} given.`,
          EXIT.USAGE,
        );
      }
      state = {
        ...state,
        signing: {
          keys: keys.map((k) => Buffer.from(k.raw).toString('hex')),
          required: true,
          verifyAtBoot: Boolean(options.verifyAtBoot),
          lockUpload: Boolean(options.lockUpload),
        },
      };
      writeSimFile(path, state, file.flash);
      break;
    }
    default:
      throw new CliError(
        'USAGE',
        `Unknown sim action "${action}": use status, reset, power-cut or lock.`,
        EXIT.USAGE,
      );
  }
  // What the board does at power-on, from its own boot decision.
  const otp = otpOf(state);
  const board = await createVirtualBoard({
    board: state.board,
    flash: file.flash,
    boot0: state.boot0,
    ...(state.signing ? { signing: state.signing } : {}),
    ...(otp ? { otp } : {}),
  });
  await board.clock.sleep(1000);
  const boot = board.events.find((e) => e.type === 'boot');
  const verdict = boot && 'verdict' in boot ? boot.verdict : undefined;
  const signing = board.signing;
  const { keyIdOf } = await import('@stm32dfu/image-tools/node');
  const { formatId } = await import('@stm32dfu/protocol');
  const lock = signing && {
    keyIds: signing.keys.map((k) => formatId(keyIdOf(Buffer.from(k, 'hex')))),
    required: signing.required,
    verifyAtBoot: signing.verifyAtBoot,
    lockUpload: signing.lockUpload,
    ...counterIn(board.otp),
  };
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
    ...(lock ? { signing: lock } : {}),
  };
  output.result(result, () =>
    [
      `${path}: ${state.board}, serial ${board.serialNumber}`,
      `  at power-on: ${board.mode} (${verdict})${state.boot0 ? ', Boot0 held' : ''}`,
      state.powerCutAfterOps !== undefined
        ? `  the next command loses power after ${state.powerCutAfterOps} flash operations`
        : undefined,
      lock
        ? `  locked: installs only images signed with key${lock.keyIds.length > 1 ? 's' : ''} ${lock.keyIds.join(', ')}` +
          `${lock.verifyAtBoot ? ', checks them at every boot' : ''}${lock.lockUpload ? ', upload locked' : ''}; ` +
          `security counter ${lock.counter} of ${lock.capacity}`
        : '  not locked: installs any stamped image (stm32dfu sim lock --public-key K.pub locks it)',
    ]
      .filter(Boolean)
      .join('\n'),
  );
  return EXIT.OK;
}
