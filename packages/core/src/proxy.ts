import { copyWith, StopReason, type CopyResult } from './copy';
import type { AcceleratedCopy, CopyAccelerator } from './accelerator';
import { abortedError, timeoutError } from './errors';
import type { Flow } from './flow';
import type { FlowError } from './errors';
import { peerFailureWatchOf } from './peer-failure';

/** What one direction of a proxy did: the {@link CopyResult} of its copy. */
export type DirectionResult = CopyResult;

/** What {@link proxy} resolves with: one result per direction. */
export interface ProxyResult {
  /** The copy from `a` to `b`. */
  readonly aToB: DirectionResult;
  /** The copy from `b` to `a`. */
  readonly bToA: DirectionResult;
}

/**
 * What happens to the other peer when one direction fails:
 * - `abort-both` (default): both flows are aborted, so each peer sees a reset, never a clean EOF
 *   that would hide the truncation. A peer that resets ends both directions at once, even while
 *   its flow is paused behind a destination that takes nothing (the bytes still buffered from it
 *   would only reach the other peer ahead of a reset anyway).
 * - `shutdown-peer`: the failed direction's destination is shut down for writing (the peer sees
 *   EOF, as mirage's `Proxy` does); the other direction goes on.
 * - `continue-other`: nothing is done to the destination; the other direction goes on.
 */
export type ProxyErrorPolicy = 'abort-both' | 'shutdown-peer' | 'continue-other';

/** Options of {@link proxy}. */
export interface ProxyOptions {
  /** What happens to the other peer when one direction fails; see {@link ProxyErrorPolicy}. Default `abort-both`. */
  readonly onError?: ProxyErrorPolicy;
  /** When no byte moved in either direction for this long, both directions end with `timeout`. */
  readonly idleTimeoutMs?: number;
  /** Aborting ends both directions with `aborted` and aborts both flows. */
  readonly signal?: AbortSignal;
  /**
   * When both directions reached EOF, close both flows (the handshake is complete by then, so
   * this is immediate). On failure, flows are aborted. Default true; false leaves them open.
   */
  readonly release?: boolean;
  /** Bound on the final close of each flow. Default 5000 ms. */
  readonly closeTimeoutMs?: number;
  /**
   * The accelerator each direction uses when both flows can lend their descriptor; `null` keeps
   * to the pure path. Default: the one `installCopyAccelerator` installed, if any.
   */
  readonly accelerator?: CopyAccelerator | null;
  /** Called as soon as a direction could not use the accelerator, with the one-line reason. */
  readonly onFallback?: (reason: string, direction: 'aToB' | 'bToA') => void;
}

/**
 * Copies `a`→`b` and `b`→`a` at once. EOF in one direction becomes a half-close of the other
 * peer; the other direction goes on. Always resolves, with one result per direction (failures
 * included), and never hangs when one side dies: an error ends both directions unless the
 * policy says otherwise, and the idle timeout and signal bound the whole proxy.
 */
export async function proxy(a: Flow, b: Flow, options: ProxyOptions = {}): Promise<ProxyResult> {
  if (options.idleTimeoutMs !== undefined && !(options.idleTimeoutMs > 0)) {
    throw new RangeError('idleTimeoutMs must be positive');
  }
  const policy = options.onError ?? 'abort-both';
  const release = options.release ?? true;
  const { signal: outer, idleTimeoutMs } = options;
  // Stopping aborts both flows, which settles every pending read and write at once: no
  // per-operation signal is needed, so the copies run without abort listeners.
  let stop: StopReason | undefined;
  const stopBoth = (reason: StopReason): void => {
    if (stop) return;
    stop = reason;
    a.abort(reason.error);
    b.abort(reason.error);
  };
  // Under abort-both, a peer that resets stops both directions at once: its flow may be paused
  // behind a destination that never reads, where no copy would look at it again.
  let peerFailure: { readonly src: Flow; readonly error: FlowError } | undefined;
  const unwatch: Array<() => void> = [];
  if (policy === 'abort-both') {
    for (const flow of [a, b]) {
      const watch = peerFailureWatchOf(flow);
      if (!watch) continue;
      unwatch.push(
        watch((error) => {
          if (stop) return;
          peerFailure = { src: flow, error };
          stopBoth(new StopReason('aborted', abortedError(`the other direction failed: ${error.message}`)));
        }),
      );
    }
  }
  const onOuterAbort = (): void => stopBoth(new StopReason('aborted', abortedError(outer?.reason)));
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });

  let idle: NodeJS.Timeout | undefined;
  // Engines report nothing per chunk: while one runs, the timer looks at their activity counts
  // every quarter of the timeout, so it fires between 1 and 1.25 timeouts after the last byte.
  const engines = new Set<AcceleratedCopy>();
  let quietChecks = 0;
  let lastActivity = 0;
  const engineActivity = (): number => {
    let sum = 0;
    for (const engine of engines) sum += engine.activity();
    return sum;
  };
  const onIdleTimer = (): void => {
    if (engines.size > 0) {
      const seen = engineActivity();
      if (seen !== lastActivity) quietChecks = 0;
      else quietChecks += 1;
      lastActivity = seen;
      if (quietChecks < 4) {
        idle = setTimeout(onIdleTimer, Math.max(1, Math.floor((idleTimeoutMs ?? 0) / 4)));
        return;
      }
    }
    stopBoth(new StopReason('timeout', timeoutError('proxy (idle)', idleTimeoutMs ?? 0)));
  };
  if (idleTimeoutMs !== undefined) idle = setTimeout(onIdleTimer, idleTimeoutMs);
  const activity = (): void => {
    quietChecks = 0;
    idle?.refresh();
  };
  const watch = (engine: AcceleratedCopy): (() => void) => {
    engines.add(engine);
    if (idleTimeoutMs !== undefined && idle && engines.size === 1) {
      // From now on the timer polls the engines.
      clearTimeout(idle);
      quietChecks = 0;
      lastActivity = engineActivity();
      idle = setTimeout(onIdleTimer, Math.max(1, Math.floor(idleTimeoutMs / 4)));
    }
    return () => {
      engines.delete(engine);
      lastActivity = engineActivity();
      if (engines.size === 0 && idle) {
        // No engine left to poll: an engine that just ended was activity; a plain timer again.
        clearTimeout(idle);
        quietChecks = 0;
        idle = setTimeout(onIdleTimer, idleTimeoutMs);
      }
    };
  };

  const direction = async (src: Flow, dst: Flow, name: 'aToB' | 'bToA'): Promise<DirectionResult> => {
    const onFallback = options.onFallback;
    const r = await copyWith(
      src,
      dst,
      { accelerator: options.accelerator, onFallback: onFallback && ((reason) => onFallback(reason, name)) },
      { pureProgress: activity, watch },
    );
    // A direction cut short by the stop reports why it was stopped, not the abort it saw: the
    // peer's reset for the direction that reads from it.
    if (peerFailure?.src === src && r.outcome !== 'eof') return { ...r, outcome: 'error', error: peerFailure.error, failedSide: 'read' };
    if (stop) return r.outcome === 'eof' ? r : { ...r, outcome: stop.outcome, error: stop.error };
    if (r.outcome === 'error') {
      if (policy === 'abort-both') {
        stopBoth(new StopReason('aborted', abortedError(`the other direction failed: ${r.error?.message}`)));
      } else if (policy === 'shutdown-peer') {
        await dst.shutdownWrite();
      }
    }
    return r;
  };

  const [aToB, bToA] = await Promise.all([direction(a, b, 'aToB'), direction(b, a, 'bToA')]);
  for (const cancel of unwatch) cancel();
  if (idle) clearTimeout(idle);
  outer?.removeEventListener('abort', onOuterAbort);
  if (!stop && release) {
    const closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    if (aToB.outcome === 'eof' && bToA.outcome === 'eof') {
      await Promise.all([a.close({ timeoutMs: closeTimeoutMs }), b.close({ timeoutMs: closeTimeoutMs })]);
    } else {
      a.abort(aToB.error ?? bToA.error);
      b.abort(bToA.error ?? aToB.error);
    }
  }
  return { aToB, bToA };
}
