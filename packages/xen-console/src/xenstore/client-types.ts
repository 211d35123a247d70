import type { FlowError, Result } from '@flow/core';
import type { XsRetry } from './retry';

/** One permission entry; the first of a list is the owner and the default for everyone else. */
export interface XsPerm {
  /** n: none, r: read, w: write, b: both. */
  readonly access: 'n' | 'r' | 'w' | 'b';
  /** The domain the entry is about (for the first entry: the owner). */
  readonly domid: number;
}

/**
 * The xenstore operations, on the connection or inside a transaction. Errors are FlowErrors
 * whose `code` is xenstore's (`ENOENT`, `EACCES`, `EAGAIN`, ...).
 */
export interface XsOps {
  /** The value at `path` as text (UTF-8). */
  read(path: string): Promise<Result<string, FlowError>>;
  /** Writes `value` at `path`, creating missing parents. */
  write(path: string, value: string | Uint8Array): Promise<Result<void, FlowError>>;
  /** Creates `path` (and missing parents) with an empty value; succeeds if it exists already. */
  mkdir(path: string): Promise<Result<void, FlowError>>;
  /** Removes `path` and everything below it. */
  rm(path: string): Promise<Result<void, FlowError>>;
  /** The names of the children of `path`. */
  directory(path: string): Promise<Result<string[], FlowError>>;
  /** The permissions of `path`, the owner first. */
  getPerms(path: string): Promise<Result<XsPerm[], FlowError>>;
  /** Replaces the permissions of `path`: `perms[0]` names the owner and everyone else's default access. */
  setPerms(path: string, perms: readonly XsPerm[]): Promise<Result<void, FlowError>>;
}

/** A watch: the paths that changed, starting with the event xenstore sends when it is set. */
export interface XsWatch extends AsyncIterable<string> {
  /** The next changed path, or an error once the watch or connection is closed. */
  next(options?: { readonly signal?: AbortSignal }): Promise<Result<string, FlowError>>;
  /** Removes the watch; a pending `next` ends with an error. Idempotent. */
  close(): Promise<void>;
}

/** Options of `transaction`. */
export interface TransactionOptions {
  /** Retries after a conflict (EAGAIN at commit) before giving up with a `limit` error. Default 16. */
  readonly maxRetries?: number;
  /** Stops retrying when this aborts (checked before each attempt): the result is an `aborted` error. */
  readonly signal?: AbortSignal;
}

/** Options of `wait`. */
export interface WaitOptions {
  /** Give up with a `timeout` error after this many milliseconds. */
  readonly timeoutMs?: number;
  /** Give up with an `aborted` error when this aborts. */
  readonly signal?: AbortSignal;
  /** Most distinct paths watched for one wait; more gives a `limit` error. Default 128. */
  readonly maxWatches?: number;
}

/** A xenstore connection. */
export interface XsClient extends XsOps {
  /**
   * Runs `fn` in a transaction and commits; `fn` returning an error aborts it. A conflict at
   * commit re-runs `fn` (bounded, with back-off).
   */
  transaction<T>(fn: (tx: XsOps) => Promise<Result<T, FlowError>>, options?: TransactionOptions): Promise<Result<T, FlowError>>;
  /** Watches `path` and everything below it. */
  watch(path: string): Promise<Result<XsWatch, FlowError>>;
  /**
   * OXS's `wait`: runs `fn` on operations that record every path it reads, watches those paths,
   * and re-runs `fn` after a watch event until it returns something other than `RETRY`; its
   * value (or its error) is the result. Bounded by `timeoutMs` / `signal`; the watches are
   * removed before it resolves.
   */
  wait<T>(fn: (ops: XsOps) => Promise<Result<T | XsRetry, FlowError>>, options?: WaitOptions): Promise<Result<T, FlowError>>;
  /** `/local/domain/<domid>`. */
  getDomainPath(domid: number): Promise<Result<string, FlowError>>;
  /** Closes the connection; pending operations end with a `closed` error. Idempotent. */
  close(): Promise<void>;
}
