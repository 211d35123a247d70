import { abortedError, closedError, FlowError } from './errors';
import type { Flow } from './flow';
import { err, ok, type Result } from './result';

/** Options of `accept`. */
export interface AcceptOptions {
  /** Aborting a pending accept resolves it with `aborted`; no flow is lost by it. */
  readonly signal?: AbortSignal;
}

/**
 * The shape every transport's listener has: accept flows one at a time or iterate them,
 * tell the bound address, and stop accepting with `close()` (live flows are not touched).
 *
 * `Address` is the transport's address type and `F` the flow type it accepts, so a TCP
 * listener's `address.port` and its flows' `dst` need no cast.
 */
export interface Listener<Address = unknown, F extends Flow = Flow> extends AsyncIterable<F>, AsyncDisposable {
  /** The bound address (for TCP, with the real port when 0 was asked for). */
  readonly address: Address;
  /** The next incoming flow; `closed` once the listener is closed and its queue is empty. */
  accept(options?: AcceptOptions): Promise<Result<F, FlowError>>;
  /** `for await (const flow of listener)`: each accepted flow in turn, until `accept` fails (after `close`). */
  [Symbol.asyncIterator](): AsyncIterator<F>;
  /** Stop accepting. Flows already accepted stay open; flows queued but never accepted are aborted. */
  close(): Promise<void>;
  /**
   * What `await using listener = ...` does at the end of the scope: the same as `close()`
   * (stop accepting; flows already accepted are their own scopes' to dispose, as with Node's
   * `net.Server`). Never rejects.
   */
  [Symbol.asyncDispose](): Promise<void>;
  /** True once `close()` was called (or the transport stopped listening): `accept` resolves `closed`. */
  readonly closedForAccept: boolean;
}

/**
 * `[Symbol.asyncDispose]` for a listener: `close()`, never rejecting (a dispose that threw would
 * replace the error that made the scope exit).
 */
export async function disposeListener(listener: { close(): Promise<void> }): Promise<void> {
  try {
    await listener.close();
  } catch {
    // close() of this library's listeners does not reject; a foreign one must not mask the scope's error.
  }
}

/**
 * A bounded queue between a transport's incoming connections and `accept()` calls. When the
 * queue is full the transport is told to refuse (the peer sees a reset), so that a slow acceptor
 * never makes memory grow.
 */
export class AcceptQueue {
  private readonly queue: Flow[] = [];
  private readonly waiters: Array<(flow: Flow | undefined) => void> = [];
  private isClosed = false;

  /**
   * @param backlog - Most flows held waiting for `accept()` (default 511, as Node's `listen`);
   *   throws a `RangeError` below 1.
   */
  constructor(readonly backlog: number = 511) {
    if (!(backlog >= 1)) throw new RangeError('backlog must be at least 1');
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Flows waiting to be accepted. */
  get size(): number {
    return this.queue.length;
  }

  /** Offers an incoming flow; false (and the flow aborted) when full or closed. */
  offer(flow: Flow): boolean {
    if (this.isClosed) {
      flow.abort(closedError());
      return false;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter(flow);
      return true;
    }
    if (this.queue.length >= this.backlog) {
      flow.abort(new FlowError('limit', `accept backlog of ${this.backlog} is full`));
      return false;
    }
    this.queue.push(flow);
    return true;
  }

  /**
   * The oldest queued flow, or the next to arrive. Resolves `closed` once the queue is closed and
   * empty, and `aborted` if `options.signal` aborts first (no flow is lost by that).
   */
  accept(options: AcceptOptions = {}): Promise<Result<Flow, FlowError>> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(ok(queued));
    if (this.isClosed) return Promise.resolve(err(new FlowError('closed', 'the listener is closed')));
    const { signal } = options;
    if (signal?.aborted) return Promise.resolve(err(abortedError(signal.reason)));
    return new Promise((resolve) => {
      const waiter = (flow: Flow | undefined): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(flow ? ok(flow) : err(new FlowError('closed', 'the listener is closed')));
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(err(abortedError(signal?.reason)));
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** No more flows: pending accepts resolve `closed`, flows never accepted are aborted. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
    for (const flow of this.queue.splice(0)) flow.abort(new FlowError('closed', 'the listener closed before accepting'));
  }

  /** `for await (const flow of queue)`: accepts until the queue is closed and empty. */
  async *[Symbol.asyncIterator](): AsyncIterator<Flow> {
    for (;;) {
      const r = await this.accept();
      if (!r.ok) return;
      yield r.value;
    }
  }
}

/**
 * Ends every flow of `flows` (a listener's live connections): with `timeoutMs` each gets that
 * long for the close handshake before it is aborted; without it, each is aborted at once.
 * Resolves when every flow is released. What a listener's `closeAll` does after `close()`.
 */
export async function endFlows(flows: Iterable<Flow>, options: { readonly timeoutMs?: number } = {}): Promise<void> {
  const all = [...flows];
  const { timeoutMs } = options;
  if (timeoutMs !== undefined && timeoutMs > 0) {
    await Promise.all(all.map((f) => f.close({ timeoutMs })));
  } else {
    for (const f of all) f.abort(new FlowError('aborted', 'the listener closed all its connections'));
  }
  await Promise.all(all.map((f) => f.closed));
}
