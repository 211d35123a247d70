import type { Result } from '@flow/core';
import { ERRNO, type ErrnoName } from '../wire/constants';
import type { Qid } from '../wire/types';

/**
 * A filesystem error: a Linux errno (what .u and .L carry on the wire) and a readable message
 * (what 9P2000's Rerror carries).
 */
export interface FsError {
  /** The Linux errno number, e.g. 2 for ENOENT (see {@link ERRNO}). */
  readonly errno: number;
  /** A sentence for humans, e.g. `No such file or directory`. */
  readonly message: string;
}

/** What every back-end operation resolves with: the value, or an {@link FsError}. */
export type FsResult<T> = Result<T, FsError>;

const MESSAGES: Partial<Record<ErrnoName, string>> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EIO: 'Input/output error',
  EBADF: 'Bad file descriptor',
  EACCES: 'Permission denied',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EXDEV: 'Invalid cross-device link',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  ENOSPC: 'No space left on device',
  ESPIPE: 'Illegal seek',
  EROFS: 'Read-only file system',
  ENAMETOOLONG: 'File name too long',
  ENOSYS: 'Function not implemented',
  ENOTEMPTY: 'Directory not empty',
  ELOOP: 'Too many levels of symbolic links',
  ENODATA: 'No data available',
  EPROTO: 'Protocol error',
  EMSGSIZE: 'Message too long',
  EOPNOTSUPP: 'Operation not supported',
  ECANCELED: 'Operation canceled',
  EPIPE: 'Broken pipe',
  ECONNRESET: 'Connection reset by peer',
};

/** An error value for `name`, with the standard message unless one is given. */
export function fsError(name: ErrnoName, message?: string): FsError {
  return { errno: ERRNO[name], message: message ?? MESSAGES[name] ?? name };
}

const BY_NUMBER = new Map<number, ErrnoName>(
  (Object.entries(ERRNO) as [ErrnoName, number][]).map(([k, v]) => [v, k]),
);

/** The symbolic name of an errno number, e.g. 2 → `ENOENT`. */
export function errnoName(errno: number): string {
  return BY_NUMBER.get(errno) ?? `errno ${errno}`;
}

/** The errno of a standard message (9P2000's Rerror carries only the string), or 0. */
export function errnoOfMessage(message: string): number {
  for (const [name, text] of Object.entries(MESSAGES)) if (text === message) return ERRNO[name as ErrnoName];
  return 0;
}

/** Maps a Node.js fs error to an FsError (unknown codes become EIO). */
export function fromFsException(e: unknown): FsError {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in ERRNO) return fsError(code as ErrnoName);
  if (code === 'ENOTSUP') return fsError('EOPNOTSUPP');
  return fsError('EIO', e instanceof Error ? e.message : String(e));
}

/** File attributes, in the units of 9P2000.L's Rgetattr (Linux st_mode, nanosecond times). */
export interface Attr {
  /** The file's qid. */
  readonly qid: Qid;
  /** Linux st_mode: S_IF* type bits plus permission bits. */
  readonly mode: number;
  /** The owner's numeric user id. */
  readonly uid: number;
  /** The numeric group id. */
  readonly gid: number;
  /** The number of hard links. */
  readonly nlink: number;
  /** The device number, for device files (Linux `makedev` encoding); 0 otherwise. */
  readonly rdev: number;
  /** Size in bytes. */
  readonly size: bigint;
  /** The preferred I/O block size, in bytes. */
  readonly blksize: number;
  /** Space allocated, in 512-byte blocks. */
  readonly blocks: bigint;
  /** Last access, in nanoseconds since the epoch. */
  readonly atimeNs: bigint;
  /** Last modification of the content, in nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
  /** Last change of the attributes, in nanoseconds since the epoch. */
  readonly ctimeNs: bigint;
}

/** A time to set: nanoseconds since the epoch, or the server's current time. */
export type TimeSpec = bigint | 'now';

/** Changes requested by Tsetattr or Twstat; absent fields are not touched. */
export interface SetAttr {
  /** New permission bits (the file-type bits are ignored). */
  readonly mode?: number;
  /** New owner, as a numeric user id. */
  readonly uid?: number;
  /** New group, as a numeric group id. */
  readonly gid?: number;
  /** New size in bytes: truncates or extends with zeros. */
  readonly size?: bigint;
  /** New access time. */
  readonly atime?: TimeSpec;
  /** New modification time. */
  readonly mtime?: TimeSpec;
}

/** What an open asks for; the server maps Topen modes and Tlopen flags onto it. */
export interface OpenIntent {
  /** The fid will read. */
  readonly read: boolean;
  /** The fid will write. */
  readonly write: boolean;
  /** Truncate the file to 0 bytes first. */
  readonly truncate: boolean;
  /** Every write goes to the end of the file. */
  readonly append: boolean;
}

/** One directory entry as a back end lists it ('.' and '..' are added by the server). */
export interface DirEntry {
  /** The entry's name (one path element). */
  readonly name: string;
  /** The entry's qid. */
  readonly qid: Qid;
}

/** File-system statistics, as `statfs(2)` gives them and 9P2000.L's Rstatfs carries. */
export interface StatFs {
  /** The file-system type (Linux `f_type` magic number). */
  readonly type: number;
  /** The block size, in bytes, that the block counts are in. */
  readonly bsize: number;
  /** Total blocks. */
  readonly blocks: bigint;
  /** Free blocks. */
  readonly bfree: bigint;
  /** Free blocks available to unprivileged users. */
  readonly bavail: bigint;
  /** Total inodes. */
  readonly files: bigint;
  /** Free inodes. */
  readonly ffree: bigint;
  /** The file-system id. */
  readonly fsid: bigint;
  /** The longest file name, in bytes. */
  readonly namelen: number;
}

/** An open file. Offsets are numbers (the server refuses offsets beyond 2^53). */
export interface OpenFile {
  /** At most `count` bytes from `offset`; an empty result is end of file. */
  read(offset: number, count: number, signal: AbortSignal): Promise<FsResult<Uint8Array>>;
  /**
   * Optional, preferred by the server when present: reads at most `into.length` bytes from
   * `offset` into `into` (a view of the reply frame the server will send) and gives the count;
   * 0 is end of file. May complete synchronously (the reply then goes out at once). Meant for
   * reads that always finish promptly, like those of regular files: it is not cancellable, a
   * Tflush waits for it. The buffer is the server's: do not keep it after completing.
   */
  readInto?(offset: number, into: Uint8Array): FsResult<number> | Promise<FsResult<number>>;
  /** Writes `data` at `offset` (or at the end if opened for append); resolves with bytes written. */
  write(offset: number, data: Uint8Array, signal: AbortSignal): Promise<FsResult<number>>;
  /**
   * Optional, preferred by the server when present: `write` for writes that always finish
   * promptly (an in-memory file, a sink), which may complete synchronously (the reply then goes
   * out at once, with no promise and no AbortSignal made for it). It is not cancellable: a
   * Tflush waits for it. A file whose writes may wait (a stream) leaves it out.
   */
  writeNow?(offset: number, data: Uint8Array): FsResult<number> | Promise<FsResult<number>>;
  /** Optional: flushes the file's data to stable storage (Tfsync); absent, Tfsync succeeds doing nothing. */
  fsync?(): Promise<FsResult<void>>;
  /** Releases the file; called once, when its fid is clunked or the connection ends. */
  close(): Promise<void>;
}

/**
 * The low-level per-request interface: one node per file, as a fid sees it. The server owns
 * the protocol (fids, tags, flush, walk semantics, `..`, name checks, dialect mapping); a back
 * end answers for single files. Optional operations that are absent answer EOPNOTSUPP.
 * Names passed to a node are already checked: never '', '.', '..', or containing '/' or NUL.
 */
export interface FsNode {
  /** The node's qid; its `path` must stay the same for the life of the file. */
  readonly qid: Qid;
  /** The node's current attributes. */
  getattr(): Promise<FsResult<Attr>>;
  /** The child `name` of this directory. */
  walk(name: string): Promise<FsResult<FsNode>>;
  /** Opens the node for what `intent` says; EACCES, EISDIR etc. when it cannot be. */
  open(intent: OpenIntent): Promise<FsResult<OpenFile>>;
  /** Every entry of this directory, in a stable order. */
  readdir(): Promise<FsResult<readonly DirEntry[]>>;
  /**
   * Optional: the names of this directory's entries, without their qids. When present, a
   * 9P2000.L Treaddir lists names only and looks up just the entries its reply holds, instead of
   * every entry of the directory (see `readdir`).
   */
  readdirNames?(): Promise<FsResult<readonly string[]>>;
  /** Optional, with `readdirNames`: the entries of these names (those that still exist), in one go. */
  lookupEntries?(names: readonly string[]): Promise<FsResult<readonly DirEntry[]>>;
  /** Optional: applies `changes` (all or nothing where the back end can). */
  setattr?(changes: SetAttr): Promise<FsResult<void>>;
  /** Optional: a symbolic link's target. */
  readlink?(): Promise<FsResult<string>>;
  /** Creates a regular file in this directory and opens it. */
  create?(name: string, mode: number, intent: OpenIntent): Promise<
    FsResult<{
      /** The new file's node. */
      node: FsNode;
      /** The new file, opened as `intent` says. */
      file: OpenFile;
    }>
  >;
  /** Optional: creates the directory `name` here with permission bits `mode`. */
  mkdir?(name: string, mode: number): Promise<FsResult<FsNode>>;
  /** Optional: creates the symbolic link `name` here, pointing at `target`. */
  symlink?(name: string, target: string): Promise<FsResult<FsNode>>;
  /** Optional: creates `name` here as a hard link to `target`. */
  link?(name: string, target: FsNode): Promise<FsResult<void>>;
  /** Optional: creates the device, FIFO or socket `name` here; `mode` holds the type bits (S_IF*). */
  mknod?(name: string, mode: number, major: number, minor: number): Promise<FsResult<FsNode>>;
  /** Removes the entry `name` of this directory; `dir` says rmdir rather than unlink. */
  unlink?(name: string, dir: boolean | undefined): Promise<FsResult<void>>;
  /** Moves entry `name` of this directory to `newName` in `newDir`. */
  rename?(name: string, newDir: FsNode, newName: string): Promise<FsResult<void>>;
  /** Optional: statistics of the file system the node is on. */
  statfs?(): Promise<FsResult<StatFs>>;
}

/** Who attaches: 9P uname and (in .u/.L) the numeric n_uname, if the client sent one. */
export interface AttachInfo {
  /** The user name the client attaches as. */
  readonly uname: string;
  /** The tree the client asks for; `''` for the default. */
  readonly aname: string;
  /** The numeric user id (.u/.L), or `undefined` when absent or {@link NONUNAME}. */
  readonly nUname: number | undefined;
}

/** A back end served by `serve9p`: resolves an attach name to the root node of a tree. */
export interface Filesystem {
  /** The root node of the tree `info.aname` names, for `info`'s user; ENOENT or EACCES when there is none for them. */
  attach(info: AttachInfo): Promise<FsResult<FsNode>>;
}
