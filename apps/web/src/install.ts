/** The one-button install: into the bootloader, plan, erase, write, verify, start the app. */
import { dfuseLayoutFor, parseDfuseLayout } from '@stm32dfu/layout';
import {
  AbortError,
  type DfuDevice,
  type DownloadResult,
  download,
  type FlashImage,
  type FlashPlan,
  type ProgressEvent,
  planDownload,
  planFlash,
} from '@stm32dfu/protocol';
import { type Connection, refresh } from './board.js';
import { describeError } from './image.js';
import { SignatureRefused } from './security.js';

export type InstallPhase = 'connecting' | 'comparing' | 'erase' | 'write' | 'verify' | 'starting';

/** What each phase is called on the page. */
export const PHASE_TEXT: Record<InstallPhase, string> = {
  connecting: 'Connecting to the bootloader…',
  comparing: 'Comparing sectors with the board…',
  erase: 'Erasing…',
  write: 'Writing…',
  verify: 'Verifying…',
  starting: 'Starting the application…',
};

export interface PhaseProgress {
  readonly phase: InstallPhase;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Bytes per second on the board's clock (virtual time for the virtual board). */
  readonly rate: number | undefined;
  /** Seconds left in this phase at that rate. */
  readonly etaSeconds: number | undefined;
}

export interface InstallOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: PhaseProgress) => void;
  readonly log?: (line: string) => void;
  /** Rewrite every touched sector instead of only those that differ. */
  readonly full?: boolean;
  /**
   * Runs with the board in its bootloader, before anything is erased or written: throwing
   * stops the install with the board unchanged (the page's signature check). A board this
   * install sent into the bootloader is sent back to its application first (`restoreBoard`);
   * a `SignatureRefused` then says so in its message.
   */
  readonly beforeWrite?: (dfu: DfuDevice) => Promise<void>;
}

export interface InstallOutcome {
  readonly result: DownloadResult;
  /** Board time the install took, ms. */
  readonly elapsedMs: number;
}

const PHASE: Record<ProgressEvent['phase'], InstallPhase> = {
  read: 'comparing',
  erase: 'erase',
  write: 'write',
  verify: 'verify',
};

/**
 * Opens the board in DFU mode (detaching a running application), logging what it does;
 * `detached` says the application was running and is in the bootloader now.
 */
export async function openForInstall(
  connection: Connection,
  options: InstallOptions,
): Promise<{ readonly dfu: DfuDevice; readonly detached: boolean }> {
  const { transport } = connection;
  let detached = false;
  const dfu = await transport.openBootloader(connection.device, {
    ...(options.signal ? { signal: options.signal } : {}),
    onDetach: () => {
      detached = true;
      options.log?.('the application is running: sending it into the bootloader (DETACH)');
    },
  });
  connection.device = dfu.usb;
  return { dfu, detached };
}

/**
 * The board as it was before an install that stopped before writing: one this install sent
 * into the bootloader leaves it again (the bootloader's own leave, as `stm32dfu flash` does
 * after a refusal: it starts the installed image only if that passes its boot checks, and
 * otherwise refuses and stays); one found in the bootloader stays there. Flash is never
 * touched. True when the application runs again.
 */
async function restoreBoard(
  connection: Connection,
  dfu: DfuDevice,
  detached: boolean,
  log: (line: string) => void,
): Promise<boolean> {
  if (detached) {
    try {
      await dfu.leave({ usb: connection.transport.usb });
      log('nothing was written: the application it was running was started again');
      await refresh(connection).catch(() => {});
      return true;
    } catch (error) {
      log(
        `nothing was written; the application was not started again (${describeError(error)}): the board stays in the bootloader`,
      );
    }
  }
  await dfu.release().catch(() => {});
  return false;
}

/** Which sectors the image would change on this board, without writing anything. */
export async function previewPlan(dfu: DfuDevice, image: FlashImage, connection: Connection) {
  return planDownload(dfu, image, { timings: connection.layout.chip.timings });
}

/** stm32dfu's bootloader's wTransferSize: how a plan made without the board cuts blocks. */
const BOOTLOADER_TRANSFER_SIZE = 2048;

/**
 * The plan for a board whose application is running: its sectors cannot be read until it is
 * in the bootloader, so every touched sector counts as erased and written (the most it takes).
 */
export function planWithoutComparing(image: FlashImage, connection: Connection): FlashPlan {
  return planFlash(image, {
    layout: parseDfuseLayout(dfuseLayoutFor(connection.layout)),
    transferSize: BOOTLOADER_TRANSFER_SIZE,
    compare: 'off',
    timings: connection.layout.chip.timings,
  });
}

/** The plan in a sentence, for the page before Install is pressed. */
export function describePlan(plan: FlashPlan): string {
  const count = (n: number, what: string) => `${n} sector${n === 1 ? '' : 's'} ${what}`;
  const of = (action: string) => plan.sectors.filter((s) => s.action === action).length;
  const seconds = plan.estimate ? `; about ${(plan.estimate.totalMs / 1000).toFixed(1)} s` : '';
  if (plan.compare === 'off') {
    return (
      `Planned without comparing (the application is running; the sectors are compared once ` +
      `it is in the bootloader): at most ${count(of('erase') + of('write'), 'to erase and write')}${seconds}.`
    );
  }
  const parts = [
    of('erase') > 0 ? count(of('erase'), 'to erase and write') : '',
    of('write') > 0 ? count(of('write'), 'blank, to write') : '',
    of('skip') > 0 ? count(of('skip'), 'unchanged, skipped') : '',
  ].filter(Boolean);
  return `Install will touch: ${parts.join(', ')}${seconds}.`;
}

export async function install(
  connection: Connection,
  image: FlashImage,
  options: InstallOptions = {},
): Promise<InstallOutcome> {
  const clock = connection.transport.clock;
  const started = clock.now();
  const log = options.log ?? (() => {});
  let phase: InstallPhase = 'connecting';
  let phaseStart = started;
  options.onProgress?.({
    phase,
    bytesDone: 0,
    bytesTotal: 1,
    rate: undefined,
    etaSeconds: undefined,
  });
  const { dfu, detached } = await openForInstall(connection, options);
  log(
    `bootloader open: serial ${dfu.serialNumber ?? 'none'}, transfer size ${dfu.transferSize} bytes`,
  );
  if (options.beforeWrite) {
    try {
      await options.beforeWrite(dfu);
    } catch (error) {
      const restarted = await restoreBoard(connection, dfu, detached, log);
      throw restarted && error instanceof SignatureRefused
        ? error.withApplicationRestarted()
        : error;
    }
  }
  try {
    const result = await download(dfu, image, {
      verify: true,
      leave: true,
      differential: !options.full,
      usb: connection.transport.usb,
      timings: connection.layout.chip.timings,
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (event) => {
        const next = PHASE[event.phase];
        if (next !== phase) {
          phase = next;
          phaseStart = clock.now();
          log(`${phase}: ${event.bytesTotal} bytes`);
        }
        const seconds = (clock.now() - phaseStart) / 1000;
        const rate = seconds > 0 ? event.bytesDone / seconds : undefined;
        const etaSeconds = rate ? (event.bytesTotal - event.bytesDone) / rate : undefined;
        options.onProgress?.({
          phase,
          bytesDone: event.bytesDone,
          bytesTotal: event.bytesTotal,
          rate,
          etaSeconds,
        });
      },
    });
    options.onProgress?.({
      phase: 'starting',
      bytesDone: 1,
      bytesTotal: 1,
      rate: undefined,
      etaSeconds: 0,
    });
    log(summarizeResult(result.plan, result));
    if (result.left) await refresh(connection).catch(() => {});
    return { result, elapsedMs: clock.now() - started };
  } catch (error) {
    if (error instanceof AbortError) {
      // ABORT brings the bootloader back to dfuIDLE; the partial image has no valid stamp,
      // so the board stays in the bootloader, ready for the next install.
      await dfu.ensureIdle(undefined, 'cancel').catch(() => {});
      log('cancelled: the board stays in the bootloader; install again to finish');
    }
    throw error;
  }
}

export function summarizeResult(plan: FlashPlan, result?: DownloadResult): string {
  const kb = (n: number) => `${Math.round(n / 1024)} kB`;
  const parts = [
    `erased ${kb(plan.eraseBytes)}`,
    `wrote ${kb(plan.writeBytes)}`,
    `skipped ${kb(plan.skippedBytes)} unchanged`,
  ];
  if (result && result.verified !== 'off') parts.push(`verified (${result.verified})`);
  if (result?.left) parts.push('application started');
  return parts.join(', ');
}

export function formatRate(p: PhaseProgress): string {
  const pct = p.bytesTotal > 0 ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 0;
  const parts = [`${pct} %`];
  if (p.rate) parts.push(`${(p.rate / 1024).toFixed(1)} kB/s`);
  if (p.etaSeconds !== undefined && p.etaSeconds > 0)
    parts.push(`${p.etaSeconds.toFixed(1)} s left`);
  return parts.join(' · ');
}
