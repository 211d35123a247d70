import { copy, StopReason, type CopyResult } from './copy';
import { abortedError, timeoutError } from './errors';
import type { Flow } from './flow';

export type DirectionResult = CopyResult;

export interface ProxyResult {
  readonly aToB: DirectionResult;
  readonly bToA: DirectionResult;
}

/**
 * What happens to the other peer when one direction fails:
 * - `abort-both` (default): both flows are aborted, so each peer sees a reset, never a clean EOF
 *   that would hide the truncation.
 * - `shutdown-peer`: the failed direction's destination is shut down for writing (the peer sees
 *   EOF, as mirage's `Proxy` does); the other direction goes on.
 * - `continue-other`: nothing is done to the destination; the other direction goes on.
 */
export type ProxyErrorPolicy = 'abort-both' | 'shutdown-peer' | 'continue-other';

export interface ProxyOptions {
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
}

/**
 * Copies `a`→`b` and `b`→`a` at once. EOF in one direction becomes a half-close of the other
 * peer; the other direction goes on. Always resolves, with one result per direction (failures
 * included), and never hangs when one side dies: an error ends both directions unless the
 * policy says otherwise, and the idle timeout and signal bound the whole proxy.
 */
export async function proxy(a: Flow, b: Flow, options: ProxyOptions = {}): Promise<ProxyResult> {
  const policy = options.onError ?? 'abort-both';
  const release = options.release ?? true;
  const controller = new AbortController();
  const { signal: outer, idleTimeoutMs } = options;
  const stopBoth = (reason: StopReason): void => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const onOuterAbort = (): void => stopBoth(new StopReason('aborted', abortedError(outer?.reason)));
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });

  let idle: NodeJS.Timeout | undefined;
  if (idleTimeoutMs !== undefined) {
    if (!(idleTimeoutMs > 0)) throw new RangeError('idleTimeoutMs must be positive');
    idle = setTimeout(() => stopBoth(new StopReason('timeout', timeoutError('proxy (idle)', idleTimeoutMs))), idleTimeoutMs);
  }
  const activity = (): void => {
    idle?.refresh();
  };

  const direction = async (src: Flow, dst: Flow): Promise<DirectionResult> => {
    const r = await copy(src, dst, { signal: controller.signal, onProgress: activity });
    if (r.outcome === 'error') {
      if (policy === 'abort-both') {
        stopBoth(new StopReason('aborted', abortedError(`the other direction failed: ${r.error?.message}`)));
        src.abort(r.error);
        dst.abort(r.error);
      } else if (policy === 'shutdown-peer') {
        await dst.shutdownWrite();
      }
    }
    return r;
  };

  const [aToB, bToA] = await Promise.all([direction(a, b), direction(b, a)]);
  if (idle) clearTimeout(idle);
  outer?.removeEventListener('abort', onOuterAbort);
  if (controller.signal.aborted) {
    // Stopped from outside, by the idle timer or by the error policy: release both now.
    const reason: unknown = controller.signal.reason;
    const error = reason instanceof StopReason ? reason.error : abortedError(reason);
    a.abort(error);
    b.abort(error);
  } else if (release) {
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
