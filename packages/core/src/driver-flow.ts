import { abortedError, closedError, FlowError, fromNodeError, timeoutError } from './errors';
import { deferred, raceSignal, raceTimeout, type Deferred } from './deferred';
import {
  EOF,
  type CloseOptions,
  type Flow,
  type FlowCapabilities,
  type FlowState,
  type ReadIntoResult,
  type ReadOptions,
  type ReadResult,
  type ReadState,
  type ShutdownOptions,
  type WriteOptions,
  type WriteResult,
  type WriteState,
} from './flow';
import { err, OK, ok, type Result } from './result';
import { StatsRecorder, type FlowStats } from './stats';
import { isPromise, SYNC_IO, type SyncIo } from './sync-io';
import { iterateFlow } from './adapters/iterate-flow';
import { disposeFlow } from './dispose';
import { boundShutdownWait, refusedByAbortedSignal } from './shutdown-wait';
import { PEER_FAILURE, type WatchPeerFailure } from './peer-failure';
import { DESCRIPTOR_LENDER, SOURCE_ENDED, type DescriptorLender, type LoanReport, type ReadLoan, type WriteLoan } from './descriptor-loan';

/**
 * The inbound side a driver feeds: bytes that arrived from the peer, the peer's end of stream,
 * or a failure. The flow buffers up to its high-water mark and then asks the driver to pause.
 */
export interface InboundPort {
  /** Hands `chunk` to the flow, which owns it from now on (it is returned to readers as is). */
  push(chunk: Uint8Array): void;
  /** The peer shut down its write side. */
  end(): void;
  /** The inbound stream failed (reset, I/O error). Data already pushed is still readable first. */
  fail(error: FlowError): void;
  /** Bytes pushed and not yet read. */
  readonly buffered: number;
  /** The byte count at which the flow calls the driver's `pause` (see `CreateFlowOptions.highWaterMark`). */
  readonly highWaterMark: number;
}

/**
 * What a transport implements to become a flow. The flow does the rest: ordering and
 * serialising writes, the read buffer and its bound, cancel-safe reads, state, statistics,
 * the close handshake and abort.
 */
export interface FlowDriver {
  /**
   * Deliver `chunks` (non-empty, at least one byte in all) to the peer; resolve when the transport
   * accepted them. On failure the error's `bytesAccepted` says how much went through. Called one
   * at a time: the flow never starts a write before the previous one resolved. With `transfer`
   * the caller gave the buffers up for good, so the driver may keep them without copying.
   * A driver that knows the outcome at once may return the result itself instead of a promise.
   */
  write(chunks: readonly Uint8Array[], signal: AbortSignal | undefined, transfer?: boolean): WriteResult | Promise<WriteResult>;
  /** Send end-of-stream after everything accepted so far; resolve when it is sent. */
  shutdownWrite(): Promise<WriteResult>;
  /** The user will read no more; the flow drops inbound bytes from now on. */
  shutdownRead?(): void;
  /** The read buffer is full: stop delivering until `resume`. */
  pause?(): void;
  /** Readers drained the buffer below the high-water mark: deliver again after a `pause`. */
  resume?(): void;
  /** Readers took `bytes` out of the buffer (for transports that meter their own window). */
  consumed?(bytes: number): void;
  /** Release now and drop queued data; RST where possible. Pending `write` must settle soon. */
  abort(reason: FlowError): void;
  /** The close handshake finished: release resources. */
  release(): void;
  /** Set by a transport backed by a kernel descriptor it can lend to a copy engine. */
  readonly lending?: DescriptorLending;
}

/**
 * The transport's part of lending its descriptor (see `DescriptorLender`); the flow does the rest
 * (its read-ahead, the order of writes, statistics, recording how the loan ended).
 */
export interface DescriptorLending {
  /** The descriptor, or in a few words why it cannot be lent now. */
  descriptor(role: 'read' | 'write'): number | string;
  /** Stop reading the descriptor; bytes the transport had read are pushed into the port before it returns. */
  stopReading(): void;
  /** Read the descriptor again after a read loan. */
  startReading(): void;
  /** Resolves true once every byte written reached the kernel; false if the transport failed or `signal` aborted. */
  flushed(signal: AbortSignal | undefined): Promise<boolean>;
}

/** Options of {@link createFlow}. */
export interface CreateFlowOptions {
  /** What the transport does for half-close and abort; becomes `flow.capabilities`. */
  readonly capabilities: FlowCapabilities;
  /** The flow's `label` for logs. Default `'flow'`. */
  readonly label?: string;
  /** Bytes buffered for readers before the driver is paused. Default 256 KiB. */
  readonly highWaterMark?: number;
  /** Counters shared with the driver, e.g. so that it can record flushed bytes. */
  readonly stats?: StatsRecorder;
  /**
   * Whether `close` waits for the peer's end of stream after sending ours (the handshake).
   * Default true; false only for flows that have no peer (function flows, sinks).
   */
  readonly closeWaitsForPeer?: boolean;
  /**
   * The flow has no write side at all (an input-only flow): it starts shut for writing, so
   * writes return `closed` and `writeState` is `shut` from the start. Default false.
   */
  readonly writeClosed?: boolean;
}

const DEFAULT_HIGH_WATER_MARK = 256 * 1024;

/** Writes that succeed at once share one settled promise instead of allocating one each. */
const RESOLVED_OK: Promise<WriteResult> = Promise.resolve(OK);

/** Builds a flow around a driver. `setup` receives the inbound port the driver pushes into. */
export function createFlow(setup: (port: InboundPort) => FlowDriver, options: CreateFlowOptions): Flow {
  return new DriverFlow(setup, options);
}

class DriverFlow implements Flow, InboundPort {
  readonly [SYNC_IO]: SyncIo = {
    readNow: () => (this.readWaiters.length === 0 ? this.tryRead() : undefined),
    whenReadable: (listener) => this.whenReadable(listener),
    writeNow: (chunk, signal) => this.enqueueWrite([chunk], chunk.length, signal, true),
  };
  readonly [PEER_FAILURE]: WatchPeerFailure = (listener) => this.watchPeerFailure(listener);
  /** The lender, when the driver can lend its descriptor. */
  get [DESCRIPTOR_LENDER](): DescriptorLender | undefined {
    const lending = this.driver.lending;
    if (!lending) return undefined;
    return (this.lender ??= {
      lendRead: (onRevoke) => this.lendRead(lending, onRevoke),
      lendWrite: (onRevoke, signal) => this.lendWrite(lending, onRevoke, signal),
    });
  }
  readonly capabilities: FlowCapabilities;
  readonly label: string;
  readonly highWaterMark: number;
  private readonly recorder: StatsRecorder;
  private readonly driver: FlowDriver;
  private readonly closeWaitsForPeer: boolean;

  // Inbound: a queue of owned chunks; `head` avoids O(n) shifts.
  private chunks: Uint8Array[] = [];
  private head = 0;
  private bufferedBytes = 0;
  private inbound: 'open' | 'eof' | FlowError = 'open';
  private readShut = false;
  private paused = false;
  private readWaiters: ReadWaiter[] = [];
  private readonly peerDone: Deferred<void> = deferred();
  private peerFailureListeners: Set<(error: FlowError) => void> | undefined;

  // Outbound.
  private writeChain: Promise<unknown> = Promise.resolve();
  private writeFailure: FlowError | undefined;
  private writeStatus: WriteState = 'open';
  private shutdownPromise: Promise<WriteResult> | undefined;

  // Lifecycle.
  private flowState: FlowState = 'open';
  private localError: FlowError | undefined;
  private closePromise: Promise<WriteResult> | undefined;
  /** Driver operations in progress, settled at once by `abort()` (one entry per operation). */
  private readonly abortWaiters = new Set<(r: WriteResult) => void>();
  /** Writes queued or running; when 0 a new write starts at once instead of chaining. */
  private pendingWrites = 0;
  private readonly released: Deferred<FlowError | undefined> = deferred();

  // Descriptor loans: at most one for reading and one for writing.
  private lender: DescriptorLender | undefined;
  private readLent = false;
  private writeLent = false;
  /** The borrowers' stop hooks, called synchronously by `abort()` before the transport lets go. */
  private readonly revokers = new Set<(error: FlowError) => void>();

  constructor(setup: (port: InboundPort) => FlowDriver, options: CreateFlowOptions) {
    this.capabilities = options.capabilities;
    this.label = options.label ?? 'flow';
    this.highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    if (!(this.highWaterMark > 0)) throw new RangeError('highWaterMark must be a positive number');
    this.recorder = options.stats ?? new StatsRecorder();
    this.closeWaitsForPeer = options.closeWaitsForPeer ?? true;
    if (options.writeClosed === true) {
      this.writeStatus = 'shut';
      this.shutdownPromise = Promise.resolve(OK);
    }
    this.driver = setup(this);
  }

  // ---- InboundPort (called by the driver) ----

  get buffered(): number {
    return this.bufferedBytes;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.inbound !== 'open' || this.localError) return;
    if (this.readShut) {
      // Emulated shutdownRead: the bytes arrive and are dropped, so the peer is never stuck.
      this.driver?.consumed?.(chunk.length);
      return;
    }
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    if (this.bufferedBytes >= this.highWaterMark && !this.paused) {
      this.paused = true;
      this.driver?.pause?.();
    }
    this.wakeReaders();
  }

  end(): void {
    if (this.inbound !== 'open') return;
    this.inbound = 'eof';
    this.peerDone.resolve();
    this.wakeReaders();
  }

  fail(error: FlowError): void {
    if (this.inbound !== 'open') return;
    this.inbound = error;
    this.peerDone.resolve();
    this.wakeReaders();
    const listeners = this.peerFailureListeners;
    this.peerFailureListeners = undefined;
    // Our own abort also ends the inbound side; that is no news from the peer.
    if (listeners && !this.localError) for (const listener of listeners) listener(error);
  }

  private watchPeerFailure(listener: (error: FlowError) => void): () => void {
    const failed = this.inbound;
    if (failed instanceof FlowError) {
      if (!this.localError) queueMicrotask(() => listener(failed));
      return noop;
    }
    if (failed === 'eof' || this.localError) return noop;
    const listeners = (this.peerFailureListeners ??= new Set());
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }

  // ---- Reading ----

  read(options?: ReadOptions): Promise<ReadResult> {
    // A read whose signal already aborted must not take data it will never deliver.
    if (options?.signal?.aborted) return Promise.resolve(err(abortedError(options.signal.reason)));
    const now = this.tryRead();
    if (now) return Promise.resolve(now);
    return this.waitThen(undefined, options?.signal) as Promise<ReadResult>;
  }

  readInto(buffer: Uint8Array, options?: ReadOptions): Promise<ReadIntoResult> {
    if (!(buffer instanceof Uint8Array)) throw new TypeError('readInto needs a Uint8Array');
    if (buffer.length === 0) throw new RangeError('readInto needs a buffer of at least one byte');
    if (options?.signal?.aborted) return Promise.resolve(err(abortedError(options.signal.reason)));
    const now = this.tryReadInto(buffer);
    if (now) return Promise.resolve(now);
    return this.waitThen(buffer, options?.signal) as Promise<ReadIntoResult>;
  }

  /**
   * Parks a read until it can yield a result. Woken readers make their attempt inside
   * `wakeReaders`, in arrival order, so a woken read resolves in one step.
   */
  private waitThen(into: Uint8Array | undefined, signal: AbortSignal | undefined): Promise<unknown> {
    return new Promise<unknown>((resolve) => {
      const waiter: ReadWaiter = { into, resolve, notify: undefined, signal, onAbort: undefined, done: false };
      if (signal) {
        waiter.onAbort = () => {
          // Nothing was taken from the buffer on behalf of this read: it consumed nothing.
          if (waiter.done) return;
          waiter.done = true;
          const i = this.readWaiters.indexOf(waiter);
          if (i >= 0) this.readWaiters.splice(i, 1);
          resolve(err(abortedError(signal.reason)));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.readWaiters.push(waiter);
    });
  }

  private whenReadable(listener: () => void): () => void {
    const waiter: ReadWaiter = { into: undefined, resolve: noop, notify: listener, signal: undefined, onAbort: undefined, done: false };
    this.readWaiters.push(waiter);
    return () => {
      if (waiter.done) return;
      waiter.done = true;
      const i = this.readWaiters.indexOf(waiter);
      if (i >= 0) this.readWaiters.splice(i, 1);
    };
  }

  private wakeReaders(): void {
    const count = this.readWaiters.length;
    if (count === 0) return;
    if (count === 1) {
      // The usual case, one parked read: take it out first, so that a push made from inside
      // tryRead (a driver resuming synchronously) cannot wake it a second time.
      const waiter = this.readWaiters.pop() as ReadWaiter;
      if (!waiter.done && !this.wake(waiter)) this.readWaiters.push(waiter);
      return;
    }
    const waiters = this.readWaiters;
    this.readWaiters = [];
    for (const waiter of waiters) {
      if (!waiter.done && !this.wake(waiter)) this.readWaiters.push(waiter);
    }
  }

  /** Resolves `waiter` if its read can complete now; false when it must keep waiting. */
  private wake(waiter: ReadWaiter): boolean {
    if (waiter.notify) {
      // Told only when a read would complete now: reads ahead of it may have taken everything.
      if (this.bufferedBytes === 0 && this.endOfInput() === undefined) return false;
      waiter.done = true;
      waiter.notify();
      return true;
    }
    const r = waiter.into ? this.tryReadInto(waiter.into) : this.tryRead();
    if (r === undefined) return false;
    waiter.done = true;
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(r);
    return true;
  }

  /** The terminal outcome once the buffer is empty, or undefined while more may come. */
  private endOfInput(): Result<EOF, FlowError> | undefined {
    if (this.localError) return err(this.localError);
    if (this.readShut) return ok(EOF);
    if (this.bufferedBytes > 0) return undefined;
    if (this.inbound === 'eof') return ok(EOF);
    if (this.inbound !== 'open') return err(this.inbound);
    return undefined;
  }

  private tryRead(): ReadResult | undefined {
    if (this.bufferedBytes === 0 || this.localError || this.readShut) return this.endOfInput();
    const chunk = this.chunks[this.head];
    this.chunks[this.head] = EMPTY;
    this.head += 1;
    this.afterTake(chunk.length);
    return ok(chunk);
  }

  private tryReadInto(buffer: Uint8Array): ReadIntoResult | undefined {
    if (this.bufferedBytes === 0 || this.localError || this.readShut) return this.endOfInput();
    let filled = 0;
    while (filled < buffer.length && this.head < this.chunks.length) {
      const chunk = this.chunks[this.head];
      const n = Math.min(chunk.length, buffer.length - filled);
      buffer.set(n === chunk.length ? chunk : chunk.subarray(0, n), filled);
      filled += n;
      if (n === chunk.length) {
        this.chunks[this.head] = EMPTY;
        this.head += 1;
      } else {
        this.chunks[this.head] = chunk.subarray(n);
      }
    }
    this.afterTake(filled);
    return ok(filled);
  }

  private afterTake(bytes: number): void {
    this.bufferedBytes -= bytes;
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    } else if (this.head === this.chunks.length) {
      // Drained: reuse the array rather than allocating one per read (and pop the usual single
      // slot, since setting `length` is a runtime call).
      if (this.head === 1) this.chunks.pop();
      else this.chunks.length = 0;
      this.head = 0;
    }
    this.recorder.recordRead(bytes);
    this.driver.consumed?.(bytes);
    this.maybeResume();
  }

  private maybeResume(): void {
    if (this.paused && this.bufferedBytes < this.highWaterMark / 2) {
      this.paused = false;
      this.driver.resume?.();
    }
  }

  shutdownRead(options?: ShutdownOptions): Promise<WriteResult> {
    const refused = refusedByAbortedSignal(options);
    if (refused) return Promise.resolve(refused);
    if (this.readShut || this.localError) return Promise.resolve(OK);
    this.readShut = true;
    const dropped = this.bufferedBytes;
    this.chunks = [];
    this.head = 0;
    this.bufferedBytes = 0;
    if (dropped > 0) this.driver.consumed?.(dropped);
    if (this.paused) {
      this.paused = false;
      this.driver.resume?.();
    }
    this.driver.shutdownRead?.();
    this.wakeReaders();
    return Promise.resolve(OK);
  }

  // ---- Writing ----

  write(buffer: Uint8Array, options?: WriteOptions): Promise<WriteResult> {
    if (!(buffer instanceof Uint8Array)) throw new TypeError('write needs a Uint8Array');
    return promised(this.enqueueWrite([buffer], buffer.length, options?.signal, options?.transfer === true));
  }

  writev(buffers: readonly Uint8Array[], options?: WriteOptions): Promise<WriteResult> {
    if (!Array.isArray(buffers)) throw new TypeError('writev needs an array of Uint8Array');
    let total = 0;
    const nonEmpty: Uint8Array[] = [];
    for (const b of buffers) {
      if (!(b instanceof Uint8Array)) throw new TypeError('writev needs an array of Uint8Array');
      if (b.length > 0) {
        nonEmpty.push(b);
        total += b.length;
      }
    }
    return promised(this.enqueueWrite(nonEmpty, total, options?.signal, options?.transfer === true));
  }

  private refuseWrite(): WriteResult | undefined {
    const failure = this.localError ?? this.writeFailure;
    if (!failure) return undefined;
    // The stored error may carry the byte count of the write that failed; this write got none in.
    return err(failure.bytesAccepted ? failure.withBytesAccepted(0) : failure);
  }

  /**
   * Runs a driver operation so that `abort()` settles it at once, and so that a driver that
   * throws or rejects (a transport bug) yields an `io` error value instead of a rejection. The
   * abort hook is removed when the operation settles: a promise that outlives every write
   * would otherwise collect one reaction per write.
   */
  private guard(
    operation: () => Promise<WriteResult>,
    what: string,
    after: (r: WriteResult) => WriteResult = (r) => r,
  ): Promise<WriteResult> {
    if (this.localError) return Promise.resolve(after(err(this.localError)));
    return new Promise<WriteResult>((resolve) => {
      let settled = false;
      const settle = (r: WriteResult): void => {
        if (settled) return;
        settled = true;
        this.abortWaiters.delete(settle);
        resolve(after(r));
      };
      this.abortWaiters.add(settle);
      let running: Promise<WriteResult>;
      try {
        running = operation();
      } catch (cause) {
        running = Promise.reject(cause);
      }
      running.then(settle, (cause: unknown) => settle(err(fromNodeError(cause, `driver ${what} failed`))));
    });
  }

  private enqueueWrite(
    chunks: Uint8Array[],
    total: number,
    signal: AbortSignal | undefined,
    transfer: boolean,
  ): WriteResult | Promise<WriteResult> {
    const refused = this.refuseWrite() ?? (this.shutdownPromise ? err(closedError()) : undefined);
    if (refused) return refused;
    if (total === 0) return OK;
    this.pendingWrites += 1;
    if (this.pendingWrites === 1) {
      // Nothing queued: start now (the chain only orders writes that overlap), and since it
      // started, its signal is the driver's to honour.
      const result = this.startWrite(chunks, total, signal, transfer);
      this.writeChain = promised(result);
      return result;
    }
    let started = false;
    const result = this.writeChain.then(() => {
      started = true;
      return this.startWrite(chunks, total, signal, transfer);
    });
    this.writeChain = result;
    if (!signal) return result;
    // A write still queued behind others settles as soon as its signal aborts.
    return raceSignal(result, signal, () =>
      started ? PENDING_MARK : err(abortedError(signal.reason).withBytesAccepted(0)),
    ).then((r) => (r === PENDING_MARK ? result : r));
  }

  /** Runs one write through the driver; `pendingWrites` counts it until it settles. */
  private startWrite(
    chunks: Uint8Array[],
    total: number,
    signal: AbortSignal | undefined,
    transfer: boolean,
  ): WriteResult | Promise<WriteResult> {
    const refused =
      this.refuseWrite() ?? (signal?.aborted ? err(abortedError(signal.reason).withBytesAccepted(0)) : undefined);
    if (refused) {
      this.pendingWrites -= 1;
      return refused;
    }
    let running: WriteResult | Promise<WriteResult>;
    try {
      running = this.driver.write(chunks, signal, transfer);
    } catch (cause) {
      running = err(fromNodeError(cause, 'driver write failed'));
    }
    // Settled at once (the driver knew): no promise to race against abort.
    if (!isPromise(running)) return this.finishWrite(running, total, signal);
    const pending = running;
    return this.guard(() => pending, 'write', (r) => this.finishWrite(r, total, signal));
  }

  private finishWrite(r: WriteResult, total: number, signal: AbortSignal | undefined): WriteResult {
    this.pendingWrites -= 1;
    if (r.ok) {
      this.recorder.recordWrite(total);
      return r;
    }
    const accepted = r.error.bytesAccepted ?? 0;
    if (accepted > 0) this.recorder.recordWrite(accepted);
    // A write cancelled by its own signal leaves the flow usable; anything else is sticky.
    const cancelledByCaller = signal?.aborted === true && r.error.kind === 'aborted';
    if (!cancelledByCaller && !this.localError) {
      this.writeFailure ??= r.error;
      this.writeStatus = 'error';
    }
    return r;
  }

  shutdownWrite(options?: ShutdownOptions): Promise<WriteResult> {
    if (this.shutdownPromise) return boundShutdownWait(this.shutdownPromise, 'shutdownWrite', options);
    const refused = refusedByAbortedSignal(options);
    if (refused) return Promise.resolve(refused);
    if (this.writeStatus === 'open') this.writeStatus = 'shutting';
    this.shutdownPromise = this.writeChain.then(async (): Promise<WriteResult> => {
      const refused = this.refuseWrite();
      if (refused) return refused;
      // The state changes the moment the driver reports, before anyone awaiting it resumes.
      return this.guard(() => this.driver.shutdownWrite(), 'shutdownWrite', (r) => {
        if (!this.localError) this.writeStatus = r.ok ? 'shut' : 'error';
        return r;
      });
    });
    return boundShutdownWait(this.shutdownPromise, 'shutdownWrite', options);
  }

  // ---- Lifecycle ----

  close(options: CloseOptions = {}): Promise<WriteResult> {
    if (this.closePromise) return this.closePromise;
    if (this.localError) {
      this.closePromise = Promise.resolve(err(this.localError));
      return this.closePromise;
    }
    this.flowState = 'closing';
    const handshake = (async (): Promise<WriteResult> => {
      const shut = await this.shutdownWrite();
      if (!shut.ok) return shut;
      if (!this.closeWaitsForPeer) return OK;
      await this.peerDone.promise;
      if (this.localError) return err(this.localError);
      return this.inbound instanceof FlowError ? err(this.inbound) : OK;
    })();
    const { timeoutMs, signal } = options;
    const bounded = raceSignal(
      raceTimeout(handshake, timeoutMs, () => err(timeoutError('close', timeoutMs ?? 0))),
      signal,
      () => err(abortedError(signal?.reason)),
    );
    this.closePromise = bounded.then((r) => {
      if (this.flowState === 'aborted') return this.localError ? err(this.localError) : r;
      if (r.ok) {
        this.flowState = 'closed';
        try {
          this.driver.release();
        } catch {
          // A driver that throws while releasing has nothing left to tell us; the flow is closed.
        }
        this.released.resolve(undefined);
      } else {
        this.abort(r.error);
      }
      return r;
    });
    return this.closePromise;
  }

  abort(reason?: unknown): void {
    if (this.flowState === 'aborted' || this.flowState === 'closed') return;
    const error = abortedError(reason);
    this.localError = error;
    this.flowState = 'aborted';
    this.writeStatus = 'error';
    this.chunks = [];
    this.head = 0;
    this.bufferedBytes = 0;
    // A copy engine still using the descriptor stops before the transport closes it: otherwise
    // its duplicates would keep the connection open (no RST) until the engine noticed.
    for (const revoke of [...this.revokers]) revoke(error);
    this.revokers.clear();
    for (const settle of [...this.abortWaiters]) settle(err(error));
    this.peerDone.resolve();
    this.wakeReaders();
    try {
      this.driver.abort(error);
    } catch {
      // abort() is safe to call at any time: a throwing driver must not make it throw.
    }
    this.released.resolve(error);
  }

  // ---- Lending the descriptor ----

  private lendRead(lending: DescriptorLending, onRevoke: (error: FlowError) => void): Result<ReadLoan, string> {
    if (this.localError) return err('the flow is closed');
    if (this.readLent) return err('its descriptor is already lent for reading');
    if (this.readShut) return err('its read side is shut');
    if (this.inbound !== 'open') return err(SOURCE_ENDED);
    if (this.readWaiters.length > 0) return err('a read of it is in flight');
    const fd = lending.descriptor('read');
    if (typeof fd === 'string') return err(fd);
    lending.stopReading();
    if (this.inbound !== 'open' || this.localError) {
      // The end arrived with the last bytes: nothing to lend, the flow reads on as before.
      lending.startReading();
      return err(SOURCE_ENDED);
    }
    // What was read and not delivered goes first; it counts as read, as a read() would.
    const readAhead = this.chunks.slice(this.head);
    const taken = this.bufferedBytes;
    this.chunks = [];
    this.head = 0;
    this.bufferedBytes = 0;
    if (taken > 0) {
      this.recorder.recordRead(taken, readAhead.length);
      this.driver.consumed?.(taken);
    }
    // The transport stopped reading whether or not the flow had paused it.
    this.paused = false;
    this.readLent = true;
    this.revokers.add(onRevoke);
    let lent = true;
    const giveBack = (report: LoanReport): void => {
      if (!lent) return;
      lent = false;
      this.readLent = false;
      this.revokers.delete(onRevoke);
      if (report.bytes > 0) this.recorder.recordRead(report.bytes, report.ops);
      if (this.localError) return;
      // The engine may have consumed the evidence (the socket's pending error): the flow must
      // remember the failure itself, or the transport would later read a clean end.
      if (report.ended instanceof FlowError) this.fail(report.ended);
      else if (report.ended === 'eof') this.end();
      lending.startReading();
    };
    return ok({ fd, readAhead, giveBack });
  }

  private async lendWrite(
    lending: DescriptorLending,
    onRevoke: (error: FlowError) => void,
    signal: AbortSignal | undefined,
  ): Promise<Result<WriteLoan, string>> {
    if (this.localError) return err('the flow is closed');
    if (this.writeLent) return err('its descriptor is already lent for writing');
    if (this.shutdownPromise || this.writeFailure) return err('its write side is shut');
    const fd = lending.descriptor('write');
    if (typeof fd === 'string') return err(fd);
    // The loan takes its place in the order of writes: writes and shutdowns made meanwhile wait.
    this.writeLent = true;
    this.pendingWrites += 1;
    const before = this.writeChain;
    const loanEnded = deferred<void>();
    this.writeChain = loanEnded.promise;
    this.revokers.add(onRevoke);
    let lent = true;
    const end = (): void => {
      if (!lent) return;
      lent = false;
      this.writeLent = false;
      this.revokers.delete(onRevoke);
      this.pendingWrites -= 1;
      loanEnded.resolve();
    };
    await before;
    // The engine's bytes must not overtake bytes still queued in the transport.
    const flushed = this.localError || this.writeFailure ? false : await lending.flushed(signal);
    if (!flushed || this.localError || this.writeFailure) {
      end();
      return err(signal?.aborted ? 'the copy was stopped while its writes were flushing' : 'its write side failed');
    }
    const giveBack = (report: LoanReport): void => {
      if (!lent) return;
      if (report.bytes > 0) {
        this.recorder.recordWrite(report.bytes, report.ops);
        this.recorder.recordFlushed(report.bytes);
      }
      const failure = report.ended;
      if (failure instanceof FlowError && !this.localError) {
        this.writeFailure ??= failure;
        this.writeStatus = 'error';
        // A reset peer: the engine read the socket's error, so the transport would read a
        // clean end; the inbound side fails with it instead.
        if (failure.kind === 'reset') this.fail(failure);
      }
      end();
    };
    return ok({ fd, giveBack });
  }

  // ---- Language protocols ----

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return iterateFlow(this);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return disposeFlow(this);
  }

  // ---- Introspection ----

  get stats(): FlowStats {
    return this.recorder.snapshot();
  }

  get state(): FlowState {
    return this.flowState;
  }

  get readState(): ReadState {
    if (this.localError) return 'error';
    if (this.readShut) return 'shut';
    if (this.bufferedBytes > 0 || this.inbound === 'open') return 'open';
    return this.inbound === 'eof' ? 'eof' : 'error';
  }

  get writeState(): WriteState {
    return this.writeStatus;
  }

  get closed(): Promise<FlowError | undefined> {
    return this.released.promise;
  }
}

const EMPTY = new Uint8Array(0);
const noop = (): void => undefined;

/** A settled result as a promise; the common success shares one already-resolved promise. */
function promised(r: WriteResult | Promise<WriteResult>): Promise<WriteResult> {
  if (r === OK) return RESOLVED_OK;
  return isPromise(r) ? r : Promise.resolve(r);
}

/** A read parked until data, EOF or an error arrives (or its signal aborts). */
interface ReadWaiter {
  /** The caller's buffer for `readInto`; undefined for `read`. */
  readonly into: Uint8Array | undefined;
  readonly resolve: (result: unknown) => void;
  /** Set for a `whenReadable` listener, which is told instead of resolved, and takes nothing. */
  readonly notify: (() => void) | undefined;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  done: boolean;
}
const PENDING_MARK = Object.freeze({ ok: true, value: undefined, pending: true }) as unknown as WriteResult;
