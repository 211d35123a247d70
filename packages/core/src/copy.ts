import { abortedError, FlowError, timeoutError } from './errors';
import { EOF, type Flow, type WriteResult } from './flow';
import { now } from './stats';
import { isPromise, syncIoOf, type SyncIo } from './sync-io';
import { installedCopyAccelerator, type AcceleratedCopy, type CopyAccelerator } from './accelerator';
import { copyAccelerated } from './accelerated-copy';
import { StopReason } from './stop-reason';

export { StopReason } from './stop-reason';

/**
 * How a copy ended: `eof` (the source ended and everything read was written), `error` (a read
 * or write failed), `aborted` (the signal), `timeout` (no byte moved for `idleTimeoutMs`).
 */
export type CopyOutcome = 'eof' | 'error' | 'aborted' | 'timeout';

/** What one direction of a copy did; returned on success and on failure alike. */
export interface CopyResult {
  /** Why the copy ended. */
  readonly outcome: CopyOutcome;
  /** Bytes read from the source and accepted by the destination. */
  readonly bytes: number;
  /** Completed read→write rounds. */
  readonly ops: number;
  /** When the copy started, in milliseconds since the epoch (sub-millisecond precision). */
  readonly startedAt: number;
  /** When the copy ended, in milliseconds since the epoch (sub-millisecond precision). */
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
  /**
   * `fast`: the bytes moved in a copy accelerator between the flows' descriptors; `pure`: through
   * the flows' reads and writes.
   */
  readonly path: 'fast' | 'pure';
  /** Why an accelerator that was there was not used (one line); absent when none was tried. */
  readonly fallbackReason?: string;
}

/** Options of {@link copy}. */
export interface CopyOptions {
  /** Stop copying when this aborts (outcome `aborted`). Neither flow is closed or aborted. */
  readonly signal?: AbortSignal;
  /** Stop when no byte moved for this long (outcome `timeout`). */
  readonly idleTimeoutMs?: number;
  /** At the source's EOF, shut down the destination's write side. Default true. */
  readonly propagateEof?: boolean;
  /** Called after every chunk that was written, with the running byte count. */
  readonly onProgress?: (bytes: number) => void;
  /**
   * The accelerator to use when both flows can lend their descriptor; `null` keeps to the pure
   * path. Default: the one `installCopyAccelerator` installed, if any. An `onProgress` callback
   * keeps the copy on the pure path (the engine reports only at the end).
   */
  readonly accelerator?: CopyAccelerator | null;
  /** Called as soon as an accelerator was declined, with the one-line reason (also in `fallbackReason`). */
  readonly onFallback?: (reason: string) => void;
}

/** Internal: what `proxy` adds to each of its copies. */
export interface CopyHooks {
  /** Per chunk on the pure path (proxy's idle timer). */
  readonly pureProgress?: () => void;
  /** The engine on the fast path, whose activity proxy's idle timer watches; returns an unwatch. */
  readonly watch?: (engine: AcceleratedCopy) => () => void;
}

/**
 * Copies `src` to `dst` until EOF or failure, one direction. Unlike mirage's `Copy`, the result
 * carries the statistics even on failure, and EOF is passed on as `dst.shutdownWrite()` unless
 * `propagateEof` is false.
 */
export function copy(src: Flow, dst: Flow, options: CopyOptions = {}): Promise<CopyResult> {
  return copyWith(src, dst, options, undefined);
}

/** Internal: `copy` with proxy's hooks. */
export async function copyWith(src: Flow, dst: Flow, options: CopyOptions, hooks: CopyHooks | undefined): Promise<CopyResult> {
  const { idleTimeoutMs } = options;
  // Checked before anything is set up, so that a bad argument leaves no listener or timer behind.
  if (idleTimeoutMs !== undefined && !(idleTimeoutMs > 0)) throw new RangeError('idleTimeoutMs must be positive');
  const accelerator = options.accelerator === null ? undefined : (options.accelerator ?? installedCopyAccelerator());
  if (!accelerator) return copyPure(src, dst, options, hooks, { bytes: 0, ops: 0 });
  const attempt =
    options.onProgress !== undefined
      ? ({ kind: 'declined', reason: 'onProgress wants a call per chunk', bytes: 0, ops: 0 } as const)
      : await copyAccelerated(src, dst, accelerator, {
          signal: options.signal,
          idleTimeoutMs,
          propagateEof: options.propagateEof ?? true,
          watch: hooks?.watch,
          engineIdleTimeout: hooks === undefined,
        });
  if (attempt.kind === 'done') return attempt.result;
  if (attempt.reason !== undefined) options.onFallback?.(attempt.reason);
  return copyPure(src, dst, options, hooks, attempt);
}

/** Where the pure path starts: bytes the fast path moved before it declined, and why it did. */
interface PureStart {
  readonly bytes: number;
  readonly ops: number;
  readonly reason?: string;
}

async function copyPure(src: Flow, dst: Flow, options: CopyOptions, hooks: CopyHooks | undefined, from: PureStart): Promise<CopyResult> {
  const { signal: outer, idleTimeoutMs } = options;
  const onProgress = options.onProgress ?? hooks?.pureProgress;
  const startedAt = now();
  let bytes = from.bytes;
  let ops = from.ops;
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
    const result: CopyResult =
      from.reason === undefined
        ? { outcome, bytes, ops, startedAt, endedAt: now(), path: 'pure' }
        : { outcome, bytes, ops, startedAt, endedAt: now(), path: 'pure', fallbackReason: from.reason };
    if (!error) return result;
    return unwritten ? { ...result, error, failedSide, unwritten } : { ...result, error, failedSide };
  };
  const stopped = (error: FlowError, side: 'read' | 'write'): CopyResult => {
    const reason: unknown = signal?.reason;
    if (signal?.aborted && reason instanceof StopReason) return finish(reason.outcome, reason.error, side);
    return finish('error', error, side);
  };

  const tally: Tally = {
    // Bytes arrived: that is activity too, even if the write that follows waits a long time.
    arrived: () => idle?.refresh(),
    written: (chunk, w) => {
      if (!w.ok) {
        const accepted = Math.min(w.error.bytesAccepted ?? 0, chunk.length);
        bytes += accepted;
        if (accepted < chunk.length) unwritten = chunk.subarray(accepted);
        return { error: w.error, side: 'write' };
      }
      bytes += chunk.length;
      ops += 1;
      idle?.refresh();
      onProgress?.(bytes);
      return undefined;
    },
  };
  // Flows made by createFlow (and plain wrappers of them) move a chunk without a promise when
  // they can; any other flow goes through its promises.
  const srcNow = syncIoOf(src);
  const dstNow = syncIoOf(dst);
  const stop = await (srcNow && dstNow ? pump(srcNow, dstNow, signal, tally) : loop(src, dst, signal, tally));
  if (stop) return stopped(stop.error, stop.side);
  if (options.propagateEof ?? true) {
    const s = await dst.shutdownWrite();
    if (!s.ok) return stopped(s.error, 'write');
  }
  return finish('eof');
}

/** Why the moving of chunks ended before EOF. */
interface Stop {
  readonly error: FlowError;
  readonly side: 'read' | 'write';
}

/** The per-chunk bookkeeping of a copy, shared by both ways of moving chunks. */
interface Tally {
  /** A chunk came from the source. */
  arrived(): void;
  /** The destination answered the write of `chunk`: count it; a Stop if the copy must end. */
  written(chunk: Uint8Array, w: WriteResult): Stop | undefined;
}

/** Moves chunks through the promises of any two flows until EOF (undefined) or a Stop. */
async function loop(src: Flow, dst: Flow, signal: AbortSignal | undefined, tally: Tally): Promise<Stop | undefined> {
  // Built once: the loop runs per chunk.
  const readOptions = signal ? { signal } : undefined;
  const writeOptions = { signal, transfer: true };
  for (;;) {
    if (signal?.aborted) return { error: abortedError(signal.reason), side: 'read' };
    const r = await src.read(readOptions);
    if (!r.ok) return { error: r.error, side: 'read' };
    if (r.value === EOF) return undefined;
    tally.arrived();
    // The chunk came fresh from read() and is never touched again here: hand it over.
    const stop = tally.written(r.value, await dst.write(r.value, writeOptions));
    if (stop) return stop;
  }
}

/**
 * Moves chunks between two flows that can answer at once, as Node's `pipe` does: a chunk pushed
 * into the source is written to the destination in the same call, so a chunk costs no microtask
 * unless the destination makes the copy wait. It never takes a chunk while a write is pending,
 * and reads already waiting on the source are served first.
 */
function pump(src: SyncIo, dst: SyncIo, signal: AbortSignal | undefined, tally: Tally): Promise<Stop | undefined> {
  return new Promise<Stop | undefined>((resolve, reject) => {
    let stepping = false;
    let writing = false;
    let ended = false;
    let cancelWait: (() => void) | undefined;
    const end = (stop: Stop | undefined): void => {
      ended = true;
      signal?.removeEventListener('abort', step);
      cancelWait?.();
      resolve(stop);
    };
    const fail = (cause: unknown): void => {
      // Only a throwing onProgress gets here: the copy rejects with it, as the loop would.
      ended = true;
      signal?.removeEventListener('abort', step);
      cancelWait?.();
      reject(cause);
    };
    const afterWrite = (chunk: Uint8Array, w: WriteResult): void => {
      writing = false;
      try {
        const stop = tally.written(chunk, w);
        if (stop) end(stop);
        else step();
      } catch (cause) {
        fail(cause);
      }
    };
    function step(): void {
      // Re-entered from a write that fed the source, or woken while a write is pending: the
      // running step or the write's settlement carries on.
      if (stepping || writing || ended) return;
      stepping = true;
      nestedSteps += 1;
      try {
        for (;;) {
          if (signal?.aborted) return end({ error: abortedError(signal.reason), side: 'read' });
          const r = src.readNow();
          if (r === undefined) {
            cancelWait = src.whenReadable(onReadable);
            return;
          }
          if (!r.ok) return end({ error: r.error, side: 'read' });
          if (r.value === EOF) return end(undefined);
          tally.arrived();
          const chunk = r.value;
          const w = dst.writeNow(chunk, signal);
          if (isPromise(w)) {
            writing = true;
            void w.then((settled) => afterWrite(chunk, settled));
            return;
          }
          const stop = tally.written(chunk, w);
          if (stop) return end(stop);
        }
      } catch (cause) {
        fail(cause);
      } finally {
        stepping = false;
        nestedSteps -= 1;
      }
    }
    // Woken from inside the source's push: carry on in the same call, unless pumps are already
    // nested that deep (copies chained through in-memory flows), where the stack would overflow.
    const onReadable = (): void => {
      if (nestedSteps < MAX_NESTED_STEPS) step();
      else queueMicrotask(step);
    };
    signal?.addEventListener('abort', step);
    step();
  });
}

/** Pump steps running inside one another right now, across every copy in the process. */
let nestedSteps = 0;
/** How deep pumps may nest before the next one continues in a microtask of its own. */
const MAX_NESTED_STEPS = 32;
