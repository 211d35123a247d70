import { abortedError, FlowError, timeoutError } from './errors';
import { EOF, type Flow } from './flow';
import { now } from './stats';
import { isPromise, syncIoOf } from './sync-io';

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
  /**
   * Bytes already taken from the source that the destination did not accept before the copy
   * stopped (a write that failed or was cancelled part-way). Without this they would be lost
   * silently; a caller can write them elsewhere or retry.
   */
  readonly unwritten?: Uint8Array;
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
  const { signal: outer, idleTimeoutMs, onProgress } = options;
  // Checked before anything is set up, so that a bad argument leaves no listener or timer behind.
  if (idleTimeoutMs !== undefined && !(idleTimeoutMs > 0)) throw new RangeError('idleTimeoutMs must be positive');
  const startedAt = now();
  let bytes = 0;
  let ops = 0;
  // Without a signal or an idle timeout there is nothing to cancel: no controller, and no
  // per-operation abort listener on the hot path.
  const cancellable = outer !== undefined || idleTimeoutMs !== undefined;
  const controller = cancellable ? new AbortController() : undefined;
  const onOuterAbort = (): void =>
    controller?.abort(outer?.reason instanceof StopReason ? outer.reason : new StopReason('aborted', abortedError(outer?.reason)));
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  let idle: NodeJS.Timeout | undefined;
  if (idleTimeoutMs !== undefined) {
    idle = setTimeout(
      () => controller?.abort(new StopReason('timeout', timeoutError('copy (idle)', idleTimeoutMs))),
      idleTimeoutMs,
    );
  }
  const signal = controller?.signal;
  let unwritten: Uint8Array | undefined;
  const finish = (outcome: CopyOutcome, error?: FlowError, failedSide?: 'read' | 'write'): CopyResult => {
    if (idle) clearTimeout(idle);
    outer?.removeEventListener('abort', onOuterAbort);
    const result: CopyResult = { outcome, bytes, ops, startedAt, endedAt: now() };
    if (!error) return result;
    return unwritten ? { ...result, error, failedSide, unwritten } : { ...result, error, failedSide };
  };
  const stopped = (error: FlowError, side: 'read' | 'write'): CopyResult => {
    const reason: unknown = signal?.reason;
    if (signal?.aborted && reason instanceof StopReason) return finish(reason.outcome, reason.error, side);
    return finish('error', error, side);
  };

  // Built once: the loop runs per chunk.
  const readOptions = signal ? { signal } : undefined;
  const writeOptions = { signal, transfer: true };
  // Flows made by createFlow answer at once when they can, saving a microtask per read and
  // per write on the hot path; other flows go through their promises.
  const srcNow = syncIoOf(src);
  const dstNow = syncIoOf(dst);
  for (;;) {
    if (signal?.aborted) return stopped(abortedError(signal.reason), 'read');
    const r = srcNow?.readNow() ?? (await src.read(readOptions));
    if (!r.ok) return stopped(r.error, 'read');
    if (r.value === EOF) break;
    // Bytes arrived: that is activity too, even if the write that follows waits a long time.
    idle?.refresh();
    const chunk = r.value;
    // The chunk came fresh from read() and is never touched again here: hand it over.
    const started = dstNow ? dstNow.writeNow(chunk, signal) : dst.write(chunk, writeOptions);
    const w = isPromise(started) ? await started : started;
    if (!w.ok) {
      const accepted = Math.min(w.error.bytesAccepted ?? 0, chunk.length);
      bytes += accepted;
      if (accepted < chunk.length) unwritten = chunk.subarray(accepted);
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
