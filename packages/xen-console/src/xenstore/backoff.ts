import { abortedError, FlowError } from '@flow/core';

/**
 * "Full jitter" exponential back-off: a random delay in [0, min(maxMs, baseMs * 2^attempt)], so
 * that two writers that conflicted do not retry in lock step.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * (ceiling + 1));
}

/** Sleeps `ms`; resolves early with an `aborted` error when `signal` aborts. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<FlowError | undefined> {
  if (signal?.aborted) return Promise.resolve(abortedError(signal.reason));
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(abortedError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(undefined);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
