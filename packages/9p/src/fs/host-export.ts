import * as nodeFs from 'node:fs';
import { constants as C, type BigIntStats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
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
  fromFsException,
  type OpenFile,
  type OpenIntent,
  type SetAttr,
  type StatFs,
} from './filesystem';
import { SyncReadGuard } from './sync-read-guard';

/** Options of {@link exportDirectory}. */
export interface ExportOptions {
  /** Refuse every change (EROFS). Default false. */
  readonly readOnly?: boolean;
  /**
   * Reads of regular files of at most this many bytes are served with a synchronous positional
   * read (pread) on the event loop instead of a round trip through Node's thread pool. From the
   * page cache that is several times cheaper (no thread hand-off per request, which is what a
   * client with one read in flight waits for), but while the read runs the event loop waits too.
   * So each one is timed, and two slower than a cache hit (the disk answered) within a few dozen
   * reads send reads back to the thread pool for a pause that doubles while it keeps happening
   * (see SyncReadGuard; a lone slow read is taken for the scheduler's doing on a busy machine): a
   * slow disk stalls the other connections for two reads per pause, not per request. A read that never
   * returns (a hung network filesystem) would still stall the process: export such a tree with 0.
   * Default 65536 (every read at diod's default msize); 0: always the thread pool. Data is never
   * cached or read ahead by the server either way.
   */
  readonly syncReadMax?: number;
  /**
   * What clients may do with owners and privilege bits (the server acts with its own
   * credentials, so as root a client could otherwise make setuid-root programs or give files to
   * root):
   * - `'passthrough'`: as asked, within what the process may do;
   * - `'no-root'`: refuse (EPERM) setuid and setgid bits, in creates and in chmod, and any
   *   chown or chgrp to root (uid 0, gid 0);
   * - `{ squash: { uid, gid } }`: every file a client creates is given to uid:gid, and clients may
   *   neither chown/chgrp nor set setuid/setgid bits (the process must be allowed to chown).
   * Default: `'no-root'` when the server runs as root, `'passthrough'` otherwise.
   */
  readonly ids?: IdPolicy;
}

/** What clients may do with owners and privilege bits; see {@link ExportOptions.ids}. */
export type IdPolicy =
  | 'passthrough'
  | 'no-root'
  | {
      /** Every file created gets this owner and group; chown, chgrp and privilege bits are refused. */
      readonly squash: {
        /** The numeric user id new files get. */
        readonly uid: number;
        /** The numeric group id new files get. */
        readonly gid: number;
      };
    };

/** The id policy that is the default for a process running as `uid`. */
export function defaultIdPolicy(uid: number | undefined = process.getuid?.()): IdPolicy {
  return uid === 0 ? 'no-root' : 'passthrough';
}

const PRIVILEGE_BITS = 0o6000;

const ok = <T>(value: T): FsResult<T> => ({ ok: true, value });
const fail = (error: FsError): FsResult<never> => ({ ok: false, error });

function safeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/**
 * Exports a host directory, confined to it.
 *
 * How confinement works: every operation first opens the directory it acts in with
 * O_DIRECTORY|O_NOFOLLOW and checks, through /proc/self/fd, that the opened directory is
 * exactly the expected path below the root (so a symlink swapped in for a directory after a
 * walk is caught), then acts on `/proc/self/fd/N/name`, which the kernel resolves from the
 * opened directory like openat(2). The last component is never followed: lstat, O_NOFOLLOW
 * opens, lchown/lutimes. `..` never reaches a back end (the server keeps each fid's path).
 *
 * uid/gid policy: every operation runs with the server process's credentials (Node has no
 * setfsuid); the uname and n_uname of an attach do not change permissions. Attributes report
 * the host file's own numeric uid and gid (9P2000 string ids are those numbers in decimal).
 * Files are created owned by the server process; a chown asked for by a client is attempted
 * and fails with EPERM unless the process may do it.
 */
export function exportDirectory(root: string, options: ExportOptions = {}): Filesystem {
  if (typeof root !== 'string' || root === '') throw new TypeError('root must be a non-empty path');
  const syncReadMax = options.syncReadMax ?? DEFAULT_SYNC_READ_MAX;
  if (typeof syncReadMax !== 'number' || !(syncReadMax >= 0)) throw new RangeError('syncReadMax must be a number of bytes, 0 or more');
  const ids = options.ids ?? defaultIdPolicy();
  if (typeof ids === 'object') {
    const { uid, gid } = ids.squash ?? {};
    if (!isId(uid) || !isId(gid)) throw new RangeError('ids.squash needs uid and gid, whole numbers below 2^32 - 1');
  } else if (ids !== 'passthrough' && ids !== 'no-root') {
    throw new RangeError(`unknown id policy ${JSON.stringify(ids)}`);
  }
  return new HostExport(path.resolve(root), options.readOnly ?? false, new SyncReadGuard(syncReadMax), ids);
}

/** Reads served synchronously by default: every read at diod's default msize (65536). */
const DEFAULT_SYNC_READ_MAX = 65536;

function isId(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 0xffffffff;
}

class HostExport implements Filesystem {
  private real: string | undefined;
  private rootDev = 0n;
  /** One live node per path, so that a rename updates every fid's view of the file. */
  private readonly nodes = new Map<string, WeakRef<HostNode>>();
  private sweepAt = 1024;

  constructor(
    readonly given: string,
    readonly readOnly: boolean,
    readonly syncReads: SyncReadGuard,
    readonly ids: IdPolicy,
  ) {}

  /** Refuses, under the id policy, permission bits a client asks for; undefined when allowed. */
  refusedMode(mode: number | undefined): FsResult<never> | undefined {
    if (mode === undefined || this.ids === 'passthrough' || (mode & PRIVILEGE_BITS) === 0) return undefined;
    return fail(fsError('EPERM', `setuid and setgid bits are refused by this export's id policy (${this.policyName})`));
  }

  /** Refuses, under the id policy, an owner change a client asks for; undefined when allowed. */
  refusedOwner(uid: number | undefined, gid: number | undefined): FsResult<never> | undefined {
    if (this.ids === 'passthrough' || (uid === undefined && gid === undefined)) return undefined;
    if (this.ids === 'no-root') {
      if (uid === 0 || gid === 0) return fail(fsError('EPERM', "chown or chgrp to root is refused by this export's id policy (no-root)"));
      return undefined;
    }
    return fail(fsError('EPERM', "owners are fixed by this export's id policy (squash): chown and chgrp are refused"));
  }

  /** Under squash, gives a file just created to the squash ids (lchown: never follows). */
  async squashNew(p: string): Promise<void> {
    if (typeof this.ids === 'object') await fsp.lchown(p, this.ids.squash.uid, this.ids.squash.gid);
  }

  private get policyName(): string {
    return typeof this.ids === 'object' ? 'squash' : this.ids;
  }

  async attach(info: { aname: string }): Promise<FsResult<FsNode>> {
    if (this.real === undefined) {
      try {
        this.real = await fsp.realpath(this.given);
        const st = await fsp.stat(this.real, { bigint: true });
        if (!st.isDirectory()) return fail(fsError('ENOTDIR', `${this.given} is not a directory`));
        this.rootDev = st.dev;
      } catch (e) {
        this.real = undefined;
        return fail(fromFsException(e));
      }
    }
    // diod's convention: the export answers to '', '/' and its own absolute path.
    const a = info.aname;
    if (a !== '' && a !== '/' && a !== this.given && a !== this.real && a.replace(/\/+$/, '') !== this.given) {
      return fail(fsError('ENOENT', `unknown aname ${JSON.stringify(a)}`));
    }
    const st = await this.inDir([], async (d) => fsp.stat(d, { bigint: true }));
    if (!st.ok) return st;
    return ok(this.node([], st.value));
  }

  abs(rel: readonly string[]): string {
    return rel.length === 0 ? this.real! : this.real + '/' + rel.join('/');
  }

  qidOf(st: BigIntStats): Qid {
    const mode = Number(st.mode);
    const t = mode & S_IF.MT;
    const type = t === S_IF.DIR ? QT.DIR : t === S_IF.LNK ? QT.SYMLINK : QT.FILE;
    const p = st.dev === this.rootDev ? st.ino : BigInt.asUintN(64, st.ino ^ (st.dev << 40n));
    return { type, version: 0, path: p };
  }

  node(rel: string[], st: BigIntStats): HostNode {
    const key = rel.join('/');
    const qid = this.qidOf(st);
    const existing = this.nodes.get(key)?.deref();
    if (existing && existing.qid.path === qid.path && existing.qid.type === qid.type) return existing;
    const n = new HostNode(this, rel, qid);
    this.nodes.set(key, new WeakRef(n));
    if (this.nodes.size >= this.sweepAt) {
      for (const [k, ref] of this.nodes) if (ref.deref() === undefined) this.nodes.delete(k);
      this.sweepAt = Math.max(1024, this.nodes.size * 2);
    }
    return n;
  }

  /** After a rename, every live node at or below `from` moves to `to`. */
  moved(from: readonly string[], to: readonly string[]): void {
    const prefix = from.join('/');
    for (const [k, ref] of [...this.nodes]) {
      if (k !== prefix && !k.startsWith(prefix + '/')) continue;
      this.nodes.delete(k);
      const n = ref.deref();
      if (!n) continue;
      n.rel = [...to, ...n.rel.slice(from.length)];
      this.nodes.set(n.rel.join('/'), ref);
    }
  }

  /**
   * Runs `fn` with a path that names the directory `rel` through an open, verified descriptor.
   */
  async inDir<T>(rel: readonly string[], fn: (dir: string) => Promise<T>): Promise<FsResult<T>> {
    if (this.real === undefined) return fail(fsError('EIO', 'export not attached'));
    let fh: fsp.FileHandle | undefined;
    try {
      const expected = this.abs(rel);
      fh = await fsp.open(expected, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW | C.O_NONBLOCK);
      const dir = `/proc/self/fd/${fh.fd}`;
      const actual = await fsp.realpath(dir);
      if (actual !== expected) {
        return fail(fsError('ELOOP', `a path component of ${rel.join('/') || '/'} was replaced by a link`));
      }
      return ok(await fn(dir));
    } catch (e) {
      return fail(fromFsException(e));
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }
}

const NOW = (): number => Date.now() / 1000;

class HostNode implements FsNode {
  constructor(
    private readonly x: HostExport,
    public rel: string[],
    readonly qid: Qid,
  ) {}

  private get parentRel(): string[] {
    return this.rel.slice(0, -1);
  }
  private get base(): string {
    return this.rel[this.rel.length - 1] ?? '';
  }
  private get isRoot(): boolean {
    return this.rel.length === 0;
  }

  /**
   * Runs `fn` on this node's own entry, as `/proc/self/fd/N/name` of its verified parent. The
   * root has no parent here: it is `/proc/self/fd/N/.`, since `/proc/self/fd/N` itself is a
   * (magic) symlink that every O_NOFOLLOW open would refuse with ELOOP.
   */
  private atSelf<T>(fn: (p: string) => Promise<T>): Promise<FsResult<T>> {
    if (this.isRoot) return this.x.inDir([], (d) => fn(`${d}/.`));
    return this.x.inDir(this.parentRel, (d) => fn(`${d}/${this.base}`));
  }

  private roCheck(): FsResult<never> | undefined {
    return this.x.readOnly ? fail(fsError('EROFS')) : undefined;
  }

  async getattr(): Promise<FsResult<Attr>> {
    const st = await this.atSelf((p) => (this.isRoot ? fsp.stat(p, { bigint: true }) : fsp.lstat(p, { bigint: true })));
    if (!st.ok) return st;
    return ok(attrOf(this.x.qidOf(st.value), st.value));
  }

  async walk(name: string): Promise<FsResult<FsNode>> {
    if (!safeName(name)) return fail(fsError('EINVAL'));
    const rel = [...this.rel, name];
    const st = await this.x.inDir(this.rel, (d) => fsp.lstat(`${d}/${name}`, { bigint: true }));
    if (!st.ok) return st;
    return ok(this.x.node(rel, st.value));
  }

  async open(intent: OpenIntent): Promise<FsResult<OpenFile>> {
    if ((intent.write || intent.truncate) && this.x.readOnly) return fail(fsError('EROFS'));
    if (this.qid.type & QT.SYMLINK) return fail(fsError('ELOOP', 'symlinks are not followed by the server'));
    const flags = openFlags(intent) | C.O_NOFOLLOW | C.O_NONBLOCK;
    const r = await this.atSelf(async (p) => {
      const fh = await fsp.open(p, flags);
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) {
        await fh.close();
        return undefined;
      }
      return fh;
    });
    if (!r.ok) return r;
    if (!r.value) return fail(fsError('EOPNOTSUPP', 'only regular files can be opened'));
    return ok(new HostFile(r.value, this.x.syncReads));
  }

  async readdir(): Promise<FsResult<readonly DirEntry[]>> {
    return this.x.inDir(this.rel, async (d) => {
      const names = (await fsp.readdir(d)).sort();
      const out: DirEntry[] = [];
      // lstat in batches: a qid needs the inode, and large directories must not open thousands at once.
      for (let i = 0; i < names.length; i += 64) {
        const batch = names.slice(i, i + 64);
        const stats = await Promise.all(batch.map((n) => fsp.lstat(`${d}/${n}`, { bigint: true }).catch(() => undefined)));
        batch.forEach((name, j) => {
          const st = stats[j];
          if (st) out.push({ name, qid: this.x.qidOf(st) });
        });
      }
      return out;
    });
  }

  async readdirNames(): Promise<FsResult<readonly string[]>> {
    return this.x.inDir(this.rel, (d) => fsp.readdir(d));
  }

  async lookupEntries(names: readonly string[]): Promise<FsResult<readonly DirEntry[]>> {
    return this.x.inDir(this.rel, async (d) => {
      const out: DirEntry[] = [];
      // In batches, as readdir does: a reply of short names may hold a couple of thousand.
      for (let i = 0; i < names.length; i += 64) {
        const batch = names.slice(i, i + 64);
        const stats = await Promise.all(batch.map((n) => (safeName(n) ? fsp.lstat(`${d}/${n}`, { bigint: true }).catch(() => undefined) : undefined)));
        batch.forEach((name, j) => {
          const st = stats[j];
          if (st) out.push({ name, qid: this.x.qidOf(st) });
        });
      }
      return out;
    });
  }

  async readlink(): Promise<FsResult<string>> {
    return this.atSelf((p) => fsp.readlink(p));
  }

  async setattr(changes: SetAttr): Promise<FsResult<void>> {
    const ro = this.roCheck();
    if (ro) return ro;
    const symlink = (this.qid.type & QT.SYMLINK) !== 0;
    const dir = (this.qid.type & QT.DIR) !== 0;
    if (symlink && (changes.mode !== undefined || changes.size !== undefined)) {
      return fail(fsError('EOPNOTSUPP', 'cannot chmod or truncate a symlink'));
    }
    if (dir && changes.size !== undefined) return fail(fsError('EISDIR'));
    const refused = this.x.refusedMode(changes.mode) ?? this.x.refusedOwner(changes.uid, changes.gid);
    if (refused) return refused;
    const r = await this.atSelf(async (p) => {
      if (symlink) {
        if (changes.uid !== undefined || changes.gid !== undefined) {
          const st = await fsp.lstat(p);
          await fsp.lchown(p, changes.uid ?? st.uid, changes.gid ?? st.gid);
        }
        if (changes.atime !== undefined || changes.mtime !== undefined) {
          const st = await fsp.lstat(p, { bigint: true });
          await fsp.lutimes(p, timeOf(changes.atime, st.atimeNs), timeOf(changes.mtime, st.mtimeNs));
        }
        return;
      }
      const acc = changes.size !== undefined ? C.O_WRONLY : C.O_RDONLY;
      const fh = await fsp.open(p, acc | C.O_NOFOLLOW | C.O_NONBLOCK);
      try {
        if (changes.mode !== undefined) await fh.chmod(changes.mode & 0o7777);
        if (changes.uid !== undefined || changes.gid !== undefined) {
          const st = await fh.stat();
          await fh.chown(changes.uid ?? st.uid, changes.gid ?? st.gid);
        }
        if (changes.size !== undefined) await fh.truncate(Number(changes.size));
        if (changes.atime !== undefined || changes.mtime !== undefined) {
          const st = await fh.stat({ bigint: true });
          await fh.utimes(timeOf(changes.atime, st.atimeNs), timeOf(changes.mtime, st.mtimeNs));
        }
      } finally {
        await fh.close();
      }
    });
    return r;
  }

  async create(name: string, mode: number, intent: OpenIntent): Promise<FsResult<{ node: FsNode; file: OpenFile }>> {
    const ro = this.roCheck();
    if (ro) return ro;
    if (!safeName(name)) return fail(fsError('EINVAL'));
    const refused = this.x.refusedMode(mode);
    if (refused) return refused;
    const flags = openFlags(intent) | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
    const r = await this.x.inDir(this.rel, async (d) => {
      const fh = await fsp.open(`${d}/${name}`, flags, mode & 0o7777);
      try {
        if (typeof this.x.ids === 'object') await fh.chown(this.x.ids.squash.uid, this.x.ids.squash.gid);
      } catch (e) {
        await fh.close();
        await fsp.unlink(`${d}/${name}`).catch(() => undefined);
        throw e;
      }
      return { fh, st: await fh.stat({ bigint: true }) };
    });
    if (!r.ok) return r;
    return ok({ node: this.x.node([...this.rel, name], r.value.st), file: new HostFile(r.value.fh, this.x.syncReads) });
  }

  private async made(name: string, op: (p: string) => Promise<unknown>, mode?: number): Promise<FsResult<FsNode>> {
    const ro = this.roCheck();
    if (ro) return ro;
    if (!safeName(name)) return fail(fsError('EINVAL'));
    const refused = this.x.refusedMode(mode);
    if (refused) return refused;
    const r = await this.x.inDir(this.rel, async (d) => {
      const p = `${d}/${name}`;
      await op(p);
      try {
        await this.x.squashNew(p);
      } catch (e) {
        // Not left behind owned by the server when it could not be given away.
        await fsp.rm(p, { recursive: false, force: true }).catch(() => fsp.rmdir(p).catch(() => undefined));
        throw e;
      }
      return fsp.lstat(p, { bigint: true });
    });
    if (!r.ok) return r;
    return ok(this.x.node([...this.rel, name], r.value));
  }

  mkdir(name: string, mode: number): Promise<FsResult<FsNode>> {
    return this.made(name, (p) => fsp.mkdir(p, { mode: mode & 0o7777 }), mode);
  }

  /** The target is stored as given: the server never follows it, clients resolve it themselves. */
  symlink(name: string, target: string): Promise<FsResult<FsNode>> {
    if (target === '' || target.includes('\0')) return Promise.resolve(fail(fsError('EINVAL')));
    return this.made(name, (p) => fsp.symlink(target, p));
  }

  async link(name: string, target: FsNode): Promise<FsResult<void>> {
    const ro = this.roCheck();
    if (ro) return ro;
    if (!safeName(name)) return fail(fsError('EINVAL'));
    if (!(target instanceof HostNode) || target.x !== this.x || target.isRoot) return fail(fsError('EXDEV'));
    const r = await this.x.inDir(target.parentRel, (td) =>
      this.x.inDir(this.rel, (d) => fsp.link(`${td}/${target.base}`, `${d}/${name}`)),
    );
    if (!r.ok) return r;
    return r.value.ok ? ok(undefined) : r.value;
  }

  async unlink(name: string, dir: boolean | undefined): Promise<FsResult<void>> {
    const ro = this.roCheck();
    if (ro) return ro;
    if (!safeName(name)) return fail(fsError('EINVAL'));
    return this.x.inDir(this.rel, async (d) => {
      const p = `${d}/${name}`;
      const isDir = dir ?? (await fsp.lstat(p)).isDirectory();
      if (isDir) await fsp.rmdir(p);
      else await fsp.unlink(p);
    });
  }

  async rename(name: string, newDir: FsNode, newName: string): Promise<FsResult<void>> {
    const ro = this.roCheck();
    if (ro) return ro;
    if (!safeName(name) || !safeName(newName)) return fail(fsError('EINVAL'));
    if (!(newDir instanceof HostNode) || newDir.x !== this.x) return fail(fsError('EXDEV'));
    const r = await this.x.inDir(this.rel, (d) => this.x.inDir(newDir.rel, (nd) => fsp.rename(`${d}/${name}`, `${nd}/${newName}`)));
    if (!r.ok) return r;
    if (!r.value.ok) return r.value;
    this.x.moved([...this.rel, name], [...newDir.rel, newName]);
    return ok(undefined);
  }

  async statfs(): Promise<FsResult<StatFs>> {
    return this.x.inDir(this.rel, async (d) => {
      const s = await fsp.statfs(d, { bigint: true });
      return {
        type: Number(s.type & 0xffffffffn),
        bsize: Number(s.bsize),
        blocks: s.blocks,
        bfree: s.bfree,
        bavail: s.bavail,
        files: s.files,
        ffree: s.ffree,
        fsid: 0n,
        namelen: 255,
      };
    });
  }
}

class HostFile implements OpenFile {
  private closed = false;
  constructor(
    private readonly fh: fsp.FileHandle,
    private readonly syncReads: SyncReadGuard,
  ) {}

  async read(offset: number, count: number): Promise<FsResult<Uint8Array>> {
    const buf = Buffer.allocUnsafe(count);
    const r = await this.readInto(offset, buf);
    return r.ok ? ok(buf.subarray(0, r.value)) : r;
  }

  readInto(offset: number, into: Uint8Array): FsResult<number> | Promise<FsResult<number>> {
    if (this.closed) return fail(fsError('EBADF'));
    if (this.syncReads.allows(into.length)) {
      // pread on the event loop: no thread-pool round trip (see ExportOptions.syncReadMax).
      const started = this.syncReads.start();
      try {
        return ok(nodeFs.readSync(this.fh.fd, into, 0, into.length, offset));
      } catch (e) {
        return fail(fromFsException(e));
      } finally {
        this.syncReads.done(started);
      }
    }
    // The callback form on the raw descriptor: one thread-pool hop with less promise machinery
    // than FileHandle.read, which matters for latency-bound clients (one request in flight).
    return new Promise((resolve) => {
      nodeFs.read(this.fh.fd, into, 0, into.length, offset, (e, bytesRead) => {
        resolve(e ? fail(fromFsException(e)) : ok(bytesRead));
      });
    });
  }

  async write(offset: number, data: Uint8Array): Promise<FsResult<number>> {
    try {
      // Positional writes (pwrite); with O_APPEND the kernel appends whatever the offset.
      const { bytesWritten } = await this.fh.write(data, 0, data.length, offset);
      return ok(bytesWritten);
    } catch (e) {
      return fail(fromFsException(e));
    }
  }

  async fsync(): Promise<FsResult<void>> {
    try {
      await this.fh.sync();
      return ok(undefined);
    } catch (e) {
      return fail(fromFsException(e));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }
}

function openFlags(intent: OpenIntent): number {
  let f = intent.write ? (intent.read ? C.O_RDWR : C.O_WRONLY) : C.O_RDONLY;
  if (intent.truncate) f |= C.O_TRUNC;
  if (intent.append) f |= C.O_APPEND;
  return f;
}

function timeOf(t: SetAttr['atime'], currentNs: bigint): number {
  if (t === undefined) return Number(currentNs) / 1e9;
  if (t === 'now') return NOW();
  return Number(t) / 1e9;
}

function attrOf(qid: Qid, st: BigIntStats): Attr {
  return {
    qid,
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    nlink: Number(st.nlink),
    rdev: Number(st.rdev),
    size: st.size,
    blksize: Number(st.blksize),
    blocks: st.blocks,
    atimeNs: st.atimeNs,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
  };
}
