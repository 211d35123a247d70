// The 9P client a program uses: connect9p, and Client9p's path API (stat, readdir, read and
// write whole files or streams, mkdir, symlink, remove, rename, files as flows). Client9p is
// the session of rpc-session.ts (tags, fids, rpc, walk, clunk, close) plus these methods, each
// a short call into the file that holds its concern:
//   metadata.ts   stat, readdir, readlink        names.ts   mkdir, symlink, remove, rename
//   transfer.ts   readStream/writeStream          file-flow.ts  openFlow
//   paths.ts      what they share (path splitting, fid scoping, opening)
import { type Flow, type FlowError, ok, type Result } from '@flow/core';
import { openFileFlow, type FileFlowOptions } from './file-flow';
import { readdirPath, readlinkPath, statPath } from './metadata';
import { mkdirPath, removePath, renamePath, symlinkPath } from './names';
import type { Connect9pOptions, DirectoryEntry, FileStat, StreamStep } from './options';
import { MIN_CLIENT_MSIZE, RpcSession } from './rpc-session';
import { readStream, writeStream } from './transfer';

export type { Connect9pOptions, DirectoryEntry, FileStat, StreamStep, UntaggedRequest } from './options';

/**
 * Connects a 9P client over `flow`: Tversion, then Tattach. Never rejects; on failure the flow
 * is aborted and the error returned.
 */
export async function connect9p(flow: Flow, options: Connect9pOptions = {}): Promise<Result<Client9p, FlowError>> {
  const msize = options.msize ?? 65536;
  if (!Number.isInteger(msize) || msize < MIN_CLIENT_MSIZE || msize > 0xffffffff) {
    throw new RangeError(`msize must be an integer >= ${MIN_CLIENT_MSIZE}`);
  }
  const client = new Client9p(flow, options, msize);
  const r = await client.start();
  if (!r.ok) {
    client.abort(r.error);
    return r;
  }
  return ok(client);
}

/** A connected 9P client: the session's requests plus operations on paths from the attach root. */
export class Client9p extends RpcSession {
  /** What `path` is (the same shape in every dialect). */
  stat(path: string): Promise<Result<FileStat, FlowError>> {
    return statPath(this, path);
  }

  /** The entries of the directory `path`, without '.' and '..'. */
  readdir(path: string): Promise<Result<DirectoryEntry[], FlowError>> {
    return readdirPath(this, path);
  }

  /**
   * Reads `path` from start to end and hands `onData` each piece in order, waiting for it before
   * reading on, so memory stays at `window` pieces of one iounit whatever the file's size. Up to
   * `window` Treads are in flight. `onData` may return an error result (or throw) to stop.
   * Resolves with the number of bytes read; `maxBytes` bounds it with a `limit` error.
   */
  readStream(
    path: string,
    onData: (data: Uint8Array) => StreamStep | Promise<StreamStep>,
    options: { signal?: AbortSignal; maxBytes?: number } = {},
  ): Promise<Result<number, FlowError>> {
    return readStream(this, this.window, path, onData, options);
  }

  /** Reads a whole file into memory (see `readStream` for files of any size); `maxBytes` bounds it. */
  async readFile(path: string, options: { signal?: AbortSignal; maxBytes?: number } = {}): Promise<Result<Uint8Array, FlowError>> {
    const parts: Uint8Array[] = [];
    const r = await this.readStream(path, (data) => void parts.push(data), options);
    return r.ok ? ok(Buffer.concat(parts)) : r;
  }

  /**
   * Creates or truncates `path` and writes everything `source` yields, in order, with up to
   * `window` pipelined Twrites of one iounit; at most that much of the source is held at once.
   * Resolves with the number of bytes written. A source that throws stops the write with an
   * error; what was written until then stays in the file.
   */
  writeStream(path: string, source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Result<number, FlowError>> {
    return writeStream(this, this.window, path, source);
  }

  /** Creates or truncates `path` and writes `data` with pipelined Twrites. */
  async writeFile(path: string, data: Uint8Array): Promise<Result<void, FlowError>> {
    const r = await this.writeStream(path, [data]);
    return r.ok ? ok(undefined) : r;
  }

  /** Makes the directory `path` with permission bits `mode`. */
  mkdir(path: string, mode = 0o755): Promise<Result<void, FlowError>> {
    return mkdirPath(this, path, mode);
  }

  /** Creates a symbolic link `path` whose content is `target` (.L Tsymlink, .u Tcreate DMSYMLINK). */
  symlink(path: string, target: string): Promise<Result<void, FlowError>> {
    return symlinkPath(this, path, target);
  }

  /** The target of the symbolic link `path` (.L Treadlink, .u the stat extension). */
  readlink(path: string): Promise<Result<string, FlowError>> {
    return readlinkPath(this, path);
  }

  /** Removes the file or empty directory `path`. */
  remove(path: string): Promise<Result<void, FlowError>> {
    return removePath(this, path, (fid) => this.freeFid(fid));
  }

  /** Moves `from` to `to` (9P2000 and .u: only within one directory). */
  rename(from: string, to: string): Promise<Result<void, FlowError>> {
    return renamePath(this, from, to);
  }

  /**
   * Opens the file at `path` as a `Flow`: reads and writes at the stream position, EOF at the end
   * of a regular file or when a stream file's writer ended (see `FileFlowOptions`).
   */
  openFlow(path: string, options?: FileFlowOptions): Promise<Result<Flow, FlowError>> {
    return openFileFlow(this, path, options);
  }
}
