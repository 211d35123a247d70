import { abortedError, FlowError, timeoutError } from './errors';
import { EOF, type Flow } from './flow';
import { now } from './stats';

export type CopyOutcome = 'eof' | 'error' | 'aborted' | 'timeout';

/** What one direction of a copy did; returned on success and on failure alike. */
export interface CopyResult {
  readonly outcome: CopyOutcome;
  /** Bytes read from the source and accepted by the destination. */
  readonly bytes: number;
  /** Completed read→write rounds. */
  readonly ops: number;
  readonly startedAt: number;
  readonly endedAt: number;
  /** Set unless the outcome is `eof`. */
  readonly error?: FlowError;
  /** Which end failed: reading the source or writing the destination. */
  readonly failedSide?: 'read' | 'write';
}

export interface CopyOptions {
  /** Stop copying when this aborts (outcome `aborted`). Neither flow is closed or aborted. */
  readonly signal?: AbortSignal;
  /** Stop when no byte moved for this long (outcome `timeout`). */
  readonly idleTimeoutMs?: number;
  /** At the source's EOF, shut down the destination's write side. Default true. */
  readonly propagateEof?: boolean;
  /** Called after every chunk that was written, with the running byte count. */
  readonly onProgress?: (bytes: number) => void;
}

/** Internal: an abort reason that says why the copy was stopped. */
export class StopReason {
  constructor(readonly outcome: 'aborted' | 'timeout', readonly error: FlowError) {}
}

/**
 * Copies `src` to `dst` until EOF or failure, one direction. Unlike mirage's `Copy`, the result
 * carries the statistics even on failure, and EOF is passed on as `dst.shutdownWrite()` unless
 * `propagateEof` is false.
 */
export async function copy(src: Flow, dst: Flow, options: CopyOptions = {}): Promise<CopyResult> {
  const startedAt = now();
  let bytes = 0;
  let ops = 0;
  const controller = new AbortController();
  const { signal: outer, idleTimeoutMs, onProgress } = options;
  const onOuterAbort = (): void =>
    controller.abort(outer?.reason instanceof StopReason ? outer.reason : new StopReason('aborted', abortedError(outer?.reason)));
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  let idle: NodeJS.Timeout | undefined;
  if (idleTimeoutMs !== undefined) {
    if (!(idleTimeoutMs > 0)) throw new RangeError('idleTimeoutMs must be positive');
    idle = setTimeout(
      () => controller.abort(new StopReason('timeout', timeoutError('copy (idle)', idleTimeoutMs))),
      idleTimeoutMs,
    );
  }
  const signal = controller.signal;
  const finish = (outcome: CopyOutcome, error?: FlowError, failedSide?: 'read' | 'write'): CopyResult => {
    if (idle) clearTimeout(idle);
    outer?.removeEventListener('abort', onOuterAbort);
    const result: CopyResult = { outcome, bytes, ops, startedAt, endedAt: now() };
    return error ? { ...result, error, failedSide } : result;
  };
  const stopped = (error: FlowError, side: 'read' | 'write'): CopyResult => {
    const reason: unknown = signal.reason;
    if (signal.aborted && reason instanceof StopReason) return finish(reason.outcome, reason.error, side);
    return finish('error', error, side);
  };

  for (;;) {
    if (signal.aborted) return stopped(abortedError(signal.reason), 'read');
    const r = await src.read({ signal });
    if (!r.ok) return stopped(r.error, 'read');
    if (r.value === EOF) break;
    const chunk = r.value;
    const w = await dst.write(chunk, { signal });
    if (!w.ok) {
      bytes += w.error.bytesAccepted ?? 0;
      return stopped(w.error, 'write');
    }
    bytes += chunk.length;
    ops += 1;
    idle?.refresh();
    onProgress?.(bytes);
  }
  if (options.propagateEof ?? true) {
    const s = await dst.shutdownWrite();
    if (!s.ok) return stopped(s.error, 'write');
  }
  return finish('eof');
}
