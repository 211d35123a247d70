import { abortedError, err, FlowError, ok, timeoutError, type Result } from '@flow/core';
import type { WaitOptions, XsOps } from './client-types';
import { RETRY, type XsRetry } from './retry';

/** A watch as `wait` needs it: events as calls, and a way to remove it. */
export interface WatchSubscriber {
  subscribe(path: string, onEvent: (path: string) => void): Promise<Result<{ close(): Promise<void> }, FlowError>>;
  /** Settles with the reason once the connection is gone, so that a wait does not outlive it. */
  readonly ended: Promise<FlowError>;
}

const DEFAULT_MAX_WATCHES = 128;

/** XsOps that record every path read through them (read, directory, getPerms). */
export function tracingOps(ops: XsOps, reads: Set<string>): XsOps {
  return {
    read: (path) => {
      reads.add(path);
      return ops.read(path);
    },
    directory: (path) => {
      reads.add(path);
      return ops.directory(path);
    },
    getPerms: (path) => {
      reads.add(path);
      return ops.getPerms(path);
    },
    write: (path, value) => ops.write(path, value),
    mkdir: (path) => ops.mkdir(path),
    rm: (path) => ops.rm(path),
    setPerms: (path, perms) => ops.setPerms(path, perms),
  };
}

interface Stopper {
  readonly promise: Promise<FlowError>;
  dispose(): void;
}

function stopper(options: WaitOptions, ended: Promise<FlowError>): Stopper {
  const { timeoutMs, signal } = options;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const promise = new Promise<FlowError>((resolve) => {
    void ended.then(resolve);
    if (timeoutMs !== undefined) timer = setTimeout(() => resolve(timeoutError('xenstore wait', timeoutMs)), Math.max(0, timeoutMs));
    if (signal) {
      onAbort = () => resolve(abortedError(signal.reason));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  return {
    promise,
    dispose: () => {
      if (timer) clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    },
  };
}

type Raced<T> = { readonly stopped: false; readonly value: T } | { readonly stopped: true; readonly error: FlowError };

function race<T>(work: Promise<T>, stop: Stopper): Promise<Raced<T>> {
  return Promise.race([
    work.then((value): Raced<T> => ({ stopped: false, value })),
    stop.promise.then((error): Raced<T> => ({ stopped: true, error })),
  ]);
}

/**
 * OXS `wait` (client_lwt/xs_client_lwt.ml): run `fn` with access tracking, watch every path it
 * read, and run it again after any event on them, until it returns a value other than RETRY.
 * An event that arrives while `fn` runs is not lost: the next round starts at once.
 */
export function runWait<T>(
  ops: XsOps,
  subscriber: WatchSubscriber,
  fn: (ops: XsOps) => Promise<Result<T | XsRetry, FlowError>>,
  options: WaitOptions = {},
): Promise<Result<T, FlowError>> {
  if (typeof fn !== 'function') throw new TypeError('fn must be a function');
  const maxWatches = options.maxWatches ?? DEFAULT_MAX_WATCHES;
  if (!Number.isInteger(maxWatches) || maxWatches < 1) throw new RangeError('maxWatches must be an integer >= 1');
  if (options.timeoutMs !== undefined && !(options.timeoutMs >= 0)) throw new RangeError('timeoutMs must be >= 0');
  return rounds(ops, subscriber, fn, options, maxWatches);
}

async function rounds<T>(
  ops: XsOps,
  subscriber: WatchSubscriber,
  fn: (ops: XsOps) => Promise<Result<T | XsRetry, FlowError>>,
  options: WaitOptions,
  maxWatches: number,
): Promise<Result<T, FlowError>> {
  const watches = new Map<string, { close(): Promise<void> }>();
  let events = 0;
  let wake: (() => void) | undefined;
  const onEvent = (): void => {
    events += 1;
    wake?.();
  };
  const stop = stopper(options, subscriber.ended);
  try {
    for (;;) {
      const seen = events;
      const reads = new Set<string>();
      const ran = await race(fn(tracingOps(ops, reads)), stop);
      if (ran.stopped) return err(ran.error);
      const result = ran.value;
      if (!result.ok) return result;
      if (result.value !== RETRY) return ok(result.value as T);
      for (const path of reads) {
        if (watches.has(path)) continue;
        if (watches.size >= maxWatches) {
          return err(new FlowError('limit', `xenstore wait read more than ${maxWatches} paths`));
        }
        const subscribing = subscriber.subscribe(path, onEvent);
        const sub = await race(subscribing, stop);
        if (sub.stopped) {
          // The watch may still be set up after we gave up: remove it then, so nothing leaks.
          void subscribing.then((late) => (late.ok ? late.value.close() : undefined));
          return err(sub.error);
        }
        if (!sub.value.ok) return sub.value;
        watches.set(path, sub.value.value);
      }
      if (events === seen) {
        const woke = await race(
          new Promise<void>((resolve) => {
            wake = resolve;
          }),
          stop,
        );
        wake = undefined;
        if (woke.stopped) return err(woke.error);
      }
    }
  } finally {
    stop.dispose();
    await Promise.all([...watches.values()].map((w) => w.close()));
  }
}
