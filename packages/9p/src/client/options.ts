// The types a client's caller sees: how to connect (Connect9pOptions) and what the path API
// answers (FileStat, DirectoryEntry), plus the shapes of raw requests and stream consumers.
import type { FlowError, Result } from '@flow/core';
import type { Dialect } from '../wire/constants';
import type { Qid, Request } from '../wire/types';

/** How `connect9p` connects: what to attach to, as whom, and the client's own limits. */
export interface Connect9pOptions {
  /** What to attach to. Default ''. */
  readonly aname?: string;
  /** msize to ask for. Default 65536; at least 4096. */
  readonly msize?: number;
  /** Dialect to ask for. Default: 9P2000.L, falling back to .u, then 9P2000, on "unknown". */
  readonly version?: Dialect;
  /** User name for Tattach. Default: this process's user name. */
  readonly uname?: string;
  /** Numeric uid for .u/.L Tattach. Default: this process's uid. */
  readonly nUname?: number;
  /** Tags in use at once. Default 1024, at most 65535. */
  readonly maxTags?: number;
  /** Fids in use at once. Default 1024. */
  readonly maxFids?: number;
  /** Reads or writes in flight per readFile/writeFile. Default 8. */
  readonly window?: number;
  /**
   * A server that has not answered a request (Tversion included) within this many milliseconds
   * is given up on: the session fails with a `timeout` error and the connection is aborted.
   * Default: no deadline. Leave it off for stream files, whose reads wait for data by design.
   */
  readonly requestTimeoutMs?: number;
}

/** What `Client9p.stat` says about a file, the same whatever the dialect. */
export interface FileStat {
  /** The file's name (the last element of its path; '/' for the root in some servers). */
  readonly name: string;
  /** What it is, from its qid type and mode bits. */
  readonly type: 'file' | 'directory' | 'symlink' | 'other';
  /** Permission bits (0o7777). */
  readonly mode: number;
  /** Length in bytes (0 for directories on most servers). */
  readonly size: number;
  /** Last modification time, milliseconds since the Unix epoch. */
  readonly mtimeMs: number;
  /** The owner's numeric id; undefined in plain 9P2000, which names owners only by string. */
  readonly uid: number | undefined;
  /** The group's numeric id; undefined in plain 9P2000. */
  readonly gid: number | undefined;
  /** The server's unique id of the file (type, version, path). */
  readonly qid: Qid;
}

/** One entry of `Client9p.readdir` ('.' and '..' left out). */
export interface DirectoryEntry {
  /** The entry's name within the directory. */
  readonly name: string;
  /** What it is (from the entry's qid, or its stat in 9P2000 and .u). */
  readonly type: FileStat['type'];
  /** The server's unique id of the entry. */
  readonly qid: Qid;
}

/** A request without its tag (the client assigns tags). */
export type UntaggedRequest = Request extends infer R ? (R extends Request ? Omit<R, 'tag'> : never) : never;

/** What a `readStream` consumer answers: nothing to go on, or an error result to stop with. */
export type StreamStep = void | Result<void, FlowError>;
