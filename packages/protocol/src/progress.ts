/** Typed progress: the CLI's bar, the web page and `--json` all read the same stream. */
export type ProgressPhase = 'erase' | 'write' | 'verify' | 'read';

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
  readonly onProgress?: (event: ProgressEvent) => void;
}
