import { abortedError, timeoutError } from './errors';
import { raceSignal, raceTimeout } from './deferred';
import type { ShutdownOptions, WriteResult } from './flow';
import { err } from './result';

/** The result for a shutdown whose signal was already aborted when it was called: nothing happens. */
export function refusedByAbortedSignal(options: ShutdownOptions | undefined): WriteResult | undefined {
  const signal = options?.signal;
  return signal?.aborted ? err(abortedError(signal.reason)) : undefined;
}

/**
 * Bounds one caller's wait for a shared shutdown by its `signal` and `timeoutMs`: the caller is
 * told `aborted` or `timeout`, and the shutdown itself goes on for everyone else.
 */
export function boundShutdownWait(shared: Promise<WriteResult>, what: string, options: ShutdownOptions | undefined): Promise<WriteResult> {
  const timeoutMs = options?.timeoutMs;
  const signal = options?.signal;
  if (timeoutMs === undefined && !signal) return shared;
  if (timeoutMs !== undefined && !(timeoutMs >= 0)) throw new RangeError(`${what}: timeoutMs must be 0 or more`);
  return raceSignal(
    raceTimeout(shared, timeoutMs, () => err(timeoutError(what, timeoutMs ?? 0))),
    signal,
    () => err(abortedError(signal?.reason)),
  );
}
