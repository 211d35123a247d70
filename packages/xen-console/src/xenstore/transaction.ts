import { abortedError, err, FlowError, type Result } from '@flow/core';
import { backoffDelay, sleepUnlessAborted } from './backoff';
import type { TransactionOptions, XsOps } from './client-types';
import { createOps, type RequestSender } from './ops';

export const DEFAULT_MAX_RETRIES = 16;
const BACKOFF_BASE_MS = 2;
const BACKOFF_MAX_MS = 100;

/**
 * Runs `fn` in a transaction. A conflict (EAGAIN at commit, or from an operation inside)
 * re-runs it after a jittered back-off, at most `maxRetries` times, then gives up with a
 * `limit` error (code EAGAIN): OXS's `transaction` retries forever, which a guest that keeps
 * writing can turn into a livelock. `fn` returning an error aborts the transaction.
 */
export function runTransaction<T>(
  sender: RequestSender,
  fn: (tx: XsOps) => Promise<Result<T, FlowError>>,
  options: TransactionOptions = {},
): Promise<Result<T, FlowError>> {
  if (typeof fn !== 'function') throw new TypeError('fn must be a function');
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new RangeError('maxRetries must be an integer >= 0');
  return attempts(sender, fn, maxRetries, options.signal);
}

async function attempts<T>(
  sender: RequestSender,
  fn: (tx: XsOps) => Promise<Result<T, FlowError>>,
  maxRetries: number,
  signal: AbortSignal | undefined,
): Promise<Result<T, FlowError>> {
  let lastConflict: FlowError | undefined;
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    if (attempt > 0) {
      const aborted = await sleepUnlessAborted(backoffDelay(attempt - 1, BACKOFF_BASE_MS, BACKOFF_MAX_MS), signal);
      if (aborted) return err(aborted);
    }
    if (signal?.aborted) return err(abortedError(signal.reason));
    const started = await sender.request({ type: 'TRANSACTION_START' }, 0);
    if (!started.ok) return started;
    if (started.value.type !== 'TRANSACTION_START') return err(new FlowError('protocol', 'unexpected reply to TRANSACTION_START'));
    const txId = started.value.txId;
    let ended: FlowError | undefined;
    const tx = createOps(sender, txId, () => ended);
    const end = async (commit: boolean): Promise<Result<unknown, FlowError>> => {
      ended = new FlowError('closed', `xenstore transaction ${txId} has ended`);
      return sender.request({ type: 'TRANSACTION_END', commit }, txId);
    };
    let result: Result<T, FlowError>;
    try {
      result = await fn(tx);
    } catch (thrown) {
      // A bug in `fn`: do not leave the transaction open in xenstored, then let it propagate.
      await end(false);
      throw thrown;
    }
    if (!result.ok) {
      await end(false);
      if (result.error.code !== 'EAGAIN') return result;
      lastConflict = result.error;
      continue;
    }
    const committed = await end(true);
    if (committed.ok) return result;
    if (committed.error.code !== 'EAGAIN') return committed;
    lastConflict = committed.error;
  }
  return err(
    new FlowError('limit', `xenstore transaction still conflicted after ${maxRetries} retries (EAGAIN)`, {
      code: 'EAGAIN',
      cause: lastConflict,
    }),
  );
}
