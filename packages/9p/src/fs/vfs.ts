import { QT, S_IF } from '../wire/constants';
import type { Qid } from '../wire/types';
import {
  type Attr,
  type DirEntry,
  type Filesystem,
  type FsError,
  fsError,
  type FsNode,
  type FsResult,
  type OpenFile,
  type OpenIntent,
} from './filesystem';

/**
 * A datakit-style synthetic filesystem: directories and files are values built from closures.
 * Serve one with `new Vfs(root)`; every inode gets a stable qid.path from a per-instance
 * counter (two Vfs instances never share numbering).
 */
export type VfsInode = VfsFile | VfsDir | VfsSymlink;

/** A file of a VFS tree, built from closures. */
export interface VfsFile {
  /** Always `'file'`. */
  readonly kind: 'file';
  /** Report the execute bits (0o755 instead of 0o644). */
  readonly exec?: boolean;
  /**
   * A stream, not a sequence of bytes at offsets: reads block until data comes and 0 bytes means
   * the writer ended (see `flowFile`). Reported as QT.APPEND in the qid, which tells a client
   * such as `Client9p.openFlow` that offsets mean nothing.
   */
  readonly stream?: boolean;
  /** Current length, for getattr/stat. */
  length(): bigint;
  /** Opens the file; each open gets its own state (a command's result belongs to the fid). */
  open(intent: OpenIntent): Promise<FsResult<OpenFile>>;
  /** Optional: sets the length to `length` bytes; absent, a size change fails with EACCES. */
  truncate?(length: bigint): Promise<FsResult<void>>;
}

/** A directory of a VFS tree, built from closures. */
export interface VfsDir {
  /** Always `'dir'`. */
  readonly kind: 'dir';
  /** The entries, re-evaluated on every listing. */
  list(): Promise<FsResult<ReadonlyMap<string, VfsInode>>>;
  /** The entry `name`; ENOENT when there is none. */
  lookup(name: string): Promise<FsResult<VfsInode>>;
  /** Optional: creates the empty file `name` (EEXIST if taken); absent, creates fail with EACCES. */
  createFile?(name: string): Promise<FsResult<VfsFile>>;
  /** Optional: creates the directory `name` (EEXIST if taken); absent, mkdir fails with EACCES. */
  mkdir?(name: string): Promise<FsResult<VfsDir>>;
  /** Optional: removes the entry `name`; absent, removes fail with EACCES. */
  remove?(name: string): Promise<FsResult<void>>;
  /** Optional: moves the entry `name` to `newName` in `to`; absent, renames fail with EACCES. */
  rename?(name: string, to: VfsDir, newName: string): Promise<FsResult<void>>;
}

/** A symbolic link of a VFS tree. */
export interface VfsSymlink {
  /** Always `'symlink'`. */
  readonly kind: 'symlink';
  /** Where the link points, as given (not resolved by the server). */
  readonly target: string;
}

const ok = <T>(value: T): FsResult<T> => ({ ok: true, value });
const fail = (e: FsError): FsResult<never> => ({ ok: false, error: e });

// ---------------------------------------------------------------------------------------------
// Files

function toBytes(x: string | Uint8Array): Uint8Array {
  return typeof x === 'string' ? Buffer.from(x, 'utf8') : x;
}

function readOnlyFd(content: Uint8Array): OpenFile {
  return {
    read: async (offset, count) => ok(content.subarray(offset, offset + count)),
    write: async () => fail(fsError('EACCES', 'read-only file')),
    close: async () => undefined,
  };
}

/** A read-only file with fixed content. */
export function readOnlyFile(content: string | Uint8Array): VfsFile {
  const bytes = toBytes(content);
  return {
    kind: 'file',
    length: () => BigInt(bytes.length),
    open: async (intent) => (intent.write || intent.truncate ? fail(fsError('EACCES', 'read-only file')) : ok(readOnlyFd(bytes))),
  };
}

/** A read-write in-memory file; `get()` returns its current content. */
export function memoryFile(initial: string | Uint8Array = '', options: { maxSize?: number } = {}): {
  /** The file to put in a directory. */
  file: VfsFile;
  /** The content now: the file's own buffer (not a copy), replaced when the file grows. */
  get(): Uint8Array;
} {
  let data = Buffer.from(toBytes(initial));
  const max = options.maxSize ?? 16 * 1024 * 1024;
  const resize = (n: number): void => {
    const next = Buffer.alloc(n);
    data.copy(next, 0, 0, Math.min(n, data.length));
    data = next;
  };
  const file: VfsFile = {
    kind: 'file',
    length: () => BigInt(data.length),
    truncate: async (n) => {
      if (n > BigInt(max)) return fail(fsError('EFBIG'));
      resize(Number(n));
      return ok(undefined);
    },
    open: async (intent) => {
      if (intent.truncate) resize(0);
      return ok({
        read: async (offset, count) => ok(Buffer.from(data.subarray(offset, offset + count))),
        write: async (offset, chunk) => {
          const at = intent.append ? data.length : offset;
          const end = at + chunk.length;
          // Bounded: a client cannot grow an in-memory file without limit.
          if (end > max) return fail(fsError('EFBIG'));
          if (end > data.length) resize(end);
          data.set(chunk, at);
          return ok(chunk.length);
        },
        close: async () => undefined,
      });
    },
  };
  return { file, get: () => data };
}

/** A file whose content is recomputed on every open (datakit's `status`). */
export function statusFile(render: () => string | Uint8Array | Promise<string | Uint8Array>): VfsFile {
  return {
    kind: 'file',
    length: () => 0n,
    open: async (intent) => {
      if (intent.write) return fail(fsError('EACCES', 'status files are read-only'));
      return ok(readOnlyFd(toBytes(await render())));
    },
  };
}

/**
 * A command (ctl) file: each write runs `handler` on the trimmed text; later reads on the same
 * open fid return its result. The state belongs to the fid, not to the file.
 */
export function commandFile(handler: (command: string) => Promise<FsResult<string>> | FsResult<string>, options: { maxCommand?: number } = {}): VfsFile {
  const max = options.maxCommand ?? 64 * 1024;
  return {
    kind: 'file',
    length: () => 0n,
    open: async () => {
      let result = Buffer.alloc(0);
      return ok({
        read: async (offset, count) => ok(result.subarray(offset, offset + count)),
        write: async (_offset, data) => {
          if (data.length > max) return fail(fsError('E2BIG', `command longer than ${max} bytes`));
          const r = await handler(Buffer.from(data).toString('utf8').trim());
          if (!r.ok) return r;
          result = Buffer.from(r.value, 'utf8');
          return ok(data.length);
        },
        close: async () => undefined,
      });
    },
  };
}

/** A value that changes over time; stream files deliver each change as one line. */
export class Published<T> {
  private waiters = new Set<() => void>();
  private version = 0;
  /**
   * @param value - The first value.
   * @param render - Turns a value into the line stream files deliver (without the newline). Default `String`.
   */
  constructor(
    private value: T,
    readonly render: (value: T) => string = String,
  ) {}
  /** The value now. */
  get current(): T {
    return this.value;
  }
  /** Replaces the value and wakes every stream file reader waiting for a change. */
  publish(value: T): void {
    this.value = value;
    this.version++;
    for (const w of this.waiters) w();
    this.waiters.clear();
  }
  /** @internal */
  snapshot(): { version: number; line: string } {
    return { version: this.version, line: this.render(this.value) + '\n' };
  }
  /** @internal Waits for a change after `version`, or for `signal`. */
  changed(version: number, signal: AbortSignal): Promise<boolean> {
    if (this.version !== version) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      const onAbort = (): void => {
        this.waiters.delete(wake);
        resolve(false);
      };
      this.waiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * A stream file: a reader first gets the current value as a line, then blocks until the next
 * change, one line per change. Offsets are ignored (a stream has no positions), so readers that
 * seek still work; a blocked read is ended by Tflush.
 */
export function streamFile<T>(source: Published<T>): VfsFile {
  return {
    kind: 'file',
    length: () => 0n,
    open: async (intent) => {
      if (intent.write) return fail(fsError('EACCES', 'stream files are read-only'));
      let seen = -1;
      let pending = Buffer.alloc(0);
      return ok({
        read: async (_offset, count, signal) => {
          if (pending.length === 0) {
            if (seen !== -1 && !(await source.changed(seen, signal))) return fail(fsError('ECANCELED'));
            const s = source.snapshot();
            seen = s.version;
            pending = Buffer.from(s.line, 'utf8');
          }
          const out = pending.subarray(0, count);
          pending = pending.subarray(out.length);
          return ok(out);
        },
        write: async () => fail(fsError('EACCES')),
        close: async () => undefined,
      });
    },
  };
}

/** Reads give `count` zero bytes at any offset; writes are refused (diod's ctl `zero`). */
export function zeroFile(): VfsFile {
  return {
    kind: 'file',
    length: () => 0n,
    open: async (intent) => {
      if (intent.write) return fail(fsError('EACCES'));
      let zeros = Buffer.alloc(0);
      return ok({
        read: async (_offset, count) => {
          if (zeros.length < count) zeros = Buffer.alloc(count);
          return ok(zeros.subarray(0, count));
        },
        // Zeros straight into the reply frame, answered without leaving the tick.
        readInto: (_offset, into) => ok(into.fill(0).length),
        write: async () => fail(fsError('EACCES')),
        close: async () => undefined,
      });
    },
  };
}

/** Writes are accepted and dropped; reads are at end of file (diod's ctl `null`). */
export function nullFile(): VfsFile {
  return {
    kind: 'file',
    length: () => 0n,
    open: async () =>
      ok({
        read: async () => ok(new Uint8Array(0)),
        readInto: () => ok(0),
        write: async (_offset, data) => ok(data.length),
        // Dropping bytes never waits: answered without leaving the tick.
        writeNow: (_offset, data) => ok(data.length),
        close: async () => undefined,
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Directories

/** A fixed directory; `entries` may be a function, re-evaluated on each listing. */
export function staticDir(entries: Record<string, VfsInode> | (() => Record<string, VfsInode>)): VfsDir {
  const get = (): Record<string, VfsInode> => (typeof entries === 'function' ? entries() : entries);
  return {
    kind: 'dir',
    list: async () => ok(new Map(Object.entries(get()))),
    lookup: async (name) => {
      const e = Object.prototype.hasOwnProperty.call(get(), name) ? get()[name] : undefined;
      return e ? ok(e) : fail(fsError('ENOENT'));
    },
  };
}

/** An in-memory read-write directory: files and subdirectories can be created, removed, renamed. */
export function memoryDir(options: { maxEntries?: number; maxFileSize?: number } = {}): VfsDir {
  const entries = new Map<string, VfsInode>();
  const max = options.maxEntries ?? 10000;
  const dir: VfsDir & { entries: Map<string, VfsInode> } = {
    kind: 'dir',
    entries,
    list: async () => ok(new Map(entries)),
    lookup: async (name) => {
      const e = entries.get(name);
      return e ? ok(e) : fail(fsError('ENOENT'));
    },
    createFile: async (name) => {
      if (entries.has(name)) return fail(fsError('EEXIST'));
      if (entries.size >= max) return fail(fsError('ENOSPC'));
      const f = memoryFile('', { maxSize: options.maxFileSize }).file;
      entries.set(name, f);
      return ok(f);
    },
    mkdir: async (name) => {
      if (entries.has(name)) return fail(fsError('EEXIST'));
      if (entries.size >= max) return fail(fsError('ENOSPC'));
      const d = memoryDir(options);
      entries.set(name, d);
      return ok(d);
    },
    remove: async (name) => {
      const e = entries.get(name);
      if (!e) return fail(fsError('ENOENT'));
      if (e.kind === 'dir') {
        const l = await e.list();
        if (l.ok && l.value.size > 0) return fail(fsError('ENOTEMPTY'));
      }
      entries.delete(name);
      return ok(undefined);
    },
    rename: async (name, to, newName) => {
      const e = entries.get(name);
      if (!e) return fail(fsError('ENOENT'));
      const target = (to as { entries?: Map<string, VfsInode> }).entries;
      if (!target) return fail(fsError('EXDEV'));
      entries.delete(name);
      target.set(newName, e);
      return ok(undefined);
    },
  };
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Serving

/** Serves a VFS tree; every aname attaches to `root`. */
export class Vfs implements Filesystem {
  private readonly inos = new WeakMap<object, bigint>();
  private nextIno = 1n;
  private readonly uid = process.getuid?.() ?? 0;
  private readonly gid = process.getgid?.() ?? 0;

  /** @param root - The tree's root directory. */
  constructor(readonly root: VfsDir) {}

  /** The root node; every aname and user gets the same tree. */
  async attach(): Promise<FsResult<FsNode>> {
    return ok(this.node(this.root));
  }

  /** @internal */
  qidOf(inode: VfsInode): Qid {
    let ino = this.inos.get(inode);
    if (ino === undefined) {
      ino = this.nextIno++;
      this.inos.set(inode, ino);
    }
    const type = inode.kind === 'dir' ? QT.DIR : inode.kind === 'symlink' ? QT.SYMLINK : inode.stream ? QT.APPEND : QT.FILE;
    return { type, version: 0, path: ino };
  }

  /** @internal */
  node(inode: VfsInode): FsNode {
    return new VfsNode(this, inode, this.qidOf(inode));
  }

  /** @internal */
  attr(inode: VfsInode, qid: Qid): Attr {
    const mode =
      inode.kind === 'dir' ? S_IF.DIR | 0o755 : inode.kind === 'symlink' ? S_IF.LNK | 0o777 : S_IF.REG | (inode.exec ? 0o755 : 0o644);
    const size = inode.kind === 'file' ? inode.length() : inode.kind === 'symlink' ? BigInt(Buffer.byteLength(inode.target)) : 0n;
    return {
      qid, mode, uid: this.uid, gid: this.gid, nlink: 1, rdev: 0, size, blksize: 4096,
      blocks: (size + 511n) / 512n, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n,
    };
  }
}

class VfsNode implements FsNode {
  constructor(
    private readonly vfs: Vfs,
    readonly inode: VfsInode,
    readonly qid: Qid,
  ) {}

  async getattr(): Promise<FsResult<Attr>> {
    return ok(this.vfs.attr(this.inode, this.qid));
  }

  async walk(name: string): Promise<FsResult<FsNode>> {
    if (this.inode.kind !== 'dir') return fail(fsError('ENOTDIR'));
    const r = await this.inode.lookup(name);
    return r.ok ? ok(this.vfs.node(r.value)) : r;
  }

  async open(intent: OpenIntent): Promise<FsResult<OpenFile>> {
    if (this.inode.kind === 'dir') return fail(fsError('EISDIR'));
    if (this.inode.kind === 'symlink') return fail(fsError('ELOOP'));
    return this.inode.open(intent);
  }

  async readdir(): Promise<FsResult<readonly DirEntry[]>> {
    if (this.inode.kind !== 'dir') return fail(fsError('ENOTDIR'));
    const r = await this.inode.list();
    if (!r.ok) return r;
    return ok([...r.value].map(([name, inode]) => ({ name, qid: this.vfs.qidOf(inode) })));
  }

  async readlink(): Promise<FsResult<string>> {
    return this.inode.kind === 'symlink' ? ok(this.inode.target) : fail(fsError('EINVAL'));
  }

  async setattr(changes: { size?: bigint; mode?: number; uid?: number; gid?: number }): Promise<FsResult<void>> {
    if (changes.mode !== undefined || changes.uid !== undefined || changes.gid !== undefined) return fail(fsError('EPERM'));
    if (changes.size !== undefined) {
      if (this.inode.kind !== 'file' || !this.inode.truncate) return fail(fsError('EACCES'));
      return this.inode.truncate(changes.size);
    }
    // Times are not stored; Linux sets mtime after writes and must not fail.
    return ok(undefined);
  }

  async create(name: string, _mode: number, intent: OpenIntent): Promise<FsResult<{ node: FsNode; file: OpenFile }>> {
    if (this.inode.kind !== 'dir' || !this.inode.createFile) return fail(fsError('EACCES'));
    const f = await this.inode.createFile(name);
    if (!f.ok) return f;
    const o = await f.value.open(intent);
    if (!o.ok) return o;
    return ok({ node: this.vfs.node(f.value), file: o.value });
  }

  async mkdir(name: string): Promise<FsResult<FsNode>> {
    if (this.inode.kind !== 'dir' || !this.inode.mkdir) return fail(fsError('EACCES'));
    const d = await this.inode.mkdir(name);
    return d.ok ? ok(this.vfs.node(d.value)) : d;
  }

  async unlink(name: string): Promise<FsResult<void>> {
    if (this.inode.kind !== 'dir' || !this.inode.remove) return fail(fsError('EACCES'));
    return this.inode.remove(name);
  }

  async rename(name: string, newDir: FsNode, newName: string): Promise<FsResult<void>> {
    if (this.inode.kind !== 'dir' || !this.inode.rename) return fail(fsError('EACCES'));
    if (!(newDir instanceof VfsNode) || newDir.inode.kind !== 'dir') return fail(fsError('EXDEV'));
    return this.inode.rename(name, newDir.inode, newName);
  }
}
