import { abortedError, err, FlowError, ok, type Result } from '@flow/core';
import type { XsWatch } from './client-types';
import { WatchEventQueue } from './watch-queue';

/** Where a connection hands the events of one watch token. */
export interface WatchSink {
  deliver(path: string): void;
  /** The watch or its connection is gone; `error` says why. */
  terminate(error: FlowError): void;
}

type Waiter = (result: Result<string, FlowError>) => void;

/**
 * An XsWatch whose events wait in a bounded, coalescing queue (WatchEventQueue) until read.
 * `close()` removes the watch from xenstore (UNWATCH) and ends pending and later reads with
 * a `closed` error.
 */
export class QueuedWatch implements XsWatch, WatchSink {
  private readonly queue: WatchEventQueue;
  private readonly waiters: Waiter[] = [];
  private ended: FlowError | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    queueLimit: number,
    private readonly unsubscribe: () => Promise<void>,
  ) {
    this.queue = new WatchEventQueue(queueLimit, path);
  }

  /** Events queued and not read yet. */
  get queued(): number {
    return this.queue.size;
  }

  /** Events merged away because the reader was too slow. */
  get dropped(): number {
    return this.queue.dropped;
  }

  deliver(path: string): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter(ok(path));
    else this.queue.push(path);
  }

  terminate(error: FlowError): void {
    if (this.ended) return;
    this.ended = error;
    this.queue.clear();
    const waiters = this.waiters.splice(0);
    for (const w of waiters) w(err(error));
  }

  next(options: { readonly signal?: AbortSignal } = {}): Promise<Result<string, FlowError>> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(ok(queued));
    if (this.ended) return Promise.resolve(err(this.ended));
    const { signal } = options;
    if (signal?.aborted) return Promise.resolve(err(abortedError(signal.reason)));
    return new Promise((resolve) => {
      const waiter: Waiter = (result) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(err(abortedError(signal?.reason)));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.terminate(new FlowError('closed', `the xenstore watch on ${this.path} is closed`));
      this.closing = this.unsubscribe();
    }
    return this.closing;
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return {
      next: async (): Promise<IteratorResult<string>> => {
        const r = await this.next();
        return r.ok ? { done: false, value: r.value } : { done: true, value: undefined };
      },
      return: async (): Promise<IteratorResult<string>> => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }
}
