/** Typed progress: the CLI's bar, the web page and `--json` all read the same stream. */
export type ProgressPhase = 'erase' | 'write' | 'verify' | 'read';

/**
 * One progress report of a long operation: the phase, bytes done of the total, the address reached.
 */
export interface ProgressEvent {
  readonly phase: ProgressPhase;
  /** Bytes of this phase done so far, and in total. */
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** The address the phase just reached, when it works on flash addresses. */
  readonly address?: number;
  readonly message?: string;
}

/** Every long operation takes these. */
export interface OperationOptions {
  readonly signal?: AbortSignal;
  /** Called as the operation advances, synchronously; a slow listener slows the operation. */
  readonly onProgress?: (event: ProgressEvent) => void;
}
