// What a caller of serve9p chooses (Serve9pOptions, AuthHook) and what it gets back (SessionSummary):
// the types alone, so that the session and every request handler can name them without importing
// the entry point.
import type { BusyPoll, FlowError } from '@flow/core';
import type { AttachInfo, FsResult } from '../fs/filesystem';
import type { Dialect } from '../wire/constants';
import type { Message } from '../wire/types';
import type { ConnectionPool } from './connection-pool';
import type { AuthState } from './fid-table';
import type { MemoryBudget } from './memory-budget';

/** Authentication for Tauth; without it, Tauth answers "no authentication required" (ENOENT). */
export interface AuthHook {
  /** Starts a conversation; the client reads and writes the returned state's file via its afid. */
  start(info: AttachInfo): Promise<FsResult<AuthState>>;
}

/** How `serve9p` serves one connection: limits, dialects, authentication, timeouts, shared budgets. */
export interface Serve9pOptions {
  /** Largest msize the server accepts (the cap). Default 65536; at most 16 MiB. */
  readonly msize?: number;
  /** Fids one connection may hold. Default 4096. */
  readonly maxFids?: number;
  /** Requests one connection may have outstanding; more wait (backpressure). Default 256. */
  readonly maxInFlight?: number;
  /** Dialects offered. Default all three. */
  readonly dialects?: readonly Dialect[];
  /** Answers Tauth; without it the server needs no authentication (Tauth gets ENOENT, as diod's `-n`). */
  readonly auth?: AuthHook;
  /** Stops serving: the flow is aborted. */
  readonly signal?: AbortSignal;
  /** Called with every request and reply, for a diod `-d 1`-style trace. */
  readonly trace?: (direction: 'in' | 'out', message: Message) => void;
  /**
   * A client must complete Tversion within this many milliseconds of connecting, or the
   * connection is cut: a peer that sends nothing, or a byte at a time, cannot hold a slot.
   * Default 5000; 0 turns it off.
   */
  readonly handshakeTimeoutMs?: number;
  /**
   * A connection that has had no request in flight and received no whole request for this many
   * milliseconds is cut. Default 0 (off): a mounted filesystem may rightly sit idle for hours.
   */
  readonly idleTimeoutMs?: number;
  /**
   * The server's connection pool, shared by every connection it serves: when full, a newcomer
   * takes the slot of the longest-idle connection that holds no fid (see ConnectionPool), or is
   * refused (the session ends at once with a `limit` error).
   */
  readonly pool?: ConnectionPool;
  /**
   * The server's memory budget, shared by every connection it serves (see MemoryBudget): what
   * a client makes the server hold (9P2000/.u directory snapshots, fids, replies waiting to be
   * written, frame buffers) is charged to it. Default: a budget of 64 MiB for this connection.
   */
  readonly memory?: MemoryBudget;
  /**
   * Keeps the event loop polling for a short while after each reply instead of sleeping (see
   * `BusyPoll` in @flow/core), shared by every connection of the process: a client with one
   * request in flight on another CPU then finds the server awake. Costs CPU while the window is
   * open; the window adapts to how soon requests come back. Default: none (the loop sleeps as
   * soon as it has nothing to do); `flow 9p serve` uses one (`--busy-poll`).
   */
  readonly busyPoll?: BusyPoll;
}

/** How one served connection went. */
export interface SessionSummary {
  /** `eof`: the client ended the stream; `error`: the flow failed or the client broke framing. */
  readonly outcome: 'eof' | 'error' | 'aborted';
  /** Why the session ended, for `error` and `aborted`. */
  readonly error?: FlowError;
  /** The dialect Tversion settled on; undefined when the client never completed it. */
  readonly dialect: Dialect | undefined;
  /** The negotiated maximum message size in bytes (the server's cap until Tversion). */
  readonly msize: number;
  /** Requests received, each answered or flushed. */
  readonly requests: number;
  /** Requests answered with an error reply (Rerror or Rlerror). */
  readonly errors: number;
  /** Tflush requests received. */
  readonly flushes: number;
  /** Bytes of 9P frames read from the client. */
  readonly bytesRead: number;
  /** Bytes of 9P frames written to the client. */
  readonly bytesWritten: number;
}

/** The smallest msize a client may negotiate (room for a header, a qid and a stat). */
export const MIN_MSIZE = 256;
/** The largest msize a server may offer. */
export const MAX_MSIZE = 16 * 1024 * 1024;
