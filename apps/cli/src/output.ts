/**
 * Everything the CLI prints goes through here, in one of three shapes:
 * - a terminal: a progress bar per board and phase (cli-progress), text results;
 * - not a terminal (a pipe, a CI log): plain lines, one when a phase starts and ends;
 * - `--json`: NDJSON on stdout — progress events, then one result object — and every
 *   log line on stderr, nothing else on stdout (json-events.ts has the schema).
 */
import { createRequire } from 'node:module';
import type { ProgressEvent } from '@stm32dfu/protocol';
import type { JsonEvent } from './json-events.js';

export interface OutputOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
}

interface Streams {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

interface BarLike {
  update(value: number, payload?: object): void;
  setTotal(total: number): void;
  stop(): void;
}
interface MultiBarLike {
  create(total: number, start: number, payload?: object): BarLike;
  stop(): void;
  log(text: string): void;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${n} B`;
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly tty: boolean;
  readonly #streams: Streams;
  #multi: MultiBarLike | undefined;
  readonly #bars = new Map<string, { bar: BarLike; phase: string; started: number }>();
  readonly #lastPlain = new Map<string, number>();

  constructor(options: OutputOptions = {}, streams: Streams = process) {
    this.json = options.json ?? false;
    this.quiet = options.quiet ?? false;
    this.verbose = options.verbose ?? false;
    this.#streams = streams;
    this.tty = Boolean(streams.stdout.isTTY) && !this.json;
  }

  /** A line for people: stdout normally, stderr under --json (stdout is for machines). */
  info(message: string): void {
    if (this.quiet) return;
    this.#line(this.json ? this.#streams.stderr : this.#streams.stdout, message);
  }

  warn(message: string): void {
    this.#line(this.#streams.stderr, message);
  }

  debug(message: string): void {
    if (this.verbose) this.#line(this.#streams.stderr, message);
  }

  /** A machine event (--json only). */
  event(event: JsonEvent): void {
    if (this.json) this.#streams.stdout.write(`${JSON.stringify(event)}\n`);
  }

  /** Progress of one board's operation. */
  progress(board: string, e: ProgressEvent): void {
    if (this.json) {
      this.event({
        type: 'progress',
        board,
        phase: e.phase,
        bytesDone: e.bytesDone,
        bytesTotal: e.bytesTotal,
        ...(e.address === undefined ? {} : { address: e.address }),
      });
      return;
    }
    if (this.quiet) return;
    if (this.tty) {
      this.#barProgress(board, e);
      return;
    }
    // Plain: a line when a phase starts and when it ends.
    const key = `${board}\u0000${e.phase}`;
    const last = this.#lastPlain.get(key);
    if (last === undefined) {
      this.#lastPlain.set(key, e.bytesDone);
      this.info(`${board}: ${e.phase} ${formatBytes(e.bytesTotal)}`);
    }
    if (e.bytesDone >= e.bytesTotal && last !== e.bytesTotal) {
      this.#lastPlain.set(key, e.bytesTotal);
      this.info(`${board}: ${e.phase} done`);
    }
  }

  /** Stop the bars (before a result or an error is printed). */
  endProgress(): void {
    this.#multi?.stop();
    this.#multi = undefined;
    this.#bars.clear();
  }

  /** The command's result: one NDJSON object under --json, else the human text. */
  result(result: Record<string, unknown>, human: () => string | undefined): void {
    this.endProgress();
    if (this.json) {
      this.#streams.stdout.write(`${JSON.stringify({ type: 'result', ...result })}\n`);
      return;
    }
    const text = human();
    if (text !== undefined && text !== '') this.#line(this.#streams.stdout, text);
  }

  #line(stream: NodeJS.WriteStream, message: string): void {
    if (this.#multi && stream === this.#streams.stdout) {
      this.#multi.log(`${message}\n`);
      return;
    }
    stream.write(`${message}\n`);
  }

  #barProgress(board: string, e: ProgressEvent): void {
    if (!this.#multi) this.#multi = createMultiBar(this.#streams.stdout);
    let entry = this.#bars.get(board);
    if (!entry || entry.phase !== e.phase) {
      entry?.bar.stop();
      const bar = this.#multi.create(e.bytesTotal, 0, this.#payload(board, e, Date.now()));
      entry = { bar, phase: e.phase, started: Date.now() };
      this.#bars.set(board, entry);
    }
    entry.bar.setTotal(e.bytesTotal);
    entry.bar.update(e.bytesDone, this.#payload(board, e, entry.started));
  }

  #payload(board: string, e: ProgressEvent, started: number): object {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    return {
      board,
      phase: e.phase.padEnd(6),
      done: formatBytes(e.bytesDone),
      size: formatBytes(e.bytesTotal),
      rate: `${formatBytes(Math.round(e.bytesDone / seconds))}/s`,
    };
  }
}

// cli-progress is CommonJS; it is loaded only when a terminal shows bars.
function createMultiBar(stream: NodeJS.WriteStream): MultiBarLike {
  const require = createRequire(import.meta.url);
  const cliProgress = require('cli-progress') as typeof import('cli-progress');
  return new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: false,
      hideCursor: true,
      format: '{board} {phase} [{bar}] {percentage}% {done}/{size} {rate} ETA {eta_formatted}',
      barsize: 20,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  ) as unknown as MultiBarLike;
}
