// The client's session layer: one connection's Tversion and Tattach, tags (allocation, reuse
// only after a reply or Rflush), the reply loop that matches replies to requests, Tflush on
// abort, per-request deadlines, fid numbers, and the end of the session (close, abort,
// `await using`). Everything above it is requests: rpc/call send one, walk/clunk manage fids;
// the path API that Client9p adds (client.ts) is built on those alone.
import * as os from 'node:os';
import { DISPOSE_TIMEOUT_MS, err, type Flow, FlowError, ok, type Result } from '@flow/core';
import { decode, encode } from '../wire/codec';
import { type Dialect, IOHDRSZ, MAXWELEM, NOFID, NONUNAME, NOTAG } from '../wire/constants';
import { FrameReader } from '../wire/frame-reader';
import type { MessageType } from '../wire/schema';
import type { MessageOf, Reply, Request } from '../wire/types';
import { oversizeReplyError, remoteError } from './errors';
import type { Connect9pOptions, UntaggedRequest } from './options';

interface PendingRpc {
  resolve(r: Result<Reply, FlowError>): void;
  /** A Tflush for this tag is out: keep the tag reserved until the Rflush. */
  flushing: boolean;
  replied: boolean;
}

/** The smallest msize the client accepts. */
export const MIN_CLIENT_MSIZE = 4096;
/** The longest delay a Node timer keeps (2^31 - 1 ms); a longer one would fire at once. */
const MAX_TIMER_MS = 0x7fffffff;

function defaultUname(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'nobody';
  }
}

/** One client connection: tags, fids, requests and replies (Client9p adds the path API). */
export class RpcSession {
  private reader: FrameReader;
  private dialectValue: Dialect = '9P2000';
  private msizeValue: number;
  private readonly pending = new Map<number, PendingRpc>();
  private readonly freeTags: number[] = [];
  private nextTag = 0;
  private readonly tagWaiters: (() => void)[] = [];
  private readonly maxTags: number;
  private readonly freeFids: number[] = [];
  private nextFid = 1;
  private fidsInUse = 0;
  private readonly maxFids: number;
  /** Reads or writes in flight per transfer. */
  protected readonly window: number;
  private failure: FlowError | undefined;
  /** The fid Tattach binds: where every walk starts. */
  protected readonly rootFid = 0;
  private versionWaiter: ((r: Result<Reply, FlowError>) => void) | undefined;
  private closing: Promise<Result<void, FlowError>> | undefined;

  constructor(
    private readonly flow: Flow,
    private readonly options: Connect9pOptions,
    msize: number,
  ) {
    this.msizeValue = msize;
    this.reader = new FrameReader(flow, msize, false);
    this.maxTags = Math.min(options.maxTags ?? 1024, 0xffff);
    this.maxFids = options.maxFids ?? 1024;
    this.window = Math.max(1, options.window ?? 8);
    const deadline = options.requestTimeoutMs;
    if (deadline !== undefined && !(Number.isSafeInteger(deadline) && deadline >= 1 && deadline <= MAX_TIMER_MS)) {
      throw new RangeError(`requestTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`);
    }
  }

  /**
   * Arms the request deadline for `what`; the returned function disarms it (call it with the
   * reply). Without a deadline, a no-op.
   */
  private armDeadline(what: string): () => void {
    const ms = this.options.requestTimeoutMs;
    if (ms === undefined) return () => undefined;
    const timer = setTimeout(() => {
      const error = new FlowError('timeout', `the 9P server did not answer ${what} within ${ms} ms`, { code: 'ETIMEDOUT' });
      this.fail(error);
      this.flow.abort(error);
    }, ms);
    return () => clearTimeout(timer);
  }

  /** The negotiated dialect. */
  get dialect(): Dialect {
    return this.dialectValue;
  }
  /** The negotiated msize. */
  get msize(): number {
    return this.msizeValue;
  }
  /** Largest payload of one Tread/Twrite. */
  get iounit(): number {
    return this.msizeValue - IOHDRSZ;
  }

  /** Negotiates the dialect and msize (Tversion, falling back on "unknown"), then attaches. */
  async start(): Promise<Result<void, FlowError>> {
    void this.readLoop();
    const wanted: Dialect[] = this.options.version ? [this.options.version] : ['9P2000.L', '9P2000.u', '9P2000'];
    let chosen: Dialect | undefined;
    for (const v of wanted) {
      const r = await this.versionRpc(v);
      if (!r.ok) return r;
      if (r.value.version === 'unknown') continue;
      if (r.value.version !== v) return err(new FlowError('protocol', `server answered version ${JSON.stringify(r.value.version)} to ${v}`));
      if (r.value.msize > this.msizeValue || r.value.msize < MIN_CLIENT_MSIZE) {
        return err(new FlowError('protocol', `server msize ${r.value.msize} is outside ${MIN_CLIENT_MSIZE}..${this.msizeValue}`));
      }
      chosen = v;
      this.msizeValue = r.value.msize;
      this.reader.maxSize = r.value.msize;
      break;
    }
    if (!chosen) return err(new FlowError('unsupported', `server speaks none of ${wanted.join(', ')}`));
    this.dialectValue = chosen;
    this.fidsInUse = 1;
    const a = await this.call(
      {
        type: 'Tattach',
        fid: this.rootFid,
        afid: NOFID,
        uname: this.options.uname ?? defaultUname(),
        aname: this.options.aname ?? '',
        nUname: this.options.nUname ?? process.getuid?.() ?? NONUNAME,
      },
      'Rattach',
    );
    return a.ok ? ok(undefined) : a;
  }

  private versionRpc(version: Dialect): Promise<Result<MessageOf<'Rversion'>, FlowError>> {
    return new Promise((resolve) => {
      const disarm = this.armDeadline('Tversion');
      this.versionWaiter = (r) => {
        disarm();
        if (!r.ok) resolve(r);
        else if (r.value.type === 'Rversion') resolve(ok(r.value));
        else if (r.value.type === 'Rerror') resolve(err(remoteError('Tversion', r.value.errno ?? 0, r.value.ename)));
        else resolve(err(new FlowError('protocol', `unexpected ${r.value.type} to Tversion`)));
      };
      void this.flow.write(encode({ type: 'Tversion', tag: NOTAG, msize: this.msizeValue, version }, '9P2000')).then((w) => {
        if (!w.ok) this.fail(w.error);
      });
    });
  }

  private async readLoop(): Promise<void> {
    for (;;) {
      const ev = await this.reader.next();
      if (ev.kind === 'end') return this.fail(new FlowError('closed', '9P server closed the connection'));
      if (ev.kind === 'error') return this.fail(ev.error);
      if (ev.kind === 'oversize') return this.fail(oversizeReplyError(ev.size, this.reader.maxSize, ev.head));
      const frame = ev.frame;
      if (frame[4] === 101 || (this.versionWaiter && frame[4] === 107)) {
        const r = decode(frame, '9P2000');
        const w = this.versionWaiter;
        this.versionWaiter = undefined;
        if (w) w(r.ok ? ok(r.value as Reply) : r);
        continue;
      }
      const r = decode(frame, this.dialectValue);
      if (!r.ok) return this.fail(r.error);
      const msg = r.value;
      const p = this.pending.get(msg.tag);
      // A reply to a tag we did not use is a broken server; drop the connection.
      if (!p || msg.type[0] !== 'R') return this.fail(new FlowError('protocol', `unexpected ${msg.type} for tag ${msg.tag}`));
      if (p.replied) return this.fail(new FlowError('protocol', `second reply for tag ${msg.tag}`));
      p.replied = true;
      if (!p.flushing) this.releaseTag(msg.tag);
      p.resolve(ok(msg as Reply));
    }
  }

  private fail(error: FlowError): void {
    if (this.failure) return;
    this.failure = error;
    const w = this.versionWaiter;
    this.versionWaiter = undefined;
    w?.(err(error));
    for (const p of this.pending.values()) if (!p.replied) p.resolve(err(error));
    this.pending.clear();
    for (const w2 of this.tagWaiters.splice(0)) w2();
  }

  /** Aborts the connection at once. */
  abort(reason?: unknown): void {
    this.fail(reason instanceof FlowError ? reason : new FlowError('aborted', 'client aborted'));
    this.flow.abort(reason);
  }

  private async allocTag(): Promise<number | undefined> {
    for (;;) {
      if (this.failure) return undefined;
      const t = this.freeTags.pop();
      if (t !== undefined) return t;
      if (this.nextTag < this.maxTags) return this.nextTag++;
      await new Promise<void>((r) => this.tagWaiters.push(r));
    }
  }

  private releaseTag(tag: number): void {
    this.pending.delete(tag);
    this.freeTags.push(tag);
    this.tagWaiters.shift()?.();
  }

  /**
   * Sends one request and resolves with its reply (error replies included). With a signal,
   * aborting sends Tflush: the result is `aborted` unless the reply arrived first, in which case
   * it is returned (the server acted on it).
   */
  async rpc(req: UntaggedRequest, signal?: AbortSignal): Promise<Result<Reply, FlowError>> {
    if (req.type === 'Tversion' || req.type === 'Tflush') throw new TypeError(`${req.type} is managed by the client`);
    if (signal?.aborted) return err(new FlowError('aborted', 'aborted before sending'));
    const tag = await this.allocTag();
    if (tag === undefined) return err(this.failure!);
    return new Promise<Result<Reply, FlowError>>((resolve) => {
      const disarm = this.armDeadline(req.type);
      const entry: PendingRpc = {
        resolve: (r) => {
          disarm();
          resolve(r);
        },
        flushing: false,
        replied: false,
      };
      this.pending.set(tag, entry);
      const frame = encode({ ...req, tag } as Request, this.dialectValue);
      void this.flow.write(frame).then((w) => {
        if (!w.ok) this.fail(w.error);
      });
      if (!signal) return;
      const onAbort = (): void => {
        if (entry.replied || this.failure) return;
        entry.flushing = true;
        void this.flushTag(tag, entry);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done = entry.resolve;
      entry.resolve = (r) => {
        signal.removeEventListener('abort', onAbort);
        done(r);
      };
    });
  }

  private async flushTag(oldtag: number, old: PendingRpc): Promise<void> {
    const tag = await this.allocTag();
    if (tag === undefined) return;
    const entry: PendingRpc = {
      flushing: false,
      replied: false,
      resolve: () => {
        // flush(5): oldtag may be reused only after the Rflush.
        if (!old.replied) {
          old.replied = true;
          old.resolve(err(new FlowError('aborted', 'request flushed')));
        }
        this.releaseTag(oldtag);
      },
    };
    this.pending.set(tag, entry);
    void this.flow.write(encode({ type: 'Tflush', tag, oldtag }, this.dialectValue)).then((w) => {
      if (!w.ok) this.fail(w.error);
    });
  }

  /** One request whose reply must be of type `want`; an error reply becomes a FlowError. */
  async call<T extends MessageType>(req: UntaggedRequest, want: T, signal?: AbortSignal): Promise<Result<MessageOf<T>, FlowError>> {
    const r = await this.rpc(req, signal);
    if (!r.ok) return r;
    const m = r.value;
    if (m.type === want) return ok(m as unknown as MessageOf<T>);
    if (m.type === 'Rlerror') return err(remoteError(req.type, m.ecode));
    if (m.type === 'Rerror') return err(remoteError(req.type, m.errno ?? 0, m.ename));
    return err(new FlowError('protocol', `${req.type} answered with ${m.type}`));
  }

  // -------------------------------------------------------------------------------------------
  // Fids and walks

  private allocFid(): Result<number, FlowError> {
    if (this.fidsInUse >= this.maxFids) return err(new FlowError('limit', `all ${this.maxFids} fids are in use`));
    this.fidsInUse++;
    const f = this.freeFids.pop();
    if (f !== undefined) return ok(f);
    return ok(this.nextFid++);
  }

  /** Makes a fid number free again without a Tclunk (the server already let it go: Tremove). */
  protected freeFid(fid: number): void {
    this.fidsInUse--;
    this.freeFids.push(fid);
  }

  /** Clunks a fid; the fid is free again whatever the reply (clunk(5)). */
  async clunk(fid: number): Promise<Result<void, FlowError>> {
    const r = await this.call({ type: 'Tclunk', fid }, 'Rclunk');
    this.freeFid(fid);
    return r.ok ? ok(undefined) : r;
  }

  /**
   * Walks from the root to `names` into a new fid, splitting walks longer than 16 names.
   * A partial walk is an error (not-found); no fid is left bound on failure.
   */
  async walk(names: readonly string[], signal?: AbortSignal): Promise<Result<number, FlowError>> {
    const a = this.allocFid();
    if (!a.ok) return a;
    const fid = a.value;
    let bound = false;
    let done = 0;
    do {
      const chunk = names.slice(done, done + MAXWELEM);
      const r = await this.call({ type: 'Twalk', fid: bound ? fid : this.rootFid, newfid: fid, wnames: chunk }, 'Rwalk', signal);
      if (r.ok && r.value.qids.length === chunk.length) {
        bound = true;
        done += chunk.length;
        if (signal?.aborted) break;
        continue;
      }
      if (bound) await this.clunk(fid);
      else this.freeFid(fid);
      if (!r.ok) return r;
      const missing = names[done + r.value.qids.length] ?? '';
      return err(new FlowError('not-found', `walk: ${JSON.stringify(missing)} not found`, { code: 'ENOENT', syscall: 'Twalk' }));
    } while (done < names.length);
    if (signal?.aborted) {
      await this.clunk(fid);
      return err(new FlowError('aborted', 'walk aborted'));
    }
    return ok(fid);
  }

  // -------------------------------------------------------------------------------------------
  // The end of the session

  /** Ends the session: outstanding requests fail with `closed`, then the flow is closed. */
  close(): Promise<Result<void, FlowError>> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      const wasFailed = this.failure;
      this.fail(new FlowError('closed', 'client closed'));
      if (wasFailed && wasFailed.kind !== 'closed') {
        this.flow.abort();
        return ok(undefined);
      }
      const r = await this.flow.close({ timeoutMs: 5000 });
      return r.ok ? ok(undefined) : r;
    })();
    return this.closing;
  }

  /**
   * `await using client = ...`: `close`, bounded by core's `DISPOSE_TIMEOUT_MS`, then abort if the
   * close handshake has not finished (or failed). Never rejects: a dispose that threw would
   * replace the error that made the scope exit.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), DISPOSE_TIMEOUT_MS)));
    try {
      const r = await Promise.race([this.close(), late]);
      if (r === 'late') this.abort(new FlowError('timeout', `the 9P session did not close within ${DISPOSE_TIMEOUT_MS} ms`));
      else if (!r.ok) this.abort(r.error);
    } catch (error) {
      this.abort(error);
    } finally {
      clearTimeout(timer);
    }
  }
}
