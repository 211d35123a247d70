// One served connection: reads whole requests off the flow and answers them. This file is the
// protocol's session layer only: admission to the connection pool, the handshake and idle
// timers, backpressure (requests in flight, memory held by unwritten replies), Tversion (which
// resets everything), Tflush (which makes a request as if never sent), tags, and the end of the
// connection (finish or cancel what is in flight, release every fid). What each request does
// is in requests/, chosen by dispatch.ts; replies go out through reply-writer.ts.
import { type Flow, FlowError } from '@flow/core';
import { type FsError, fsError, type FsResult, type Filesystem } from '../fs/filesystem';
import { decode, peekHeader } from '../wire/codec';
import { type Dialect, IOHDRSZ, QT, RREAD_HEADER } from '../wire/constants';
import { FrameReader } from '../wire/frame-reader';
import type { Message, Reply } from '../wire/types';
import { handle } from './dispatch';
import { type FidEntry, FidTable } from './fid-table';
import { type MemoryAccount, MemoryBudget } from './memory-budget';
import { MIN_MSIZE, type Serve9pOptions, type SessionSummary } from './options';
import { ReplyWriter, traceSafely } from './reply-writer';
import { badName, type Outcome, Pending, type RequestContext } from './request';
import { dropListing } from './requests/directory-reads';
import { readIntoFrame, readNow } from './requests/read-write';

/** A little-endian u32 of a frame. */
function u32At(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

/** The memory budget of a connection served without a shared one. */
const DEFAULT_SESSION_BUDGET = 64 * 1024 * 1024;

/** One connection being served; `run` serves it to the end. */
export class Session implements RequestContext {
  dialect: Dialect | undefined;
  msize: number;
  readonly fids: FidTable;
  readonly account: MemoryAccount;
  private readonly inflight = new Map<number, Pending>();
  /** Requests being handled (their replies not yet handed to the writer). */
  private handling = 0;
  private slotWaiter: (() => void) | undefined;
  private readonly reader: FrameReader;
  private readonly writer: ReplyWriter;
  private readonly maxInFlight: number;
  private requests = 0;
  private errors = 0;
  private flushes = 0;
  private bytesRead = 0;
  private ended = false;
  /** When the last whole request arrived (performance.now()). */
  private lastActivity = performance.now();
  /** Why this side cut the connection (a timeout, an eviction), to report instead of "aborted". */
  private cutReason: FlowError | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly flow: Flow,
    readonly fs: Filesystem,
    readonly options: Serve9pOptions,
    private readonly maxMsize: number,
  ) {
    this.msize = maxMsize;
    this.account = (options.memory ?? new MemoryBudget({ bytes: DEFAULT_SESSION_BUDGET })).open();
    this.fids = new FidTable(options.maxFids ?? 4096, this.account);
    this.account.charge(maxMsize); // the frame reader's buffer
    this.maxInFlight = options.maxInFlight ?? 256;
    this.reader = new FrameReader(flow, maxMsize);
    this.writer = new ReplyWriter(flow, this.account, options.trace, () => this.wake());
  }

  /** Requests being handled plus replies not yet written: what backpressure counts. */
  private get outstanding(): number {
    return this.handling + this.writer.inWrite;
  }

  /** Lets the read loop (or the end of the session) look again at what is outstanding. */
  private wake(): void {
    const w = this.slotWaiter;
    this.slotWaiter = undefined;
    w?.();
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

  /** Serves the connection until it ends; never rejects. */
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
        while (this.outstanding >= this.maxInFlight || (this.writer.queuedBytes > 0 && this.account.over)) {
          await new Promise<void>((r) => (this.slotWaiter = r));
        }
        if (this.writer.failure) {
          outcome = 'error';
          error = this.writer.failure;
          break;
        }
        // Frames already read (a pipelined burst, or the rest of a socket read) are taken
        // synchronously; the reader's promise path only serves the end, errors and oversize.
        let polled = this.reader.poll();
        while (polled === 'more') {
          await this.reader.readable();
          polled = this.reader.poll();
        }
        const ev = polled ?? (await this.reader.next());
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
    this.writer.sessionEnded = true;
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
      bytesWritten: this.writer.bytesWritten,
    };
  }

  private async releaseAll(): Promise<void> {
    await Promise.all(this.fids.clear().map((e) => this.releaseEntry(e, false)));
  }

  async releaseEntry(e: FidEntry, removeOnClunk: boolean): Promise<FsResult<void> | undefined> {
    dropListing(this.account, e.open);
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
  // What handlers use (RequestContext)

  get iounit(): number {
    return this.msize - IOHDRSZ;
  }

  entry(fid: number): FsResult<FidEntry> {
    const e = this.fids.get(fid);
    return e ? { ok: true, value: e } : { ok: false, error: fsError('EBADF', `unknown fid ${fid}`) };
  }

  dirEntry(fid: number, name: string): FsResult<FidEntry> {
    const e = this.entry(fid);
    if (!e.ok) return e;
    if (!(e.value.qid.type & QT.DIR)) return { ok: false, error: fsError('ENOTDIR') };
    if (badName(name)) return { ok: false, error: fsError('EINVAL', `invalid name ${JSON.stringify(name)}`) };
    if (Buffer.byteLength(name) > 255) return { ok: false, error: fsError('ENAMETOOLONG') };
    return e;
  }

  errorReply(tag: number, e: FsError): Reply {
    this.errors++;
    if (this.dialect === '9P2000.L') return { type: 'Rlerror', tag, ecode: e.errno };
    return { type: 'Rerror', tag, ename: e.message, errno: e.errno };
  }

  fail(tag: number, e: FsError): Outcome {
    return { reply: this.errorReply(tag, e) };
  }

  takeBuffer(): Buffer {
    return this.writer.takeBuffer(this.msize);
  }

  releaseBuffer(buffer: Buffer): void {
    this.writer.release(buffer);
  }

  // -------------------------------------------------------------------------------------------
  // Replies, dispatch, Tflush, Tversion

  private send(reply: Reply): void {
    this.writer.send(reply, this.dialect ?? '9P2000');
    this.options.busyPoll?.replied();
  }

  private sendError(tag: number, e: FsError): void {
    this.send(this.errorReply(tag, e));
  }

  private dispatch(frame: Uint8Array): void {
    this.options.busyPoll?.requested();
    // Tread (code 116, 23 bytes) first: it is most of what a busy server sees.
    if (frame[4] === 116 && frame.length === 23 && this.dialect !== undefined && !this.options.trace && this.readFast(frame)) return;
    if (frame[4] === 118 && frame.length >= 23 && this.dialect !== undefined && !this.options.trace && this.writeFast(frame)) return;
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
    traceSafely(this.options.trace, 'in', msg);
    if (msg.type[0] !== 'T') {
      this.sendError(msg.tag, fsError('EPROTO', `${msg.type} is not a request`));
      return;
    }
    if (msg.type === 'Tflush') {
      this.flush(msg.tag, msg.oldtag);
      return;
    }
    if (this.inflight.has(msg.tag) || msg.tag === 0xffff) {
      this.sendError(msg.tag, fsError('EINVAL', `tag ${msg.tag} is already in use`));
      return;
    }
    const pending = this.track(msg.tag);
    let result: Outcome | Promise<Outcome>;
    try {
      // A read the back end completes synchronously is answered right here, without a trip
      // through the promise queue (diodcat keeps one read in flight: latency is throughput).
      result = msg.type === 'Tread' ? readNow(this, msg, pending) : handle(this, msg as Message, pending);
    } catch (e) {
      result = this.serverError(msg.tag, e);
    }
    this.settle(msg.tag, pending, result);
  }

  /**
   * A Tread of an open file whose back end reads in place, answered without decoding it into a
   * message: when the read completes synchronously the reply is written before the next
   * request is looked at, so no Tflush can come between and the request needs no entry among
   * those in flight. False when the general path must answer (any other case, or an error it
   * words). The frame is the exact size of a Tread, so its fields are where they are read from.
   */
  private readFast(frame: Uint8Array): boolean {
    const tag = frame[5]! | (frame[6]! << 8);
    const high = u32At(frame, 15);
    // The offset must be a safe integer (below 2^53): high word below 2^21.
    if (tag === 0xffff || high >= 0x200000 || this.inflight.has(tag)) return false;
    const open = this.fids.get(u32At(frame, 7))?.open;
    if (open?.kind !== 'file' || !open.read || !open.file.readInto) return false;
    const count = Math.min(u32At(frame, 19), this.msize - RREAD_HEADER);
    if (count <= 0) return false;
    let result: Outcome | Promise<Outcome>;
    try {
      result = readIntoFrame(this, tag, open.file, high * 0x100000000 + u32At(frame, 11), count);
    } catch (e) {
      result = this.serverError(tag, e);
    }
    if (result instanceof Promise) {
      this.settle(tag, this.track(tag), result);
    } else if (result.frame) {
      this.writer.sendReadFrame(tag, result.frame);
      this.options.busyPoll?.replied();
    } else {
      this.send(result.reply);
    }
    return true;
  }

  /**
   * A Twrite of an open file whose back end has `writeNow`, answered without decoding it into a
   * message; like `readFast`, a write that completes synchronously is answered before the next
   * request is looked at. False when the general path must answer (it words the errors).
   */
  private writeFast(frame: Uint8Array): boolean {
    const tag = frame[5]! | (frame[6]! << 8);
    const high = u32At(frame, 15);
    if (tag === 0xffff || high >= 0x200000 || u32At(frame, 19) !== frame.length - 23 || this.inflight.has(tag)) return false;
    const open = this.fids.get(u32At(frame, 7))?.open;
    if (open?.kind !== 'file' || !open.write || !open.file.writeNow) return false;
    let result: FsResult<number> | Promise<FsResult<number>>;
    try {
      result = open.file.writeNow(high * 0x100000000 + u32At(frame, 11), frame.subarray(23));
    } catch (e) {
      this.send(this.serverError(tag, e).reply);
      return true;
    }
    if (result instanceof Promise) {
      this.settle(tag, this.track(tag), result.then((w) => this.written(tag, w)));
    } else {
      this.send(this.written(tag, result).reply);
    }
    return true;
  }

  /** The Rwrite (or error) for a write's outcome. */
  private written(tag: number, w: FsResult<number>): Outcome {
    return w.ok ? { reply: { type: 'Rwrite', tag, count: w.value } } : this.fail(tag, w.error);
  }

  /** Enters a request among those in flight (Tflush can find it) until `settle` finishes it. */
  private track(tag: number): Pending {
    const pending = new Pending();
    this.inflight.set(tag, pending);
    this.handling++;
    return pending;
  }

  private serverError(tag: number, e: unknown): Outcome {
    return this.fail(tag, fsError('EIO', `server error: ${String(e)}`));
  }

  /** Sends (or, if it was flushed meanwhile, drops and rolls back) a tracked request's outcome. */
  private settle(tag: number, pending: Pending, result: Outcome | Promise<Outcome>): void {
    if (result instanceof Promise) {
      void result.then(
        (o) => this.finish(tag, pending, o),
        (e: unknown) => this.finish(tag, pending, this.serverError(tag, e)),
      );
    } else this.finish(tag, pending, result);
  }

  private finish(tag: number, pending: Pending, outcome: Outcome): void {
    this.handling--;
    if (pending.flushed) {
      outcome.rollback?.();
      if (outcome.frame) this.releaseBuffer(outcome.frame.buffer);
    } else {
      this.inflight.delete(tag);
      const override = outcome.commit?.();
      if (override) {
        if (outcome.frame) this.releaseBuffer(outcome.frame.buffer);
        this.send(override);
      } else if (outcome.frame) {
        this.writer.sendFrame(outcome.reply, outcome.frame, this.dialect ?? '9P2000');
        this.options.busyPoll?.replied();
      } else {
        this.send(outcome.reply);
      }
    }
    this.wake();
  }

  private flush(tag: number, oldtag: number): void {
    this.flushes++;
    const p = this.inflight.get(oldtag);
    if (p) {
      // flush(5): the flushed request is treated as never sent: no reply, fid changes undone.
      p.flushed = true;
      p.abort();
      this.inflight.delete(oldtag);
    }
    // Writes are ordered, so a reply already sent for oldtag precedes this Rflush.
    this.send({ type: 'Rflush', tag });
  }

  private version(frame: Uint8Array, tag: number): void {
    const decoded = decode(frame, '9P2000');
    if (!decoded.ok || decoded.value.type !== 'Tversion') {
      this.send({ type: 'Rerror', tag, ename: decoded.ok ? 'bad Tversion' : decoded.error.message });
      this.errors++;
      return;
    }
    const m = decoded.value;
    traceSafely(this.options.trace, 'in', m);
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
}
