/**
 * stm32dfu flash <file>: any image format; a raw binary at --address (default the
 * application base); an unstamped application is stamped (--no-stamp); differential
 * (--full rewrites all); verified (--no-verify); the application started (--stay not).
 * Several boards at once (--all, repeated --serial / --sim): in parallel, one board's
 * failure never stops the others, a summary at the end.
 */

import { type SparseImage, stampImage, validateImage } from '@stm32dfu/image-tools';
import { type ReadImageFileResult, readImageFile } from '@stm32dfu/image-tools/node';
import { type BoardLayout, dfuseLayoutFor, parseDfuseLayout } from '@stm32dfu/layout';
import {
  type DfuDevice,
  download,
  type FlashPlan,
  formatPlan,
  planDownload,
  planFlash,
} from '@stm32dfu/protocol';
import { type BoardHandle, openBoards } from '../boards.js';
import type { CommandContext, GlobalOptions } from '../cli.js';
import { hex, layoutFor, openDfu, parseNumber } from '../dfu.js';
import {
  CliError,
  describeError,
  EXIT,
  type ExitStatus,
  errorCodeOf,
  exitStatusOf,
} from '../errors.js';
import { type PublicKey, readPublicKeys } from '../keys.js';
import type { Output } from '../output.js';
import { precheckImage, refusalError } from '../precheck.js';

interface BoardOutcome {
  readonly board: string;
  readonly ok: boolean;
  readonly exitStatus: ExitStatus;
  readonly plan?: {
    readonly eraseBytes: number;
    readonly writeBytes: number;
    readonly skippedBytes: number;
    readonly sectors: readonly { start: number; size: number; action: string }[];
    readonly estimatedMs?: number;
  };
  readonly verified?: string;
  readonly started?: boolean;
  readonly outcome?: string;
  /** Virtual boards: the board's own time for the operation (the clock the datasheet sets). */
  readonly boardMs?: number;
  /** A board that requires signatures: what was checked here before sending the image. */
  readonly signature?: { readonly checked: 'trailer' | 'signature' };
  readonly error?: { readonly code: string; readonly message: string };
}

/** What flash checks an image against before sending it. */
interface ImageToFlash {
  readonly file: string;
  readonly image: SparseImage;
  readonly publicKeys: readonly PublicKey[];
}

/**
 * Would the board take this image? Asked before anything is sent: a board that requires
 * signatures refuses anything else at the end of the download, after its first erase has
 * revoked the application it had. Undefined for boards that do not check.
 */
async function precheck(
  device: DfuDevice,
  what: ImageToFlash,
  layout: BoardLayout,
  label: string,
  output: Output,
): Promise<BoardOutcome['signature']> {
  const record = await device.readSecurity();
  if (!record?.signaturesRequired) return undefined;
  const { refusal, signatureChecked } = precheckImage(what.image, layout, record, what.publicKeys);
  if (refusal) throw refusalError(what.file, label, refusal);
  output.info(
    signatureChecked
      ? `${label}: ${what.file}'s signature, key id, board id and security counter check`
      : `${label}: ${what.file}'s key id, board id, digest and counter check; its signature is left to the board ` +
          '(give --public-key to check it here)',
  );
  return { checked: signatureChecked ? 'signature' : 'trailer' };
}

async function loadImage(
  file: string,
  options: GlobalOptions,
  layout: BoardLayout,
): Promise<{ image: SparseImage; read: ReadImageFileResult; stamped: boolean }> {
  const base =
    options.address !== undefined
      ? parseNumber(options.address as string, 'The address')
      : layout.partitions.application.start;
  const read = await readImageFile(file, { base });
  const report = validateImage(read.image, layout, { file });
  let image = read.image;
  let stamped = false;
  if (report.stamp && report.stamp.verdict !== 'valid') {
    if (options.stamp === false) {
      throw new CliError(
        'IMAGE',
        `${file}: ${report.stamp.message} The bootloader starts only a stamped image; drop --no-stamp to stamp it here.`,
        EXIT.INVALID_IMAGE,
      );
    }
    image = stampImage(image, layout, {
      version: (options.appVersion as string | undefined) ?? '0.0.0',
    });
    stamped = true;
  }
  return { image, read, stamped };
}

function summarizePlan(plan: FlashPlan): BoardOutcome['plan'] {
  return {
    eraseBytes: plan.eraseBytes,
    writeBytes: plan.writeBytes,
    skippedBytes: plan.skippedBytes,
    sectors: plan.sectors.map((s) => ({ start: s.start, size: s.size, action: s.action })),
    ...(plan.estimate ? { estimatedMs: Math.round(plan.estimate.totalMs) } : {}),
  };
}

async function flashOne(
  handle: BoardHandle,
  what: ImageToFlash,
  layout: BoardLayout,
  options: GlobalOptions,
  context: CommandContext,
): Promise<BoardOutcome> {
  const { output } = context;
  const t0 = handle.clock.now();
  try {
    const { image } = what;
    const timings = layout.chip.timings;
    if (options.dryRun) {
      const device = await handle.device();
      const { DfuDevice } = await import('@stm32dfu/protocol');
      const probe = await DfuDevice.open(device, { clock: handle.clock });
      const signature =
        probe.mode === 'dfu'
          ? await precheck(probe, what, layout, handle.label, output)
          : undefined;
      // A running application is not detached for a dry run: the plan then compares nothing.
      const plan =
        probe.mode === 'dfu'
          ? await planDownload(probe, image, {
              differential: !options.full,
              ...(timings ? { timings } : {}),
            })
          : planFlash(image, {
              layout: parseDfuseLayout(dfuseLayoutFor(layout)),
              transferSize: probe.functional.transferSize || 2048,
              ...(timings ? { timings } : {}),
            });
      if (probe.mode !== 'dfu')
        output.info(
          `${handle.label}: the application is running, so every touched sector is planned as erased`,
        );
      output.info(`${handle.label}:\n${formatPlan(plan)}`);
      return {
        board: handle.label,
        ok: true,
        exitStatus: EXIT.OK,
        plan: summarizePlan(plan),
        ...(signature ? { signature } : {}),
      };
    }
    const found = await handle.device();
    const device = await openDfu(handle, output);
    const signature = await precheck(device, what, layout, handle.label, output).catch(
      async (error: unknown) => {
        // Sent into the bootloader for nothing: start the application it ran again.
        if (device.usb !== found) await device.leave({ usb: handle.usb }).catch(() => {});
        throw error;
      },
    );
    const result = await download(device, image, {
      verify: options.verify !== false,
      leave: !options.stay,
      differential: !options.full,
      usb: handle.usb,
      ...(timings ? { timings } : {}),
      onProgress: (e) => output.progress(handle.label, e),
    });
    output.event({ type: 'board', board: handle.label, ok: true });
    return {
      board: handle.label,
      ok: true,
      exitStatus: EXIT.OK,
      plan: summarizePlan(result.plan),
      verified: options.verify === false ? 'no' : result.verified,
      started: result.left,
      ...(result.outcome ? { outcome: result.outcome } : {}),
      ...(handle.sim ? { boardMs: Math.round(handle.clock.now() - t0) } : {}),
      ...(signature ? { signature } : {}),
    };
  } catch (error) {
    const exitStatus = exitStatusOf(error);
    const failure = { code: errorCodeOf(error), message: describeError(error) };
    output.event({ type: 'board', board: handle.label, ok: false, error: failure });
    return { board: handle.label, ok: false, exitStatus, error: failure };
  } finally {
    await handle
      .close()
      .catch((error: unknown) => output.warn(`${handle.label}: ${describeError(error)}`));
  }
}

function describe(o: BoardOutcome): string {
  if (!o.ok) return `${o.board}: FAILED: ${o.error?.message}`;
  const p = o.plan!;
  const kb = (n: number) => `${Math.round(n / 1024)} kB`;
  const parts = [
    `erased ${kb(p.eraseBytes)}`,
    `wrote ${kb(p.writeBytes)}`,
    `skipped ${kb(p.skippedBytes)} unchanged`,
  ];
  if (o.verified && p.writeBytes > 0) parts.push(`verified (${o.verified})`);
  if (o.started !== undefined)
    parts.push(o.started ? 'application started' : 'stays in the bootloader');
  if (o.boardMs !== undefined) {
    const floor =
      p.estimatedMs === undefined
        ? ''
        : ` (erase + program alone: ${(p.estimatedMs / 1000).toFixed(3)} s)`;
    parts.push(`${(o.boardMs / 1000).toFixed(3)} s on the board's clock${floor}`);
  }
  return `${o.board}: ${parts.join(', ')}`;
}

export async function run(
  args: unknown[],
  options: GlobalOptions,
  context: CommandContext,
): Promise<ExitStatus> {
  const { output } = context;
  const file = (args[0] as string | undefined) ?? (options.image as string | undefined);
  if (!file) {
    throw new CliError(
      'USAGE',
      'Give the image to flash: stm32dfu flash app.hex (or "image" in stm32dfu.json).',
      EXIT.USAGE,
    );
  }
  const publicKeys = readPublicKeys(options.publicKey);
  const boards = await openBoards(options, output);
  let outcomes: BoardOutcome[];
  try {
    const layout = layoutFor(boards[0]!, options.board);
    const { image, read, stamped } = await loadImage(file, options, layout);
    output.info(
      `${file}: ${read.format}, ${image.size} bytes at ${hex(image.start)}–${hex(image.end - 1)}` +
        (stamped
          ? `, stamped here (version ${(options.appVersion as string | undefined) ?? '0.0.0'})`
          : ''),
    );
    const what = { file, image, publicKeys };
    outcomes = await Promise.all(boards.map((b) => flashOne(b, what, layout, options, context)));
  } catch (error) {
    await Promise.all(boards.map((b) => b.close().catch(() => {})));
    throw error;
  }
  const failed = outcomes.filter((o) => !o.ok);
  const exitStatus = failed[0]?.exitStatus ?? EXIT.OK;
  output.result(
    {
      command: 'flash',
      ok: failed.length === 0,
      exitStatus,
      dryRun: Boolean(options.dryRun),
      boards: outcomes,
      ...(failed[0]?.error ? { error: failed[0].error } : {}),
    },
    () => {
      const lines = outcomes.map(describe);
      if (outcomes.length > 1) {
        lines.push(
          `${outcomes.length - failed.length} of ${outcomes.length} boards flashed${failed.length ? `, ${failed.length} failed` : ''}`,
        );
      }
      return options.dryRun ? undefined : lines.join('\n');
    },
  );
  if (failed.length > 0 && !options.json && outcomes.length === 1) {
    // The failure is the result: say it on stderr too, as every command's errors are.
    output.warn(`stm32dfu flash: ${failed[0]!.error!.message}`);
  }
  return exitStatus;
}
