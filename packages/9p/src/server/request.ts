// The contract between the session and the request handlers: what a handler may use of its
// connection (RequestContext) and what it gives back (Outcome). A handler never writes to the
// flow or changes the fid table itself: it returns the reply and, separately, the fid-table
// change (commit) and its undo (rollback), so that a request flushed while it ran leaves no
// trace (flush(5)).
import type { Filesystem, FsError, FsResult } from '../fs/filesystem';
import type { Dialect } from '../wire/constants';
import type { Message, MessageOf, Reply } from '../wire/types';
import type { FidEntry, FidTable } from './fid-table';
import type { MemoryAccount } from './memory-budget';
import type { Serve9pOptions } from './options';

/**
 * A request being handled. Its AbortSignal is made only when a handler asks for it (most
 * requests never need one, and an AbortController costs more than the rest of a getattr).
 */
export class Pending {
  /** Tflush'd: the request is treated as never sent (no reply, changes rolled back). */
  flushed = false;
  /** Flushed, or cancelled because the connection ends. */
  aborted = false;
  private controller: AbortController | undefined;

  /** Aborts when the request is flushed or the connection ends (made on first use). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }

  /** Cancels the request: back ends waiting on `signal` give up. */
  abort(): void {
    this.aborted = true;
    this.controller?.abort();
  }
}

/** A reply frame built in place in a pooled buffer (Rread): header and data in one write. */
export interface PooledFrame {
  /** The whole pooled buffer (msize bytes), returned to the pool once written. */
  readonly buffer: Buffer;
  /** Bytes of `buffer` that make the frame, header included. */
  readonly length: number;
}

/** A handler's result: the reply, plus fid-table changes applied only if the reply is sent. */
export interface Outcome {
  /** What the client is told. */
  readonly reply: Reply;
  /** Applies fid-table changes; may return an error reply if they are no longer possible. */
  readonly commit?: () => Reply | undefined;
  /** Undoes side effects when the request was flushed (e.g. closes a file it opened). */
  readonly rollback?: () => void;
  /** The reply already laid out on the wire in a pooled buffer (header filled in by send). */
  readonly frame?: PooledFrame;
}

/** The decoded request of type `T`. */
export type Req<T extends Message['type']> = MessageOf<T>;

/** What a request handler may use of the connection it serves. */
export interface RequestContext {
  /** The back end being served. */
  readonly fs: Filesystem;
  /** The options the connection is served with. */
  readonly options: Serve9pOptions;
  /** This connection's fids. */
  readonly fids: FidTable;
  /** This connection's share of the server's memory budget. */
  readonly account: MemoryAccount;
  /** The negotiated dialect (handlers only run once there is one). */
  readonly dialect: Dialect | undefined;
  /** The negotiated msize. */
  readonly msize: number;
  /** The iounit Ropen/Rcreate promise: the largest read or write payload. */
  readonly iounit: number;
  /** The fid's entry, or EBADF. */
  entry(fid: number): FsResult<FidEntry>;
  /** The fid `fid` as a directory in which `name` may be created or looked up. */
  dirEntry(fid: number, name: string): FsResult<FidEntry>;
  /** The dialect's error reply for `e` (counted in the summary). */
  errorReply(tag: number, e: FsError): Reply;
  /** An outcome that is just the error reply for `e`. */
  fail(tag: number, e: FsError): Outcome;
  /** Closes what a fid holds (its open file, auth file, listing), removing it if ORCLOSE asked so. */
  releaseEntry(e: FidEntry, removeOnClunk: boolean): Promise<FsResult<void> | undefined>;
  /** A buffer for one Rread frame of up to msize bytes, from the pool when one is free. */
  takeBuffer(): Buffer;
  /** Gives a buffer from `takeBuffer` back to the pool. */
  releaseBuffer(buffer: Buffer): void;
}

/** A name a walk or create must refuse: empty, `.`, `..`, or holding `/` or NUL. */
export function badName(name: string): boolean {
  return name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0');
}

/** The outcome of a back-end operation with nothing to return: `reply`, or its error. */
export async function simple(s: RequestContext, tag: number, op: Promise<FsResult<void>>, reply: Reply): Promise<Outcome> {
  const r = await op;
  return r.ok ? { reply } : s.fail(tag, r.error);
}

/** Closes a back end's file without letting a failure become an unhandled rejection. */
export function closeQuietly(file: { close(): Promise<void> }): void {
  void Promise.resolve()
    .then(() => file.close())
    .catch(() => undefined);
}
