import type { FlowError } from './errors';
import type { Result } from './result';
import type { FlowStats } from './stats';

/** End of stream: the peer shut down its write side and every byte it sent has been read. */
export const EOF: unique symbol = Symbol.for('@flow/core.EOF');
/** The type of {@link EOF}: what a read resolves with at the end of the stream. */
export type EOF = typeof EOF;

/** Options of `read` and `readInto`. */
export interface ReadOptions {
  /** Aborting a pending read resolves it with `aborted`; an aborted read consumed nothing. */
  readonly signal?: AbortSignal;
}

/** Options of `write` and `writev`. */
export interface WriteOptions {
  /**
   * Aborting a write that is still waiting for room resolves it with `aborted`; the error's
   * `bytesAccepted` says how much of it was accepted before the abort.
   */
  readonly signal?: AbortSignal;
  /**
   * The caller hands the buffer over for good: it will never read or change it again, so the
   * transport may keep or pass it on without copying (in-memory pairs deliver it as is; socket
   * writes resolve as soon as Node queued them). `copy` and `proxy` set it for the chunks they
   * read. Default false.
   */
  readonly transfer?: boolean;
}

/** Bounds the wait of `shutdownWrite` and `shutdownRead`, like every other operation's. */
export interface ShutdownOptions {
  /**
   * Stop waiting (for pending writes to flush) when this signal aborts: the call resolves with
   * `aborted`. The shutdown itself still happens once those writes are flushed; `abort()` drops them.
   */
  readonly signal?: AbortSignal;
  /** Stop waiting after this many milliseconds: the call resolves with `timeout`, as above. */
  readonly timeoutMs?: number;
}

/**
 * Bounds the close handshake of `close()`. Without either, `close()` waits as long as the peer
 * takes to shut down its side.
 */
export interface CloseOptions {
  /** Give up waiting for the handshake after this many milliseconds, then abort. */
  readonly timeoutMs?: number;
  /** Give up waiting for the handshake when this signal aborts, then abort. */
  readonly signal?: AbortSignal;
}

/** How a transport really implements each part of the contract. */
export interface FlowCapabilities {
  /**
   * `native`: the peer sees EOF after our data and can still write (TCP FIN).
   * `emulated`: the library signals EOF in its own protocol.
   * `none`: shutting down the write side ends the whole flow.
   */
  readonly halfCloseWrite: 'native' | 'emulated' | 'none';
  /** `native`: the transport stops delivery; `emulated`: bytes still arrive and are dropped. */
  readonly halfCloseRead: 'native' | 'emulated' | 'none';
  /** `rst`: the peer learns of the abort as a reset; `close`: it sees an ordinary end of stream. */
  readonly abort: 'rst' | 'close';
  /**
   * The flow is backed by a kernel descriptor it can lend to a copy accelerator
   * (`descriptorLenderOf(flow)` gives the lender), so that `copy`/`proxy` can run on one.
   */
  readonly lendsDescriptor?: boolean;
  /** Free-form notes on anything else the transport cannot do, for humans. */
  readonly notes?: readonly string[];
}

/**
 * What `read` resolves with: a chunk of at least one byte that the caller owns, `EOF`, or the
 * `FlowError` that ended reading (`reset`, `aborted`, `timeout`, ...).
 */
export type ReadResult = Result<Uint8Array | EOF, FlowError>;
/** What `readInto` resolves with: the number of bytes filled (at least 1), `EOF`, or the error. */
export type ReadIntoResult = Result<number | EOF, FlowError>;
/**
 * What `write`, `writev`, the shutdowns and `close` resolve with: success once everything was
 * accepted, or the `FlowError` (`closed` after `shutdownWrite`, `reset`, `aborted`, `timeout`, ...).
 */
export type WriteResult = Result<void, FlowError>;

/**
 * The read half: `open` (reads may return data), `eof` (the peer's EOF was read), `shut` (this side
 * called `shutdownRead`), `error` (a read failed or the flow was aborted; reads return that error).
 */
export type ReadState = 'open' | 'eof' | 'shut' | 'error';
/**
 * The write half: `open`, `shutting` (`shutdownWrite` is flushing pending writes), `shut` (the peer
 * was told no more data comes), `error` (a write or the shutdown failed, or the flow was aborted).
 */
export type WriteState = 'open' | 'shutting' | 'shut' | 'error';
/**
 * The whole flow: `open`, `closing` (the close handshake is under way), `closed` (released after
 * the handshake), `aborted` (released by `abort()`, or by a `close()` that failed or gave up).
 */
export type FlowState = 'open' | 'closing' | 'closed' | 'aborted';

/** How long `await using` waits for the close handshake before it aborts the flow. */
export const DISPOSE_TIMEOUT_MS = 2000;

/**
 * A reliable, ordered byte stream with half-close: the Mirage_flow signature in TypeScript.
 *
 * No method rejects and no method throws for an I/O condition; every outcome is a `Result`.
 * Methods throw only for programmer errors (a bad argument). The two exceptions are the
 * language protocols: `for await` throws a read's error (a loop has no other way to say it),
 * and `await using` never throws.
 */
export interface Flow extends AsyncIterable<Uint8Array>, AsyncDisposable {
  /**
   * Resolves when at least one byte is available, with a fresh buffer the caller owns, or with
   * `EOF` once the peer shut down its write side and all in-flight data was read. After EOF or an
   * error, every later read resolves the same way again.
   */
  read(options?: ReadOptions): Promise<ReadResult>;

  /** Like `read`, but copies into `buffer` and resolves with the number of bytes filled (≥ 1). */
  readInto(buffer: Uint8Array, options?: ReadOptions): Promise<ReadIntoResult>;

  /**
   * Resolves once the flow has accepted all of `buffer`, waiting out backpressure. The flow may
   * keep `buffer` until then: do not mutate it before the promise settles. Writes are delivered
   * in the order they were called.
   */
  write(buffer: Uint8Array, options?: WriteOptions): Promise<WriteResult>;

  /** Writes every buffer, in order; resolves once all are accepted. */
  writev(buffers: readonly Uint8Array[], options?: WriteOptions): Promise<WriteResult>;

  /**
   * Flushes pending writes, then tells the peer that no more data comes (TCP FIN). Later writes
   * return `closed`. Reading goes on. Repeated calls share one shutdown; `options` bound only
   * this call's wait.
   */
  shutdownWrite(options?: ShutdownOptions): Promise<WriteResult>;

  /** This side reads no more: pending and later reads resolve with EOF. */
  shutdownRead(options?: ShutdownOptions): Promise<WriteResult>;

  /**
   * The close handshake: flush pending writes, signal the peer (as `shutdownWrite`), wait until
   * the peer has closed its side too (we saw its EOF), then release everything. Meanwhile the
   * peer may still write and we may still read. Idempotent: a second call returns the same
   * promise. On `timeoutMs` or `signal` it gives up and aborts.
   */
  close(options?: CloseOptions): Promise<WriteResult>;

  /**
   * Release now, dropping queued data (a TCP RST where the transport can). Pending operations
   * settle with `aborted`. Safe to call at any time, any number of times.
   */
  abort(reason?: unknown): void;

  /**
   * `for await (const chunk of flow)`: the chunks read until EOF, each a fresh buffer the caller
   * owns. The write half is left alone (a server can drain a request, then reply), and so is
   * the flow when the loop is left early. A read error is thrown as the `FlowError`, so that a
   * reset never reads as the end of the stream. Use `readChunks` to get errors as values.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>;

  /**
   * `await using flow = ...`: the close handshake, bounded by `DISPOSE_TIMEOUT_MS`, then abort.
   * Never rejects; call `close()` yourself to see how it went or to wait longer.
   */
  [Symbol.asyncDispose](): Promise<void>;

  /** A snapshot of the byte and operation counters. */
  readonly stats: FlowStats;
  /** How this transport implements half-close and abort; constant for the flow's life. */
  readonly capabilities: FlowCapabilities;
  /** Where the read half stands now; see {@link ReadState}. */
  readonly readState: ReadState;
  /** Where the write half stands now; see {@link WriteState}. */
  readonly writeState: WriteState;
  /** Where the whole flow stands now; see {@link FlowState}. */
  readonly state: FlowState;
  /** Settles once the flow is released (after `close` or `abort`), with the error if it failed. */
  readonly closed: Promise<FlowError | undefined>;
  /** A human-readable name for logs, e.g. `tcp 127.0.0.1:5000 -> 127.0.0.1:41234`. */
  readonly label: string;
}

/** True if `value` is the {@link EOF} marker, e.g. `if (r.ok && isEOF(r.value)) break`. */
export function isEOF(value: unknown): value is EOF {
  return value === EOF;
}
