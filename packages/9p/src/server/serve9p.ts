import { createHash } from 'node:crypto';
import { type Flow, FlowError } from '@flow/core';
import {
  type AttachInfo,
  type Attr,
  type FsError,
  fsError,
  type FsNode,
  type FsResult,
  type Filesystem,
  type SetAttr,
  type StatFs,
} from '../fs/filesystem';
import { decode, encode, encodeDirent, encodeStat, peekHeader } from '../wire/codec';
import {
  AT_REMOVEDIR,
  type Dialect,
  DM,
  GETATTR,
  IOHDRSZ,
  NOFID,
  NONUNAME,
  QT,
  RREAD_HEADER,
  S_IF,
} from '../wire/constants';
import { FrameReader } from '../wire/frame-reader';
import type { ConnectionPool } from './connection-pool';
import { type MemoryAccount, MemoryBudget } from './memory-budget';
import type { Message, MessageOf, Qid, Reply } from '../wire/types';
import { type AuthState, type DirListing, type FidEntry, FidTable, type PathStep } from './fid-table';
import {
  direntType,
  intentFromLflags,
  intentFromOmode,
  setattrOfL,
  setattrOfWstat,
  statOf,
} from './modes';

/** Authentication for Tauth; without it, Tauth answers "no authentication required" (ENOENT). */
export interface AuthHook {
  /** Starts a conversation; the client reads and writes the returned state's file via its afid. */
  start(info: AttachInfo): Promise<FsResult<AuthState>>;
}

export interface Serve9pOptions {
  /** Largest msize the server accepts (the cap). Default 65536; at most 16 MiB. */
  readonly msize?: number;
  /** Fids one connection may hold. Default 4096. */
  readonly maxFids?: number;
  /** Requests one connection may have outstanding; more wait (backpressure). Default 256. */
  readonly maxInFlight?: number;
  /** Dialects offered. Default all three. */
  readonly dialects?: readonly Dialect[];
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
}

/** How one served connection went. */
export interface SessionSummary {
  /** `eof`: the client ended the stream; `error`: the flow failed or the client broke framing. */
  readonly outcome: 'eof' | 'error' | 'aborted';
  readonly error?: FlowError;
  readonly dialect: Dialect | undefined;
  readonly msize: number;
  readonly requests: number;
  readonly errors: number;
  readonly flushes: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

/** The smallest msize a client may negotiate (room for a header, a qid and a stat). */
export const MIN_MSIZE = 256;
const MAX_MSIZE = 16 * 1024 * 1024;
/** The memory budget of a connection served without a shared one. */
const DEFAULT_SESSION_BUDGET = 64 * 1024 * 1024;
const DEFAULT_STATFS: StatFs = {
  type: 0x01021997,
  bsize: 4096,
  blocks: 0n,
  bfree: 0n,
  bavail: 0n,
  files: 0n,
  ffree: 0n,
  fsid: 0n,
  namelen: 255,
};

/**
 * A request being handled. Its AbortSignal is made only when a handler asks for it (most
 * requests never need one, and an AbortController costs more than the rest of a getattr).
 */
class Pending {
  flushed = false;
  /** Flushed, or cancelled because the connection ends. */
  aborted = false;
  private controller: AbortController | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }

  abort(): void {
    this.aborted = true;
    this.controller?.abort();
  }
}

/** A reply frame built in place in a pooled buffer (Rread): header and data in one write. */
interface PooledFrame {
  readonly buffer: Buffer;
  readonly length: number;
}

/** Pooled Rread buffers kept per connection; more may be in use at once, those are not kept. */
const POOL_KEEP = 4;

/** A handler's result: the reply, plus fid-table changes applied only if the reply is sent. */
interface Outcome {
  readonly reply: Reply;
  /** Applies fid-table changes; may return an error reply if they are no longer possible. */
  readonly commit?: () => Reply | undefined;
  /** Undoes side effects when the request was flushed (e.g. closes a file it opened). */
  readonly rollback?: () => void;
  /** The reply already laid out on the wire in a pooled buffer (header filled in by send). */
  readonly frame?: PooledFrame;
}

type Req<T extends Message['type']> = MessageOf<T>;

function badName(name: string): boolean {
  return name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0');
}

/**
 * Serves 9P on one flow until it ends. Never rejects: the outcome is in the summary.
 */
export async function serve9p(flow: Flow, fs: Filesystem, options: Serve9pOptions = {}): Promise<SessionSummary> {
  const maxMsize = options.msize ?? 65536;
  if (!Number.isInteger(maxMsize) || maxMsize < MIN_MSIZE || maxMsize > MAX_MSIZE) {
    throw new RangeError(`msize must be an integer in ${MIN_MSIZE}..${MAX_MSIZE}`);
  }
  for (const k of ['handshakeTimeoutMs', 'idleTimeoutMs'] as const) {
    const v = options[k];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`${k} must be a number of milliseconds, 0 or more`);
  }
  const session = new Session(flow, fs, options, maxMsize);
  return session.run();
}

class Session {
  private dialect: Dialect | undefined;
  private msize: number;
  private readonly fids: FidTable;
  private readonly inflight = new Map<number, Pending>();
  private outstanding = 0;
  private slotWaiter: (() => void) | undefined;
  private readonly reader: FrameReader;
  private readonly maxInFlight: number;
  private requests = 0;
  private errors = 0;
  private flushes = 0;
  private bytesRead = 0;
  private bytesWritten = 0;
  private writeFailure: FlowError | undefined;
  private ended = false;
  /** Free Rread buffers, each `poolSize` bytes (the negotiated msize). */
  private pool: Buffer[] = [];
  private poolSize = 0;
  /** When the last whole request arrived (performance.now()). */
  private lastActivity = performance.now();
  /** Why this side cut the connection (a timeout, an eviction), to report instead of "aborted". */
  private cutReason: FlowError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly account: MemoryAccount;
  /** Bytes of replies handed to the flow and not yet written. */
  private queuedBytes = 0;

  constructor(
    private readonly flow: Flow,
    private readonly fs: Filesystem,
    private readonly options: Serve9pOptions,
    private readonly maxMsize: number,
  ) {
    this.msize = maxMsize;
    this.account = (options.memory ?? new MemoryBudget({ bytes: DEFAULT_SESSION_BUDGET })).open();
    this.fids = new FidTable(options.maxFids ?? 4096, this.account);
    this.account.charge(maxMsize); // the frame reader's buffer
    this.maxInFlight = options.maxInFlight ?? 256;
    this.reader = new FrameReader(flow, maxMsize);
  }

  /** Cuts the connection from this side for `reason` (reported as the session's error). */
  private cut(reason: FlowError): void {
    if (this.cutReason || this.ended) return;
    this.cutReason = reason;
    this.flow.abort(reason);
  }

  /** Arms the one timer that enforces the handshake deadline and the idle timeout. */
  private armTimer(): void {
    const handshake = this.options.handshakeTimeoutMs ?? 5000;
    const idle = this.options.idleTimeoutMs ?? 0;
    const started = performance.now();
    const check = (): void => {
      this.timer = undefined;
      if (this.ended) return;
      const now = performance.now();
      let wait = Infinity;
      if (this.dialect === undefined && handshake > 0) {
        if (now - started >= handshake) return this.cut(new FlowError('timeout', `no Tversion within ${handshake} ms of connecting`));
        wait = started + handshake - now;
      }
      if (idle > 0) {
        if (this.outstanding > 0) wait = Math.min(wait, idle);
        else if (now - this.lastActivity >= idle) return this.cut(new FlowError('timeout', `idle for ${idle} ms`));
        else wait = Math.min(wait, this.lastActivity + idle - now);
      }
      if (wait !== Infinity) this.timer = setTimeout(check, Math.max(1, Math.ceil(wait))).unref();
    };
    check();
  }

  async run(): Promise<SessionSummary> {
    const signal = this.options.signal;
    const onAbort = (): void => this.flow.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let outcome: SessionSummary['outcome'] = 'eof';
    let error: FlowError | undefined;
    const slot = this.options.pool?.admit({
      lastActivityMs: () => this.lastActivity,
      inUse: () => this.fids.size > 0 || this.outstanding > 0,
      evict: (reason) => this.cut(reason),
    });
    try {
      if (signal?.aborted) throw new FlowError('aborted', 'aborted before serving');
      if (slot && !slot.ok) {
        outcome = 'error';
        error = slot.error;
        throw slot.error;
      }
      this.armTimer();
      for (;;) {
        // Backpressure: stop reading while the connection has too much in flight, or holds more
        // than its share of the memory budget and has replies waiting that will free some.
        // Only replies being written count here: they drain by themselves, while waiting on a
        // request (a blocked stream read) could keep out the Tflush that would end it.
        while (this.outstanding >= this.maxInFlight || (this.queuedBytes > 0 && this.account.over)) {
          await new Promise<void>((r) => (this.slotWaiter = r));
        }
        if (this.writeFailure) {
          outcome = 'error';
          error = this.writeFailure;
          break;
        }
        const ev = await this.reader.next();
        if (this.cutReason) {
          outcome = 'error';
          error = this.cutReason;
          break;
        }
        if (ev.kind === 'end') break;
        if (ev.kind === 'error') {
          outcome = ev.error.kind === 'aborted' || signal?.aborted ? 'aborted' : 'error';
          error = ev.error;
          break;
        }
        this.lastActivity = performance.now();
        this.requests++;
        if (ev.kind === 'oversize') {
          this.bytesRead += ev.size;
          this.sendError(ev.tag, fsError('EMSGSIZE', `message of ${ev.size} bytes exceeds msize ${this.msize}`));
          continue;
        }
        this.bytesRead += ev.frame.length;
        this.dispatch(ev.frame);
      }
    } catch (e) {
      if (outcome !== 'error') {
        outcome = 'aborted';
        error = e instanceof FlowError ? e : new FlowError('aborted', String(e));
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (this.timer) clearTimeout(this.timer);
      if (slot?.ok) slot.value.release();
    }
    this.ended = true;
    if (outcome === 'eof') {
      // The client half-closed: finish what it asked for, then end our side. Requests that
      // wait on events (stream reads) are cancelled, since no Tflush can come any more.
      for (const p of this.inflight.values()) p.abort();
      while (this.outstanding > 0) await new Promise<void>((r) => (this.slotWaiter = r));
      await this.releaseAll();
      await this.flow.close({ timeoutMs: 5000 });
    } else {
      for (const p of this.inflight.values()) {
        p.flushed = true;
        p.abort();
      }
      this.inflight.clear();
      this.flow.abort(error);
      await this.releaseAll();
    }
    this.account.close();
    return {
      outcome,
      ...(error ? { error } : {}),
      dialect: this.dialect,
      msize: this.msize,
      requests: this.requests,
      errors: this.errors,
      flushes: this.flushes,
      bytesRead: this.bytesRead,
      bytesWritten: this.bytesWritten,
    };
  }

  private async releaseAll(): Promise<void> {
    await Promise.all(this.fids.clear().map((e) => this.releaseEntry(e, false)));
  }

  private async releaseEntry(e: FidEntry, removeOnClunk: boolean): Promise<FsResult<void> | undefined> {
    this.dropListing(e.open);
    try {
      if (e.open?.kind === 'file') await e.open.file.close();
      if (e.auth) await e.auth.file.close();
      if (removeOnClunk && e.removeOnClunk) {
        const parent = e.parents[e.parents.length - 1];
        if (parent?.node.unlink) return await parent.node.unlink(e.name, (e.qid.type & QT.DIR) !== 0);
      }
    } catch {
      // A back end failing to release must not take the connection down.
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Replies

  private send(reply: Reply): void {
    if (this.ended && this.writeFailure) return;
    const dialect = this.dialect ?? '9P2000';
    this.traceSafely('out', reply);
    let written: Promise<{ ok: boolean; error?: FlowError }>;
    if (reply.type === 'Rread' && reply.data.length >= 1024) {
      // Bulk data goes out as header + payload view, without copying it into one frame.
      const head = Buffer.allocUnsafe(RREAD_HEADER);
      head.writeUInt32LE(RREAD_HEADER + reply.data.length, 0);
      head[4] = 117;
      head.writeUInt16LE(reply.tag, 5);
      head.writeUInt32LE(reply.data.length, 7);
      this.bytesWritten += RREAD_HEADER + reply.data.length;
      written = this.flow.writev([head, reply.data]);
    } else {
      let buf: Uint8Array;
      try {
        buf = encode(reply, dialect);
      } catch (e) {
        // A back end produced something the wire cannot carry (e.g. a name over 65535 bytes).
        const fallback: Reply =
          dialect === '9P2000.L'
            ? { type: 'Rlerror', tag: reply.tag, ecode: 5 }
            : { type: 'Rerror', tag: reply.tag, ename: `reply not encodable: ${String(e).slice(0, 200)}`, errno: 5 };
        buf = encode(fallback, dialect);
      }
      this.bytesWritten += buf.length;
      written = this.flow.write(buf);
    }
    this.outstanding++;
    // A reply waiting to be written is held memory: charged until the flow has taken it.
    const queued = reply.type === 'Rread' ? RREAD_HEADER + reply.data.length : 64;
    this.account.charge(queued);
    this.queuedBytes += queued;
    void written.then((r) => {
      if (!r.ok && !this.writeFailure) this.writeFailure = r.error ?? new FlowError('io', 'write failed');
      this.account.release(queued);
      this.queuedBytes -= queued;
      this.outstanding--;
      const w = this.slotWaiter;
      this.slotWaiter = undefined;
      w?.();
    });
  }

  /** A buffer for one Rread frame of up to msize bytes, from the pool when one is free. */
  private takeBuffer(): Buffer {
    if (this.poolSize !== this.msize) {
      this.pool = [];
      this.poolSize = this.msize;
    }
    return this.pool.pop() ?? Buffer.allocUnsafeSlow(this.msize);
  }

  private release(buffer: Buffer): void {
    if (buffer.length === this.poolSize && this.pool.length < POOL_KEEP) this.pool.push(buffer);
  }

  /** Sends an Rread laid out in a pooled buffer: fills in its header, writes it, pools it again. */
  private sendFrame(reply: Reply, frame: PooledFrame): void {
    if (reply.type !== 'Rread' || (this.ended && this.writeFailure)) {
      this.release(frame.buffer);
      if (reply.type !== 'Rread') this.send(reply);
      return;
    }
    this.traceSafely('out', reply);
    const b = frame.buffer;
    b.writeUInt32LE(frame.length, 0);
    b[4] = 117;
    b.writeUInt16LE(reply.tag, 5);
    b.writeUInt32LE(frame.length - RREAD_HEADER, 7);
    this.bytesWritten += frame.length;
    this.outstanding++;
    this.account.charge(b.length);
    this.queuedBytes += b.length;
    void this.flow.write(b.subarray(0, frame.length)).then((r) => {
      this.account.release(b.length);
      this.queuedBytes -= b.length;
      if (r.ok) this.release(b);
      // After a failed write the flow may still hold the buffer: it is not reused.
      else if (!this.writeFailure) this.writeFailure = r.error ?? new FlowError('io', 'write failed');
      this.outstanding--;
      const w = this.slotWaiter;
      this.slotWaiter = undefined;
      w?.();
    });
  }

  private traceSafely(direction: 'in' | 'out', m: Message): void {
    try {
      this.options.trace?.(direction, m);
    } catch {
      // A tracing bug must not take the connection down.
    }
  }

  private errorReply(tag: number, e: FsError): Reply {
    this.errors++;
    if (this.dialect === '9P2000.L') return { type: 'Rlerror', tag, ecode: e.errno };
    return { type: 'Rerror', tag, ename: e.message, errno: e.errno };
  }

  private sendError(tag: number, e: FsError): void {
    this.send(this.errorReply(tag, e));
  }

  private fail(tag: number, e: FsError): Outcome {
    return { reply: this.errorReply(tag, e) };
  }

  // -------------------------------------------------------------------------------------------
  // Dispatch

  private dispatch(frame: Uint8Array): void {
    const head = peekHeader(frame)!;
    if (head.code === 100) {
      this.version(frame, head.tag);
      return;
    }
    if (this.dialect === undefined) {
      this.send({ type: 'Rerror', tag: head.tag, ename: 'version not negotiated', errno: 71 });
      this.errors++;
      return;
    }
    const decoded = decode(frame, this.dialect);
    if (!decoded.ok) {
      this.sendError(head.tag, fsError('EPROTO', decoded.error.message));
      return;
    }
    const msg = decoded.value;
    this.traceSafely('in', msg);
    if (msg.type[0] !== 'T') {
      this.sendError(msg.tag, fsError('EPROTO', `${msg.type} is not a request`));
      return;
    }
    if (msg.type === 'Tflush') {
      this.flush(msg);
      return;
    }
    if (this.inflight.has(msg.tag) || msg.tag === 0xffff) {
      this.sendError(msg.tag, fsError('EINVAL', `tag ${msg.tag} is already in use`));
      return;
    }
    const pending = new Pending();
    this.inflight.set(msg.tag, pending);
    this.outstanding++;
    const serverError = (e: unknown): Outcome => this.fail(msg.tag, fsError('EIO', `server error: ${String(e)}`));
    const finish = (outcome: Outcome): void => {
      this.outstanding--;
      if (pending.flushed) {
        outcome.rollback?.();
        if (outcome.frame) this.release(outcome.frame.buffer);
      } else {
        this.inflight.delete(msg.tag);
        const override = outcome.commit?.();
        if (override) {
          if (outcome.frame) this.release(outcome.frame.buffer);
          this.send(override);
        } else if (outcome.frame) {
          this.sendFrame(outcome.reply, outcome.frame);
        } else {
          this.send(outcome.reply);
        }
      }
      const w = this.slotWaiter;
      this.slotWaiter = undefined;
      w?.();
    };
    let result: Outcome | Promise<Outcome>;
    try {
      // A read the back end completes synchronously is answered right here, without a trip
      // through the promise queue (diodcat keeps one read in flight: latency is throughput).
      result = msg.type === 'Tread' ? this.readNow(msg, pending) : this.handle(msg, pending);
    } catch (e) {
      result = serverError(e);
    }
    if (result instanceof Promise) void result.catch(serverError).then(finish);
    else finish(result);
  }

  private flush(msg: Req<'Tflush'>): void {
    this.flushes++;
    const p = this.inflight.get(msg.oldtag);
    if (p) {
      // flush(5): the flushed request is treated as never sent: no reply, fid changes undone.
      p.flushed = true;
      p.abort();
      this.inflight.delete(msg.oldtag);
    }
    // Writes are ordered, so a reply already sent for oldtag precedes this Rflush.
    this.send({ type: 'Rflush', tag: msg.tag });
  }

  private version(frame: Uint8Array, tag: number): void {
    const decoded = decode(frame, '9P2000');
    if (!decoded.ok || decoded.value.type !== 'Tversion') {
      this.send({ type: 'Rerror', tag, ename: decoded.ok ? 'bad Tversion' : decoded.error.message });
      this.errors++;
      return;
    }
    const m = decoded.value;
    this.traceSafely('in', m);
    // version(5): a Tversion aborts all outstanding I/O and clunks every fid.
    for (const p of this.inflight.values()) {
      p.flushed = true;
      p.abort();
    }
    this.inflight.clear();
    void this.releaseAll();
    this.dialect = undefined;
    const offered = this.options.dialects ?? ['9P2000', '9P2000.u', '9P2000.L'];
    let chosen: Dialect | undefined;
    if (m.version.startsWith('9P2000')) {
      const want: Dialect = m.version === '9P2000.L' ? '9P2000.L' : m.version === '9P2000.u' ? '9P2000.u' : '9P2000';
      if (offered.includes(want)) chosen = want;
      else if (offered.includes('9P2000')) chosen = '9P2000';
    }
    if (m.msize < MIN_MSIZE) {
      this.send({ type: 'Rerror', tag, ename: `msize ${m.msize} is below the minimum ${MIN_MSIZE}` });
      this.errors++;
      return;
    }
    this.msize = Math.min(m.msize, this.maxMsize);
    this.reader.maxSize = this.msize;
    if (chosen === undefined) {
      this.send({ type: 'Rversion', tag, msize: this.msize, version: 'unknown' });
      return;
    }
    this.send({ type: 'Rversion', tag, msize: this.msize, version: chosen });
    this.dialect = chosen;
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  private entry(fid: number): FsResult<FidEntry> {
    const e = this.fids.get(fid);
    return e ? { ok: true, value: e } : { ok: false, error: fsError('EBADF', `unknown fid ${fid}`) };
  }

  private get iounit(): number {
    return this.msize - IOHDRSZ;
  }

  private async handle(msg: Message, pending: Pending): Promise<Outcome> {
    const t = msg.tag;
    switch (msg.type) {
      case 'Tauth':
        return this.auth(msg);
      case 'Tattach':
        return this.attach(msg);
      case 'Twalk':
        return this.walk(msg, pending);
      case 'Topen':
        return this.open(msg);
      case 'Tlopen':
        return this.lopen(msg);
      case 'Tcreate':
        return this.create(msg);
      case 'Tlcreate':
        return this.lcreate(msg);
      case 'Tread':
        return this.read(msg, pending);
      case 'Twrite':
        return this.write(msg, pending.signal);
      case 'Tclunk':
        return this.clunk(msg);
      case 'Tremove':
        return this.remove(msg);
      case 'Tstat':
        return this.stat(msg);
      case 'Twstat':
        return this.wstat(msg);
      case 'Tgetattr':
        return this.getattr(msg);
      case 'Tsetattr': {
        const e = this.entry(msg.fid);
        if (!e.ok) return this.fail(t, e.error);
        return this.simple(t, this.setattrOn(e.value, setattrOfL(msg)), { type: 'Rsetattr', tag: t });
      }
      case 'Treaddir':
        return this.readdir(msg);
      case 'Tstatfs': {
        const e = this.entry(msg.fid);
        if (!e.ok) return this.fail(t, e.error);
        const r = e.value.node.statfs ? await e.value.node.statfs() : { ok: true as const, value: DEFAULT_STATFS };
        if (!r.ok) return this.fail(t, r.error);
        const s = r.value;
        return {
          reply: {
            type: 'Rstatfs', tag: t, fsType: s.type, bsize: s.bsize, blocks: s.blocks, bfree: s.bfree,
            bavail: s.bavail, files: s.files, ffree: s.ffree, fsid: s.fsid, namelen: s.namelen,
          },
        };
      }
      case 'Tfsync': {
        const e = this.entry(msg.fid);
        if (!e.ok) return this.fail(t, e.error);
        const open = e.value.open;
        if (open?.kind === 'file' && open.file.fsync) return this.simple(t, open.file.fsync(), { type: 'Rfsync', tag: t });
        return { reply: { type: 'Rfsync', tag: t } };
      }
      case 'Treadlink': {
        const e = this.entry(msg.fid);
        if (!e.ok) return this.fail(t, e.error);
        if (!(e.value.qid.type & QT.SYMLINK) || !e.value.node.readlink) return this.fail(t, fsError('EINVAL'));
        const r = await e.value.node.readlink();
        return r.ok ? { reply: { type: 'Rreadlink', tag: t, target: r.value } } : this.fail(t, r.error);
      }
      case 'Tsymlink': {
        const d = this.dirEntry(msg.fid, msg.name);
        if (!d.ok) return this.fail(t, d.error);
        if (!d.value.node.symlink) return this.fail(t, fsError('EOPNOTSUPP'));
        const r = await d.value.node.symlink(msg.name, msg.symtgt);
        return r.ok ? { reply: { type: 'Rsymlink', tag: t, qid: r.value.qid } } : this.fail(t, r.error);
      }
      case 'Tmknod': {
        const d = this.dirEntry(msg.dfid, msg.name);
        if (!d.ok) return this.fail(t, d.error);
        if (!d.value.node.mknod) return this.fail(t, fsError('EOPNOTSUPP'));
        const r = await d.value.node.mknod(msg.name, msg.mode, msg.major, msg.minor);
        return r.ok ? { reply: { type: 'Rmknod', tag: t, qid: r.value.qid } } : this.fail(t, r.error);
      }
      case 'Tmkdir': {
        const d = this.dirEntry(msg.dfid, msg.name);
        if (!d.ok) return this.fail(t, d.error);
        if (!d.value.node.mkdir) return this.fail(t, fsError('EOPNOTSUPP'));
        const r = await d.value.node.mkdir(msg.name, msg.mode & 0o7777);
        return r.ok ? { reply: { type: 'Rmkdir', tag: t, qid: r.value.qid } } : this.fail(t, r.error);
      }
      case 'Tlink': {
        const d = this.dirEntry(msg.dfid, msg.name);
        if (!d.ok) return this.fail(t, d.error);
        const target = this.entry(msg.fid);
        if (!target.ok) return this.fail(t, target.error);
        if (target.value.qid.type & QT.DIR) return this.fail(t, fsError('EPERM', 'hard links to directories are not allowed'));
        if (!d.value.node.link) return this.fail(t, fsError('EOPNOTSUPP'));
        return this.simple(t, d.value.node.link(msg.name, target.value.node), { type: 'Rlink', tag: t });
      }
      case 'Trename': {
        const e = this.entry(msg.fid);
        if (!e.ok) return this.fail(t, e.error);
        const d = this.dirEntry(msg.dfid, msg.name);
        if (!d.ok) return this.fail(t, d.error);
        const parent = e.value.parents[e.value.parents.length - 1];
        if (!parent) return this.fail(t, fsError('EBUSY', 'the root cannot be renamed'));
        return this.renameOutcome(t, parent, e.value.name, d.value, msg.name, { type: 'Rrename', tag: t });
      }
      case 'Trenameat': {
        const od = this.dirEntry(msg.olddirfid, msg.oldname);
        if (!od.ok) return this.fail(t, od.error);
        const nd = this.dirEntry(msg.newdirfid, msg.newname);
        if (!nd.ok) return this.fail(t, nd.error);
        return this.renameOutcome(t, stepOf(od.value), msg.oldname, nd.value, msg.newname, { type: 'Rrenameat', tag: t });
      }
      case 'Tunlinkat': {
        const d = this.dirEntry(msg.dirfid, msg.name);
        if (!d.ok) return this.fail(t, d.error);
        if (!d.value.node.unlink) return this.fail(t, fsError('EOPNOTSUPP'));
        return this.simple(t, d.value.node.unlink(msg.name, (msg.flags & AT_REMOVEDIR) !== 0), { type: 'Runlinkat', tag: t });
      }
      case 'Txattrwalk':
        return this.xattrwalk(msg);
      case 'Txattrcreate':
        return this.fail(t, fsError('EOPNOTSUPP', 'extended attributes are not supported'));
      case 'Tlock': {
        const e = this.entry(msg.fid);
        if (!e.ok) return this.fail(t, e.error);
        // Locks are advisory and local to the client's host; we grant them (as a single-client export).
        return { reply: { type: 'Rlock', tag: t, status: 0 } };
      }
      case 'Tgetlock': {
        const e = this.entry(msg.fid);
        if (!e.ok) return this.fail(t, e.error);
        return {
          reply: { type: 'Rgetlock', tag: t, lockType: 2, start: msg.start, length: msg.length, procId: msg.procId, clientId: msg.clientId },
        };
      }
      default:
        return this.fail(t, fsError('ENOSYS', `${msg.type} is not supported`));
    }
  }

  private async simple(tag: number, op: Promise<FsResult<void>>, reply: Reply): Promise<Outcome> {
    const r = await op;
    return r.ok ? { reply } : this.fail(tag, r.error);
  }

  /** The fid `fid` as a directory in which `name` may be created or looked up. */
  private dirEntry(fid: number, name: string): FsResult<FidEntry> {
    const e = this.entry(fid);
    if (!e.ok) return e;
    if (!(e.value.qid.type & QT.DIR)) return { ok: false, error: fsError('ENOTDIR') };
    if (badName(name)) return { ok: false, error: fsError('EINVAL', `invalid name ${JSON.stringify(name)}`) };
    if (Buffer.byteLength(name) > 255) return { ok: false, error: fsError('ENAMETOOLONG') };
    return e;
  }

  private async auth(m: Req<'Tauth'>): Promise<Outcome> {
    const hook = this.options.auth;
    // Linux and diod's clients read ENOENT as "no authentication required".
    if (!hook) return this.fail(m.tag, fsError('ENOENT', 'no authentication required'));
    if (this.fids.has(m.afid) || m.afid === NOFID) return this.fail(m.tag, fsError('EBADF', `fid ${m.afid} in use`));
    if (this.fids.full()) return this.fail(m.tag, fsError('EMFILE'));
    const nUname = m.nUname === undefined || m.nUname === NONUNAME ? undefined : m.nUname;
    const r = await hook.start({ uname: m.uname, aname: m.aname, nUname });
    if (!r.ok) return this.fail(m.tag, r.error);
    const qid: Qid = { type: QT.AUTH, version: 0, path: 0n };
    const state = r.value;
    const node = authNode(qid);
    return {
      reply: { type: 'Rauth', tag: m.tag, aqid: qid },
      commit: () => {
        if (this.fids.has(m.afid)) return this.errorReply(m.tag, fsError('EBADF'));
        this.fids.set(m.afid, {
          node, parents: [], name: '', qid, auth: state, removeOnClunk: false, uname: m.uname, nUname,
          open: { kind: 'file', file: state.file, read: true, write: true },
        });
        return undefined;
      },
      rollback: () => closeQuietly(state.file),
    };
  }

  private async attach(m: Req<'Tattach'>): Promise<Outcome> {
    if (m.fid === NOFID) return this.fail(m.tag, fsError('EBADF', 'NOFID cannot name a fid'));
    if (this.fids.has(m.fid)) return this.fail(m.tag, fsError('EBADF', `fid ${m.fid} in use`));
    if (this.fids.full()) return this.fail(m.tag, fsError('EMFILE', 'too many fids'));
    if (this.options.auth) {
      const a = this.fids.get(m.afid);
      if (!a?.auth || !a.auth.authenticated()) return this.fail(m.tag, fsError('EACCES', 'not authenticated'));
    }
    const nUname = m.nUname === undefined || m.nUname === NONUNAME ? undefined : m.nUname;
    const r = await this.fs.attach({ uname: m.uname, aname: m.aname, nUname });
    if (!r.ok) return this.fail(m.tag, r.error);
    const node = r.value;
    return {
      reply: { type: 'Rattach', tag: m.tag, qid: node.qid },
      commit: () => {
        if (this.fids.has(m.fid)) return this.errorReply(m.tag, fsError('EBADF', `fid ${m.fid} in use`));
        if (this.fids.full()) return this.errorReply(m.tag, fsError('EMFILE', 'too many fids'));
        this.fids.set(m.fid, {
          node, parents: [], name: '', qid: node.qid, open: undefined, removeOnClunk: false, uname: m.uname, nUname,
        });
        return undefined;
      },
    };
  }

  private async walk(m: Req<'Twalk'>, pending: Pending): Promise<Outcome> {
    const t = m.tag;
    const src = this.entry(m.fid);
    if (!src.ok) return this.fail(t, src.error);
    const e = src.value;
    // NOFID means "no fid" wherever a message carries one (attach's afid): it is never bound.
    if (m.newfid === NOFID) return this.fail(t, fsError('EBADF', 'NOFID cannot name a fid'));
    if (m.newfid !== m.fid) {
      if (this.fids.has(m.newfid)) return this.fail(t, fsError('EBADF', `fid ${m.newfid} in use`));
      if (this.fids.full()) return this.fail(t, fsError('EMFILE', 'too many fids'));
    } else if (e.open) {
      return this.fail(t, fsError('EBADF', 'cannot walk an open fid in place'));
    }
    let node = e.node;
    let name = e.name;
    let qid = e.qid;
    const parents: PathStep[] = [...e.parents];
    const qids: Qid[] = [];
    let failure: FsError | undefined;
    for (const w of m.wnames) {
      if (pending.aborted) return this.fail(t, fsError('ECANCELED'));
      if (w === '..') {
        // `..` of the attach root is the root: a walk never leaves the tree it attached to.
        const up = parents.pop();
        if (up) {
          node = up.node;
          name = up.name;
          qid = up.node.qid;
        }
      } else if (w === '.' && this.dialect === '9P2000.L') {
        // diodls walks "." when listing; in .L it means "stay here".
      } else if (badName(w)) {
        failure = fsError('EINVAL', `invalid name ${JSON.stringify(w)}`);
      } else if (!(qid.type & QT.DIR)) {
        failure = fsError('ENOTDIR');
      } else {
        const r = await node.walk(w);
        if (!r.ok) failure = r.error;
        else {
          parents.push({ node, name });
          node = r.value;
          name = w;
          qid = node.qid;
        }
      }
      if (failure) break;
      qids.push(qid);
    }
    if (failure && qids.length === 0) return this.fail(t, failure);
    // walk(5): a later name failing is a short Rwalk, and newfid is not bound.
    if (failure) return { reply: { type: 'Rwalk', tag: t, qids } };
    const finalNode = node;
    const finalName = name;
    const finalQid = qid;
    return {
      reply: { type: 'Rwalk', tag: t, qids },
      commit: () => {
        const cur = this.fids.get(m.fid);
        if (!cur) return this.errorReply(t, fsError('EBADF', `fid ${m.fid} was clunked`));
        if (m.newfid !== m.fid) {
          if (this.fids.has(m.newfid)) return this.errorReply(t, fsError('EBADF', `fid ${m.newfid} in use`));
          if (this.fids.full()) return this.errorReply(t, fsError('EMFILE', 'too many fids'));
        } else if (cur.open) return this.errorReply(t, fsError('EBADF', 'cannot walk an open fid in place'));
        this.fids.set(m.newfid, {
          node: finalNode, parents, name: finalName, qid: finalQid, open: undefined, removeOnClunk: false,
          uname: e.uname, nUname: e.nUname,
        });
        return undefined;
      },
    };
  }

  private openCommit(tag: number, fid: number, e: FidEntry, open: FidEntry['open'], reply: Reply, removeOnClunk = false): Outcome {
    const rollback = (): void => {
      if (open?.kind === 'file') closeQuietly(open.file);
    };
    return {
      reply,
      commit: () => {
        if (this.fids.get(fid) !== e || e.open) {
          rollback();
          return this.errorReply(tag, fsError('EBADF', `fid ${fid} changed while opening`));
        }
        e.open = open;
        e.removeOnClunk = removeOnClunk;
        return undefined;
      },
      rollback,
    };
  }

  private async openAs(
    tag: number,
    fid: number,
    intent: { read: boolean; write: boolean; truncate: boolean; append: boolean },
    make: (qid: Qid) => Reply,
    removeOnClunk = false,
  ): Promise<Outcome> {
    const r = this.entry(fid);
    if (!r.ok) return this.fail(tag, r.error);
    const e = r.value;
    if (e.open) return this.fail(tag, fsError('EBADF', `fid ${fid} is already open`));
    if (e.qid.type & QT.DIR) {
      if (intent.write || intent.truncate) return this.fail(tag, fsError('EISDIR'));
      return this.openCommit(tag, fid, e, { kind: 'dir', listing: undefined }, make(e.qid), removeOnClunk);
    }
    const f = await e.node.open(intent);
    if (!f.ok) return this.fail(tag, f.error);
    return this.openCommit(tag, fid, e, { kind: 'file', file: f.value, read: intent.read, write: intent.write }, make(e.qid), removeOnClunk);
  }

  private open(m: Req<'Topen'>): Promise<Outcome> {
    const intent = intentFromOmode(m.mode);
    return this.openAs(m.tag, m.fid, intent, (qid) => ({ type: 'Ropen', tag: m.tag, qid, iounit: this.iounit }), intent.removeOnClunk);
  }

  private lopen(m: Req<'Tlopen'>): Promise<Outcome> {
    return this.openAs(m.tag, m.fid, intentFromLflags(m.flags), (qid) => ({ type: 'Rlopen', tag: m.tag, qid, iounit: this.iounit }));
  }

  /** After a create, the fid stands for the new file, opened. */
  private createdCommit(tag: number, fid: number, e: FidEntry, node: FsNode, name: string, open: FidEntry['open'], reply: Reply, removeOnClunk = false): Outcome {
    const rollback = (): void => {
      if (open?.kind === 'file') closeQuietly(open.file);
    };
    return {
      reply,
      commit: () => {
        if (this.fids.get(fid) !== e || e.open) {
          rollback();
          return this.errorReply(tag, fsError('EBADF', `fid ${fid} changed while creating`));
        }
        this.fids.set(fid, {
          node, parents: [...e.parents, { node: e.node, name: e.name }], name, qid: node.qid, open, removeOnClunk,
          uname: e.uname, nUname: e.nUname,
        });
        return undefined;
      },
      rollback,
    };
  }

  private async lcreate(m: Req<'Tlcreate'>): Promise<Outcome> {
    const d = this.dirEntry(m.fid, m.name);
    if (!d.ok) return this.fail(m.tag, d.error);
    const e = d.value;
    if (e.open) return this.fail(m.tag, fsError('EBADF', `fid ${m.fid} is open`));
    if (!e.node.create) return this.fail(m.tag, fsError('EOPNOTSUPP'));
    const intent = intentFromLflags(m.flags);
    const r = await e.node.create(m.name, m.mode & 0o7777, intent);
    if (!r.ok) return this.fail(m.tag, r.error);
    const { node, file } = r.value;
    return this.createdCommit(m.tag, m.fid, e, node, m.name, { kind: 'file', file, read: intent.read, write: intent.write }, {
      type: 'Rlcreate', tag: m.tag, qid: node.qid, iounit: this.iounit,
    });
  }

  private async create(m: Req<'Tcreate'>): Promise<Outcome> {
    const t = m.tag;
    const d = this.dirEntry(m.fid, m.name);
    if (!d.ok) return this.fail(t, d.error);
    const e = d.value;
    if (e.open) return this.fail(t, fsError('EBADF', `fid ${m.fid} is open`));
    const dotu = this.dialect === '9P2000.u';
    const perm = m.perm;
    const mode = perm & 0o777;
    const intent = intentFromOmode(m.mode);
    const made = (node: FsNode, open: FidEntry['open']): Outcome =>
      this.createdCommit(t, m.fid, e, node, m.name, open, { type: 'Rcreate', tag: t, qid: node.qid, iounit: this.iounit }, intent.removeOnClunk);
    if (perm & DM.DIR) {
      if (!e.node.mkdir) return this.fail(t, fsError('EOPNOTSUPP'));
      const r = await e.node.mkdir(m.name, mode);
      return r.ok ? made(r.value, { kind: 'dir', listing: undefined }) : this.fail(t, r.error);
    }
    if (dotu && perm & DM.SYMLINK) {
      if (!e.node.symlink) return this.fail(t, fsError('EOPNOTSUPP'));
      const r = await e.node.symlink(m.name, m.extension ?? '');
      return r.ok ? made(r.value, { kind: 'none' }) : this.fail(t, r.error);
    }
    if (dotu && perm & DM.LINK) {
      // The extension names the target by fid number (Linux appends a newline).
      const target = this.fids.get(Number.parseInt((m.extension ?? '').trim(), 10));
      if (!target) return this.fail(t, fsError('EBADF', 'link target fid unknown'));
      if (!e.node.link) return this.fail(t, fsError('EOPNOTSUPP'));
      const r = await e.node.link(m.name, target.node);
      if (!r.ok) return this.fail(t, r.error);
      const w = await e.node.walk(m.name);
      return w.ok ? made(w.value, { kind: 'none' }) : this.fail(t, w.error);
    }
    if (dotu && perm & (DM.DEVICE | DM.NAMEDPIPE | DM.SOCKET)) {
      if (!e.node.mknod) return this.fail(t, fsError('EOPNOTSUPP'));
      let type: number = S_IF.FIFO;
      let major = 0;
      let minor = 0;
      if (perm & DM.SOCKET) type = S_IF.SOCK;
      if (perm & DM.DEVICE) {
        const parts = /^([bc]) (\d+) (\d+)$/.exec((m.extension ?? '').trim());
        if (!parts) return this.fail(t, fsError('EINVAL', 'bad device extension'));
        type = parts[1] === 'b' ? S_IF.BLK : S_IF.CHR;
        major = Number(parts[2]);
        minor = Number(parts[3]);
      }
      const r = await e.node.mknod(m.name, type | mode, major, minor);
      return r.ok ? made(r.value, { kind: 'none' }) : this.fail(t, r.error);
    }
    if (!e.node.create) return this.fail(t, fsError('EOPNOTSUPP'));
    const r = await e.node.create(m.name, mode, intent);
    if (!r.ok) return this.fail(t, r.error);
    return made(r.value.node, { kind: 'file', file: r.value.file, read: intent.read, write: intent.write });
  }

  /** Tread through the back end's `readInto` when it has one (possibly synchronously), else `read`. */
  private readNow(m: Req<'Tread'>, pending: Pending): Outcome | Promise<Outcome> {
    const e = this.fids.get(m.fid);
    const open = e?.open;
    if (open?.kind !== 'file' || !open.read || !open.file.readInto || m.offset > BigInt(Number.MAX_SAFE_INTEGER)) return this.handle(m, pending);
    const count = Math.min(m.count, this.msize - RREAD_HEADER);
    if (count <= 0) return this.handle(m, pending);
    // The back end reads straight into the reply frame, a pooled buffer: no allocation, no
    // copy, one write of header and data. The buffer returns to the pool once written.
    const buffer = this.takeBuffer();
    const frame = (n: FsResult<number>): Outcome => {
      if (!n.ok) {
        this.release(buffer);
        return this.fail(m.tag, n.error);
      }
      const length = RREAD_HEADER + Math.min(Math.max(0, Math.floor(n.value)), count);
      return { reply: { type: 'Rread', tag: m.tag, data: buffer.subarray(RREAD_HEADER, length) }, frame: { buffer, length } };
    };
    let r: FsResult<number> | Promise<FsResult<number>>;
    try {
      r = open.file.readInto(Number(m.offset), buffer.subarray(RREAD_HEADER, RREAD_HEADER + count));
    } catch (err) {
      this.release(buffer);
      throw err;
    }
    return r instanceof Promise ? r.then(frame, (err: unknown) => {
      this.release(buffer);
      throw err;
    }) : frame(r);
  }

  private async read(m: Req<'Tread'>, pending: Pending): Promise<Outcome> {
    const t = m.tag;
    const r = this.entry(m.fid);
    if (!r.ok) return this.fail(t, r.error);
    const e = r.value;
    const open = e.open;
    if (!open) return this.fail(t, fsError('EBADF', `fid ${m.fid} is not open`));
    if (m.offset > BigInt(Number.MAX_SAFE_INTEGER)) return this.fail(t, fsError('EINVAL', 'offset too large'));
    const offset = Number(m.offset);
    // Never return more than asked, never more than fits in msize.
    const count = Math.min(m.count, this.msize - RREAD_HEADER);
    if (open.kind === 'xattr') return { reply: { type: 'Rread', tag: t, data: open.data.subarray(offset, offset + count) } };
    if (open.kind === 'none') return this.fail(t, fsError('EBADF'));
    if (open.kind === 'dir') {
      if (this.dialect === '9P2000.L') return this.fail(t, fsError('EISDIR', 'use Treaddir'));
      return this.readStatDir(t, e, open, offset, count);
    }
    if (!open.read) return this.fail(t, fsError('EBADF', 'fid not open for reading'));
    const d = await open.file.read(offset, count, pending.signal);
    if (!d.ok) return this.fail(t, d.error);
    const data = d.value.length > count ? d.value.subarray(0, count) : d.value;
    return { reply: { type: 'Rread', tag: t, data } };
  }

  /** The 9P2000/.u stats of a directory, in order (the snapshot its reads are cut from). */
  private async statListing(e: FidEntry): Promise<FsResult<Uint8Array[]>> {
    const r = await e.node.readdir();
    if (!r.ok) return r;
    const out: Uint8Array[] = [];
    const dotu = this.dialect === '9P2000.u';
    const push = async (name: string, node: FsNode): Promise<void> => {
      const a = await node.getattr();
      if (!a.ok) return; // vanished since the listing
      const stat = statOf(name, a.value, dotu, dotu ? await this.unixExtension(node, a.value) : '');
      out.push(encodeStat(stat, dotu ? '9P2000.u' : '9P2000'));
    };
    if (dotu) {
      // Linux's .u readdir shows only what the server lists (it adds no '.' and '..' of its
      // own, unlike .L's) and QEMU lists the host directory's own, so a Unix client gets them
      // here too. Plain 9P2000 keeps Plan 9's rule: a directory never lists itself.
      await push('.', e.node);
      await push('..', e.parents[e.parents.length - 1]?.node ?? e.node);
    }
    for (const d of r.value) {
      const child = await e.node.walk(d.name);
      if (child.ok) await push(d.name, child.value);
    }
    return { ok: true, value: out };
  }

  /** The .u stat extension a file's type needs: a symlink's target, a device's numbers. */
  private async unixExtension(node: FsNode, a: Attr): Promise<string> {
    const t = a.mode & S_IF.MT;
    if (t === S_IF.LNK && node.readlink) {
      const l = await node.readlink();
      return l.ok ? l.value : '';
    }
    if (t === S_IF.BLK || t === S_IF.CHR) return `${t === S_IF.BLK ? 'b' : 'c'} ${a.rdev >>> 8} ${a.rdev & 0xff}`;
    return '';
  }

  /** Packs stats end to end and charges the snapshot to the connection's memory account. */
  private snapshot(stats: readonly Uint8Array[]): FsResult<DirListing> {
    let total = 0;
    for (const st of stats) total += st.length;
    const cost = total + 4 * stats.length + LISTING_OVERHEAD;
    if (!this.account.reserve(cost)) {
      return {
        ok: false,
        error: fsError(
          'ENOMEM',
          `a listing of ${stats.length} entries (${cost} bytes) does not fit in this connection's share of the server's memory budget ` +
            `(${this.account.inUse} of ${this.account.budget.share} bytes in use); clunk directory fids you are done with`,
        ),
      };
    }
    const data = Buffer.allocUnsafe(total);
    const ends = new Uint32Array(stats.length);
    let at = 0;
    stats.forEach((st, i) => {
      data.set(st, at);
      at += st.length;
      ends[i] = at;
    });
    return { ok: true, value: { data, ends, cost, nextOffset: 0, nextIndex: 0 } };
  }

  private dropListing(open: FidEntry['open']): void {
    if (open?.kind === 'dir' && open.listing) {
      this.account.release(open.listing.cost);
      open.listing = undefined;
    }
  }

  private async readStatDir(t: number, e: FidEntry, open: { kind: 'dir'; listing: DirListing | undefined }, offset: number, count: number): Promise<Outcome> {
    let listing = open.listing;
    let fresh: DirListing | undefined;
    if (offset === 0 || !listing) {
      if (offset !== 0) return this.fail(t, fsError('EINVAL', 'directory reads must start at offset 0'));
      const l = await this.statListing(e);
      if (!l.ok) return this.fail(t, l.error);
      const snap = this.snapshot(l.value);
      if (!snap.ok) return this.fail(t, snap.error);
      listing = fresh = snap.value;
    } else if (offset !== listing.nextOffset) {
      return this.fail(t, fsError('EINVAL', `directory offset ${offset} is not the next one (${listing.nextOffset})`));
    }
    const from = listing.nextIndex === 0 ? 0 : listing.ends[listing.nextIndex - 1]!;
    let i = listing.nextIndex;
    // A stat that does not fit ends the read short, even at no bytes, never with an error:
    // Linux's p9_client_read asks again for whatever room its buffer has left until a read
    // comes back empty, and fails the whole listing on an error (QEMU answers the same way).
    while (i < listing.ends.length && listing.ends[i]! - from <= count) i++;
    const to = i === 0 ? 0 : listing.ends[i - 1]!;
    const data = Buffer.from(listing.data.subarray(from, to));
    const snap = listing;
    return {
      reply: { type: 'Rread', tag: t, data },
      commit: () => {
        if (fresh) {
          if (open.listing !== fresh) this.dropListing(open);
          open.listing = fresh;
        }
        snap.nextOffset = offset + data.length;
        snap.nextIndex = i;
        return undefined;
      },
      rollback: () => {
        if (fresh) this.account.release(fresh.cost);
      },
    };
  }

  /**
   * Treaddir without a snapshot: 9P2000.L's offset is a cookie the server chooses, so each
   * entry's cookie is a hash of its name and entries go out in cookie order. A read resumes
   * after the cookie it is given, from a fresh listing, so nothing is kept between reads, and
   * entries removed in between (rm -r, find -delete) shift nothing. Cookies 1 and 2 are '.'
   * and '..'.
   */
  private async readdir(m: Req<'Treaddir'>): Promise<Outcome> {
    const t = m.tag;
    const r = this.entry(m.fid);
    if (!r.ok) return this.fail(t, r.error);
    const e = r.value;
    const open = e.open;
    if (open?.kind !== 'dir') return this.fail(t, fsError(open ? 'ENOTDIR' : 'EBADF'));
    if (m.offset > BigInt(Number.MAX_SAFE_INTEGER)) return this.fail(t, fsError('EINVAL', 'offset too large'));
    const cursor = Number(m.offset);
    const count = Math.min(m.count, this.msize - RREAD_HEADER);
    const parts: Uint8Array[] = [];
    let size = 0;
    let more = false;
    const put = (name: string, qid: Qid, cookie: number): boolean => {
      const d = encodeDirent({ qid, offset: BigInt(cookie), type: direntType(qid.type), name });
      if (size + d.length > count) return false;
      parts.push(d);
      size += d.length;
      return true;
    };
    const parent = e.parents[e.parents.length - 1]?.node ?? e.node;
    if (cursor < 1 && !put('.', e.qid, 1)) more = true;
    if (!more && cursor < 2 && !put('..', parent.qid, 2)) more = true;
    if (!more) {
      const listed = await cookieOrder(e.node);
      if (!listed.ok) return this.fail(t, listed.error);
      const list = listed.value;
      // The first entry whose cookie is past the cursor (binary search: the list is sorted).
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (list[mid]!.cookie <= cursor) lo = mid + 1;
        else hi = mid;
      }
      // A dirent's size depends on its name only: pick the entries that fit first, then look
      // up just those (the back end's lookupEntries does it in one go).
      let end = lo;
      let room = count - size;
      while (end < list.length) {
        const need = DIRENT_FIXED + Buffer.byteLength(list[end]!.name);
        if (need > room) break;
        room -= need;
        end++;
      }
      more = end < list.length;
      const page = list.slice(lo, end);
      const qids = new Map<string, Qid>();
      if (page.some((d) => !d.qid)) {
        if (e.node.lookupEntries) {
          const found = await e.node.lookupEntries(page.map((d) => d.name));
          if (!found.ok) return this.fail(t, found.error);
          for (const d of found.value) qids.set(d.name, d.qid);
        } else {
          for (const d of page) {
            const child = await e.node.walk(d.name);
            if (child.ok) qids.set(d.name, child.value.qid);
          }
        }
      }
      for (const d of page) {
        const qid = d.qid ?? qids.get(d.name);
        if (qid) put(d.name, qid, d.cookie); // else: vanished since the listing
      }
    }
    if (parts.length === 0 && more) return this.fail(t, fsError('EINVAL', 'count too small for the next entry'));
    return { reply: { type: 'Rreaddir', tag: t, data: Buffer.concat(parts) } };
  }

  private async write(m: Req<'Twrite'>, signal: AbortSignal): Promise<Outcome> {
    const t = m.tag;
    const r = this.entry(m.fid);
    if (!r.ok) return this.fail(t, r.error);
    const open = r.value.open;
    if (open?.kind !== 'file' || !open.write) return this.fail(t, fsError('EBADF', `fid ${m.fid} is not open for writing`));
    if (m.offset > BigInt(Number.MAX_SAFE_INTEGER)) return this.fail(t, fsError('EFBIG'));
    const w = await open.file.write(Number(m.offset), m.data, signal);
    return w.ok ? { reply: { type: 'Rwrite', tag: t, count: w.value } } : this.fail(t, w.error);
  }

  private async clunk(m: Req<'Tclunk'>): Promise<Outcome> {
    const e = this.fids.delete(m.fid);
    if (!e) return this.fail(m.tag, fsError('EBADF', `unknown fid ${m.fid}`));
    await this.releaseEntry(e, true);
    return { reply: { type: 'Rclunk', tag: m.tag } };
  }

  private async remove(m: Req<'Tremove'>): Promise<Outcome> {
    // remove(5): the fid is clunked whatever the outcome.
    const e = this.fids.delete(m.fid);
    if (!e) return this.fail(m.tag, fsError('EBADF', `unknown fid ${m.fid}`));
    await this.releaseEntry(e, false);
    const parent = e.parents[e.parents.length - 1];
    if (!parent) return this.fail(m.tag, fsError('EBUSY', 'the root cannot be removed'));
    if (!parent.node.unlink) return this.fail(m.tag, fsError('EOPNOTSUPP'));
    return this.simple(m.tag, parent.node.unlink(e.name, (e.qid.type & QT.DIR) !== 0), { type: 'Rremove', tag: m.tag });
  }

  private async attrOf(e: FidEntry): Promise<FsResult<Attr>> {
    return e.node.getattr();
  }

  private async stat(m: Req<'Tstat'>): Promise<Outcome> {
    const r = this.entry(m.fid);
    if (!r.ok) return this.fail(m.tag, r.error);
    const e = r.value;
    const a = await this.attrOf(e);
    if (!a.ok) return this.fail(m.tag, a.error);
    const dotu = this.dialect === '9P2000.u';
    const ext = dotu ? await this.unixExtension(e.node, a.value) : '';
    return { reply: { type: 'Rstat', tag: m.tag, stat: statOf(e.parents.length === 0 ? '/' : e.name, a.value, dotu, ext) } };
  }

  private async setattrOn(e: FidEntry, changes: SetAttr): Promise<FsResult<void>> {
    if (Object.keys(changes).length === 0) return { ok: true, value: undefined };
    if (!e.node.setattr) return { ok: false, error: fsError('EOPNOTSUPP') };
    return e.node.setattr(changes);
  }

  private async wstat(m: Req<'Twstat'>): Promise<Outcome> {
    const t = m.tag;
    const r = this.entry(m.fid);
    if (!r.ok) return this.fail(t, r.error);
    const e = r.value;
    const changes = setattrOfWstat(m.stat, this.dialect === '9P2000.u');
    const newName = m.stat.name;
    const parent = e.parents[e.parents.length - 1];
    // Check everything first, so that all changes happen or none do.
    if (newName !== '' && newName !== e.name) {
      if (badName(newName)) return this.fail(t, fsError('EINVAL', `invalid name ${JSON.stringify(newName)}`));
      if (!parent) return this.fail(t, fsError('EBUSY', 'the root cannot be renamed'));
      if (!parent.node.rename) return this.fail(t, fsError('EOPNOTSUPP'));
    }
    if (Object.keys(changes).length > 0 && !e.node.setattr) return this.fail(t, fsError('EOPNOTSUPP'));
    const s = await this.setattrOn(e, changes);
    if (!s.ok) return this.fail(t, s.error);
    if (newName !== '' && newName !== e.name && parent) {
      const parentEntry = { node: parent.node, parents: e.parents.slice(0, -1), name: parent.name };
      return this.renameOutcome(t, parent, e.name, parentEntry, newName, { type: 'Rwstat', tag: t });
    }
    return { reply: { type: 'Rwstat', tag: t } };
  }

  private async renameOutcome(tag: number, oldDir: PathStep, oldName: string, newDir: Pick<FidEntry, 'node' | 'parents' | 'name'>, newName: string, reply: Reply): Promise<Outcome> {
    if (!oldDir.node.rename) return this.fail(tag, fsError('EOPNOTSUPP'));
    const r = await oldDir.node.rename(oldName, newDir.node, newName);
    if (!r.ok) return this.fail(tag, r.error);
    // Fids of this connection that went through the old name now go through the new one.
    const newChain: PathStep[] = [...newDir.parents, { node: newDir.node, name: newDir.name }];
    for (const [fid, f] of [...this.fidPairs()]) {
      const chain = [...f.parents, { node: f.node, name: f.name }];
      for (let k = 1; k < chain.length; k++) {
        if (chain[k]!.name === oldName && chain[k - 1]!.node.qid.path === oldDir.node.qid.path) {
          const rest = chain.slice(k + 1);
          const full = [...newChain, { node: chain[k]!.node, name: newName }, ...rest];
          const last = full.pop()!;
          this.fids.set(fid, { ...f, parents: full, name: last.name });
          break;
        }
      }
    }
    return { reply };
  }

  private *fidPairs(): IterableIterator<[number, FidEntry]> {
    yield* this.fids.pairs();
  }

  private async getattr(m: Req<'Tgetattr'>): Promise<Outcome> {
    const r = this.entry(m.fid);
    if (!r.ok) return this.fail(m.tag, r.error);
    const a = await this.attrOf(r.value);
    if (!a.ok) return this.fail(m.tag, a.error);
    const v = a.value;
    const NS = 1_000_000_000n;
    return {
      reply: {
        type: 'Rgetattr', tag: m.tag, valid: GETATTR.BASIC, qid: v.qid, mode: v.mode, uid: v.uid, gid: v.gid,
        nlink: BigInt(v.nlink), rdev: BigInt(v.rdev), size: v.size, blksize: BigInt(v.blksize), blocks: v.blocks,
        atimeSec: v.atimeNs / NS, atimeNsec: v.atimeNs % NS, mtimeSec: v.mtimeNs / NS, mtimeNsec: v.mtimeNs % NS,
        ctimeSec: v.ctimeNs / NS, ctimeNsec: v.ctimeNs % NS, btimeSec: 0n, btimeNsec: 0n, gen: 0n, dataVersion: 0n,
      },
    };
  }

  private async xattrwalk(m: Req<'Txattrwalk'>): Promise<Outcome> {
    const t = m.tag;
    const r = this.entry(m.fid);
    if (!r.ok) return this.fail(t, r.error);
    const e = r.value;
    // No extended attributes: the list is empty and every named one is absent.
    if (m.name !== '') return this.fail(t, fsError('ENODATA'));
    if (m.newfid === NOFID) return this.fail(t, fsError('EBADF', 'NOFID cannot name a fid'));
    if (m.newfid !== m.fid && this.fids.has(m.newfid)) return this.fail(t, fsError('EBADF', `fid ${m.newfid} in use`));
    if (this.fids.full()) return this.fail(t, fsError('EMFILE'));
    return {
      reply: { type: 'Rxattrwalk', tag: t, size: 0n },
      commit: () => {
        if (m.newfid !== m.fid && this.fids.has(m.newfid)) return this.errorReply(t, fsError('EBADF'));
        this.fids.set(m.newfid, { ...e, open: { kind: 'xattr', data: new Uint8Array(0) }, removeOnClunk: false });
        return undefined;
      },
    };
  }
}

/** Closes a back end's file without letting a failure become an unhandled rejection. */
function closeQuietly(file: { close(): Promise<void> }): void {
  void Promise.resolve()
    .then(() => file.close())
    .catch(() => undefined);
}

function stepOf(e: FidEntry): PathStep {
  return { node: e.node, name: e.name };
}

function authNode(qid: Qid): FsNode {
  const no = async (): Promise<FsResult<never>> => ({ ok: false, error: fsError('EINVAL', 'an auth fid is not a file') });
  return { qid, getattr: no, walk: no, open: no, readdir: no };
}


/** A 9P2000.L dirent without its name: qid 13, offset 8, type 1, name length 2. */
const DIRENT_FIXED = 24;

/** Fixed overhead the server reckons for one kept directory snapshot (objects, bookkeeping). */
const LISTING_OVERHEAD = 256;

/** A name's Treaddir cookie: 53 bits of its MD5 (native, fast), above '.' (1) and '..' (2). */
export function direntCookie(name: string): number {
  const h = createHash('md5').update(name).digest();
  const cookie = h.readUInt32LE(0) * 0x200000 + (h.readUInt32LE(4) >>> 11);
  return cookie < 3 ? cookie + 3 : cookie;
}

/**
 * A directory's entries in cookie order, from a fresh listing: names only when the back end can
 * give them (the qids of the few a reply holds are then looked up), else its whole readdir.
 * Two names with the same cookie (a 2^-53 chance per pair) would make a resumed read skip one.
 */
async function cookieOrder(node: FsNode): Promise<FsResult<{ name: string; cookie: number; qid?: Qid }[]>> {
  let list: { name: string; cookie: number; qid?: Qid }[];
  if (node.readdirNames) {
    const r = await node.readdirNames();
    if (!r.ok) return r;
    list = r.value.map((name) => ({ name, cookie: direntCookie(name) }));
  } else {
    const r = await node.readdir();
    if (!r.ok) return r;
    list = r.value.map((d) => ({ name: d.name, cookie: direntCookie(d.name), qid: d.qid }));
  }
  list.sort((x, y) => x.cookie - y.cookie || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return { ok: true, value: list };
}
