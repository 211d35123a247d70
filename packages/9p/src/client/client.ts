import * as os from 'node:os';
import { err, type Flow, FlowError, fromNodeError, ok, type Result } from '@flow/core';
import { decode, decodeDirents, decodeStats, encode } from '../wire/codec';
import {
  type Dialect,
  DM,
  GETATTR,
  IOHDRSZ,
  LFLAGS,
  MAXWELEM,
  NOFID,
  NONUNAME,
  NOTAG,
  OMODE,
  QT,
  S_IF,
} from '../wire/constants';
import { FrameReader } from '../wire/frame-reader';
import type { MessageType } from '../wire/schema';
import type { MessageOf, Qid, Reply, Request } from '../wire/types';
import { oversizeReplyError, remoteError } from './errors';
import { openFileFlow, type FileFlowOptions } from './file-flow';

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

export interface FileStat {
  readonly name: string;
  readonly type: 'file' | 'directory' | 'symlink' | 'other';
  /** Permission bits (0o7777). */
  readonly mode: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly qid: Qid;
}

export interface DirectoryEntry {
  readonly name: string;
  readonly type: FileStat['type'];
  readonly qid: Qid;
}

/** A request without its tag (the client assigns tags). */
export type UntaggedRequest = Request extends infer R ? (R extends Request ? Omit<R, 'tag'> : never) : never;

interface PendingRpc {
  resolve(r: Result<Reply, FlowError>): void;
  /** A Tflush for this tag is out: keep the tag reserved until the Rflush. */
  flushing: boolean;
  replied: boolean;
}

/** What a `readStream` consumer answers: nothing to go on, or an error result to stop with. */
export type StreamStep = void | Result<void, FlowError>;

/** Runs a caller's step; a throw or an error result becomes an error value that names `what`. */
async function runStep(step: () => StreamStep | Promise<StreamStep>, what: string): Promise<Result<void, FlowError>> {
  try {
    const r = await step();
    return r === undefined || r.ok ? ok(undefined) : r;
  } catch (cause) {
    return err(cause instanceof FlowError ? cause : fromNodeError(cause, what));
  }
}

const MIN_CLIENT_MSIZE = 4096;
/** The longest delay a Node timer keeps (2^31 - 1 ms); a longer one would fire at once. */
const MAX_TIMER_MS = 0x7fffffff;

function typeOfQid(qid: Qid): FileStat['type'] {
  if (qid.type & QT.DIR) return 'directory';
  if (qid.type & QT.SYMLINK) return 'symlink';
  return 'file';
}

function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

function defaultUname(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'nobody';
  }
}

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

export class Client9p {
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
  private readonly window: number;
  private failure: FlowError | undefined;
  private readonly rootFid = 0;
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

  private freeFid(fid: number): void {
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

  private async withFid<T>(path: string, fn: (fid: number) => Promise<Result<T, FlowError>>, signal?: AbortSignal): Promise<Result<T, FlowError>> {
    const w = await this.walk(splitPath(path), signal);
    if (!w.ok) return w;
    const r = await fn(w.value);
    await this.clunk(w.value);
    return r;
  }

  private async openFid(fid: number, how: 'read' | 'write' | 'write-trunc'): Promise<Result<number, FlowError>> {
    if (this.dialectValue === '9P2000.L') {
      const flags = how === 'read' ? LFLAGS.RDONLY : how === 'write' ? LFLAGS.WRONLY : LFLAGS.WRONLY | LFLAGS.TRUNC;
      const r = await this.call({ type: 'Tlopen', fid, flags }, 'Rlopen');
      return r.ok ? ok(r.value.iounit) : r;
    }
    const mode = how === 'read' ? OMODE.READ : how === 'write' ? OMODE.WRITE : OMODE.WRITE | OMODE.TRUNC;
    const r = await this.call({ type: 'Topen', fid, mode }, 'Ropen');
    return r.ok ? ok(r.value.iounit) : r;
  }

  private chunkSize(iounit: number): number {
    const max = this.msizeValue - IOHDRSZ;
    return iounit > 0 && iounit < max ? iounit : max;
  }

  // -------------------------------------------------------------------------------------------
  // The path API

  async stat(path: string): Promise<Result<FileStat, FlowError>> {
    const names = splitPath(path);
    const name = names[names.length - 1] ?? '/';
    return this.withFid(path, async (fid) => {
      if (this.dialectValue === '9P2000.L') {
        const r = await this.call({ type: 'Tgetattr', fid, requestMask: GETATTR.BASIC }, 'Rgetattr');
        if (!r.ok) return r;
        const v = r.value;
        const t = v.mode & S_IF.MT;
        return ok({
          name,
          type: t === S_IF.DIR ? 'directory' : t === S_IF.LNK ? 'symlink' : t === S_IF.REG ? 'file' : 'other',
          mode: v.mode & 0o7777,
          size: Number(v.size),
          mtimeMs: Number(v.mtimeSec) * 1000 + Math.floor(Number(v.mtimeNsec) / 1e6),
          uid: v.uid,
          gid: v.gid,
          qid: v.qid,
        } satisfies FileStat);
      }
      const r = await this.call({ type: 'Tstat', fid }, 'Rstat');
      if (!r.ok) return r;
      const s = r.value.stat;
      const type: FileStat['type'] =
        s.mode & DM.DIR ? 'directory' : s.mode & DM.SYMLINK ? 'symlink' : s.mode & (DM.DEVICE | DM.NAMEDPIPE | DM.SOCKET) ? 'other' : 'file';
      const num = (x: string, n: number | undefined): number | undefined =>
        n !== undefined && n !== NONUNAME ? n : /^\d+$/.test(x) ? Number(x) : undefined;
      return ok({
        name,
        type,
        mode: s.mode & 0o777,
        size: Number(s.length),
        mtimeMs: s.mtime * 1000,
        uid: num(s.uid, s.nUid),
        gid: num(s.gid, s.nGid),
        qid: s.qid,
      } satisfies FileStat);
    });
  }

  async readdir(path: string): Promise<Result<DirectoryEntry[], FlowError>> {
    return this.withFid(path, async (fid) => {
      const o = await this.openFid(fid, 'read');
      if (!o.ok) return o;
      const out: DirectoryEntry[] = [];
      const count = this.msizeValue - IOHDRSZ;
      let offset = 0n;
      for (;;) {
        if (this.dialectValue === '9P2000.L') {
          const r = await this.call({ type: 'Treaddir', fid, offset, count }, 'Rreaddir');
          if (!r.ok) return r;
          if (r.value.data.length === 0) break;
          const d = decodeDirents(r.value.data);
          if (!d.ok) return d;
          for (const e of d.value) {
            if (e.name !== '.' && e.name !== '..') out.push({ name: e.name, type: typeOfQid(e.qid), qid: e.qid });
            offset = e.offset;
          }
        } else {
          const r = await this.call({ type: 'Tread', fid, offset, count }, 'Rread');
          if (!r.ok) return r;
          if (r.value.data.length === 0) break;
          const d = decodeStats(r.value.data, this.dialectValue === '9P2000.u' ? '9P2000.u' : '9P2000');
          if (!d.ok) return d;
          for (const s of d.value) {
            // .u servers (QEMU's, ours) list a Unix directory's '.' and '..'; .L's are skipped too.
            if (s.name === '.' || s.name === '..') continue;
            const type: FileStat['type'] = s.mode & DM.DIR ? 'directory' : s.mode & DM.SYMLINK ? 'symlink' : 'file';
            out.push({ name: s.name, type, qid: s.qid });
          }
          offset += BigInt(r.value.data.length);
        }
      }
      return ok(out);
    });
  }

  /**
   * Reads `path` from start to end and hands `onData` each piece in order, waiting for it before
   * reading on, so memory stays at `window` pieces of one iounit whatever the file's size. Up to
   * `window` Treads are in flight. `onData` may return an error result (or throw) to stop.
   * Resolves with the number of bytes read; `maxBytes` bounds it with a `limit` error.
   */
  async readStream(
    path: string,
    onData: (data: Uint8Array) => StreamStep | Promise<StreamStep>,
    options: { signal?: AbortSignal; maxBytes?: number } = {},
  ): Promise<Result<number, FlowError>> {
    const signal = options.signal;
    const maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
    return this.withFid(
      path,
      async (fid) => {
        const o = await this.openFid(fid, 'read');
        if (!o.ok) return o;
        const chunk = this.chunkSize(o.value);
        let offset = 0;
        for (;;) {
          // Pipeline a window of reads; on a short read, later answers are discarded and reading
          // continues from where the short one ended, so any server's semantics are honoured.
          const batch: Promise<Result<MessageOf<'Rread'>, FlowError>>[] = [];
          for (let i = 0; i < this.window; i++) {
            batch.push(this.call({ type: 'Tread', fid, offset: BigInt(offset + i * chunk), count: chunk }, 'Rread', signal));
          }
          const results = await Promise.all(batch);
          let eof = false;
          for (const r of results) {
            if (!r.ok) return r;
            const data = r.value.data;
            if (data.length > chunk) return err(new FlowError('protocol', `Rread returned ${data.length} bytes for ${chunk}`));
            if (data.length === 0) {
              eof = true;
              break;
            }
            if (offset + data.length > maxBytes) return err(new FlowError('limit', `${path} is larger than ${maxBytes} bytes`));
            const step = await runStep(() => onData(Buffer.from(data)), 'readStream: the consumer of the data failed');
            if (!step.ok) return step;
            offset += data.length;
            if (data.length < chunk) break;
          }
          if (signal?.aborted) return err(new FlowError('aborted', 'readStream aborted'));
          if (eof) return ok(offset);
        }
      },
      signal,
    );
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
  async writeStream(path: string, source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Result<number, FlowError>> {
    const opened = await this.openForWriting(path);
    if (!opened.ok) return opened;
    const { fid, iounit } = opened.value;
    const chunk = this.chunkSize(iounit);
    const want = this.window * chunk;
    const iterator: Iterator<Uint8Array> | AsyncIterator<Uint8Array> =
      Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
    let staged: Uint8Array = new Uint8Array(0);
    let written = 0;
    let ended = false;
    let sourceFailure: FlowError | undefined;
    let writeFailure: FlowError | undefined;
    while (!writeFailure) {
      // Take from the source until a window's worth is staged (or it ended or failed).
      const pieces: Uint8Array[] = staged.length > 0 ? [staged] : [];
      let stagedBytes = staged.length;
      while (!ended && stagedBytes < want) {
        const next = await runStep(async () => {
          const n = await iterator.next();
          if (n.done) ended = true;
          else {
            if (!(n.value instanceof Uint8Array)) throw new TypeError('writeStream: the source must yield Uint8Arrays');
            if (n.value.length > 0) pieces.push(n.value);
            stagedBytes += n.value.length;
          }
        }, 'writeStream: the source of the data failed');
        if (!next.ok) {
          // What the source gave before it failed is still written: nothing taken is lost.
          sourceFailure = next.error;
          ended = true;
        }
      }
      staged = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
      if (staged.length === 0) break;
      const round = await this.writeRound(fid, chunk, staged.subarray(0, Math.min(want, staged.length)), written);
      if (!round.ok) {
        writeFailure = round.error;
        break;
      }
      written += round.value;
      staged = staged.subarray(round.value);
    }
    if (writeFailure && !ended) await runStep(async () => void (await iterator.return?.()), 'writeStream: closing the source');
    const failure = writeFailure ?? sourceFailure;
    const c = await this.clunk(fid);
    if (failure) return err(failure);
    return c.ok ? ok(written) : c;
  }

  /** Creates or truncates `path` and writes `data` with pipelined Twrites. */
  async writeFile(path: string, data: Uint8Array): Promise<Result<void, FlowError>> {
    const r = await this.writeStream(path, [data]);
    return r.ok ? ok(undefined) : r;
  }

  /** Walks to `path` and opens it truncated for writing, or creates it (mode 0644) if missing. */
  private async openForWriting(path: string): Promise<Result<{ fid: number; iounit: number }, FlowError>> {
    const names = splitPath(path);
    const name = names.pop();
    if (name === undefined) return err(new FlowError('invalid', 'writing needs a file name'));
    const existing = await this.walk([...names, name]);
    if (existing.ok) {
      const fid = existing.value;
      const o = await this.openFid(fid, 'write-trunc');
      if (!o.ok) {
        await this.clunk(fid);
        return o;
      }
      return ok({ fid, iounit: o.value });
    }
    if (existing.error.kind !== 'not-found') return existing;
    const d = await this.walk(names);
    if (!d.ok) return d;
    const fid = d.value;
    const c =
      this.dialectValue === '9P2000.L'
        ? await this.call({ type: 'Tlcreate', fid, name, flags: LFLAGS.WRONLY | LFLAGS.TRUNC, mode: 0o644, gid: process.getgid?.() ?? 0 }, 'Rlcreate')
        : await this.call({ type: 'Tcreate', fid, name, perm: 0o644, mode: OMODE.WRITE, extension: '' }, 'Rcreate');
    if (!c.ok) {
      await this.clunk(fid);
      return c;
    }
    return ok({ fid, iounit: c.value.iounit });
  }

  /**
   * Writes all of `data` at file offset `base` in one or more pipelined batches of Twrites, and
   * resolves with the bytes the server accepted in a row from the start of `data`.
   */
  private async writeRound(fid: number, chunk: number, data: Uint8Array, base: number): Promise<Result<number, FlowError>> {
    let offset = 0;
    while (offset < data.length) {
      const batch: { at: number; len: number; p: Promise<Result<MessageOf<'Rwrite'>, FlowError>> }[] = [];
      for (let i = 0; i < this.window && offset + i * chunk < data.length; i++) {
        const at = offset + i * chunk;
        const piece = data.subarray(at, Math.min(at + chunk, data.length));
        batch.push({ at, len: piece.length, p: this.call({ type: 'Twrite', fid, offset: BigInt(base + at), data: piece }, 'Rwrite') });
      }
      for (const b of batch) {
        const r = await b.p;
        if (!r.ok) return r;
        if (r.value.count === 0) return err(new FlowError('io', 'server accepted no bytes'));
        if (b.at === offset) offset += Math.min(r.value.count, b.len);
        // A short write: what follows is rewritten from the new offset.
        if (r.value.count < b.len) break;
      }
    }
    return ok(offset);
  }

  async mkdir(path: string, mode = 0o755): Promise<Result<void, FlowError>> {
    const names = splitPath(path);
    const name = names.pop();
    if (name === undefined) return err(new FlowError('invalid', 'mkdir needs a name'));
    return this.withFid(names.join('/'), async (fid) => {
      if (this.dialectValue === '9P2000.L') {
        const r = await this.call({ type: 'Tmkdir', dfid: fid, name, mode, gid: process.getgid?.() ?? 0 }, 'Rmkdir');
        return r.ok ? ok(undefined) : r;
      }
      // Tcreate turns the fid into the new directory; withFid clunks it.
      const r = await this.call({ type: 'Tcreate', fid, name, perm: (DM.DIR | mode) >>> 0, mode: OMODE.READ, extension: '' }, 'Rcreate');
      return r.ok ? ok(undefined) : r;
    });
  }

  /** Creates a symbolic link `path` whose content is `target` (.L Tsymlink, .u Tcreate DMSYMLINK). */
  async symlink(path: string, target: string): Promise<Result<void, FlowError>> {
    const names = splitPath(path);
    const name = names.pop();
    if (name === undefined) return err(new FlowError('invalid', 'symlink needs a name'));
    if (this.dialectValue === '9P2000') return err(new FlowError('unsupported', '9P2000 has no symlinks'));
    return this.withFid(names.join('/'), async (fid) => {
      const r =
        this.dialectValue === '9P2000.L'
          ? await this.call({ type: 'Tsymlink', fid, name, symtgt: target, gid: process.getgid?.() ?? 0 }, 'Rsymlink')
          : await this.call({ type: 'Tcreate', fid, name, perm: (DM.SYMLINK | 0o777) >>> 0, mode: OMODE.READ, extension: target }, 'Rcreate');
      return r.ok ? ok(undefined) : r;
    });
  }

  /** The target of the symbolic link `path` (.L Treadlink, .u the stat extension). */
  async readlink(path: string): Promise<Result<string, FlowError>> {
    if (this.dialectValue === '9P2000') return err(new FlowError('unsupported', '9P2000 has no symlinks'));
    return this.withFid(path, async (fid) => {
      if (this.dialectValue === '9P2000.L') {
        const r = await this.call({ type: 'Treadlink', fid }, 'Rreadlink');
        return r.ok ? ok(r.value.target) : r;
      }
      const r = await this.call({ type: 'Tstat', fid }, 'Rstat');
      if (!r.ok) return r;
      if (!(r.value.stat.mode & DM.SYMLINK)) return err(new FlowError('invalid', `${path} is not a symlink`, { code: 'EINVAL' }));
      return ok(r.value.stat.extension ?? '');
    });
  }

  async remove(path: string): Promise<Result<void, FlowError>> {
    const w = await this.walk(splitPath(path));
    if (!w.ok) return w;
    const r = await this.call({ type: 'Tremove', fid: w.value }, 'Rremove');
    // remove(5): the fid is clunked even when the remove fails.
    this.freeFid(w.value);
    return r.ok ? ok(undefined) : r;
  }

  async rename(from: string, to: string): Promise<Result<void, FlowError>> {
    const a = splitPath(from);
    const b = splitPath(to);
    const oldName = a.pop();
    const newName = b.pop();
    if (oldName === undefined || newName === undefined) return err(new FlowError('invalid', 'rename needs two names'));
    if (this.dialectValue === '9P2000.L') {
      return this.withFid(a.join('/'), (od) =>
        this.withFid(b.join('/'), async (nd) => {
          const r = await this.call({ type: 'Trenameat', olddirfid: od, oldname: oldName, newdirfid: nd, newname: newName }, 'Rrenameat');
          if (r.ok) return ok(undefined);
          if (r.error.kind !== 'unsupported') return r;
          // protocol.md: a server without renameat gets Trename.
          return this.withFid([...a, oldName].join('/'), async (f) => {
            const rr = await this.call({ type: 'Trename', fid: f, dfid: nd, name: newName }, 'Rrename');
            return rr.ok ? ok(undefined) : rr;
          });
        }),
      );
    }
    if (a.join('/') !== b.join('/')) return err(new FlowError('unsupported', `${this.dialectValue} renames only within a directory`));
    return this.withFid(from, async (fid) => {
      const keep = { type: 0xffff, dev: NONUNAME, qid: { type: 0xff, version: NONUNAME, path: 0xffffffffffffffffn }, mode: NONUNAME, atime: NONUNAME, mtime: NONUNAME, length: 0xffffffffffffffffn, uid: '', gid: '', muid: '' };
      const stat = this.dialectValue === '9P2000.u' ? { ...keep, name: newName, extension: '', nUid: NONUNAME, nGid: NONUNAME, nMuid: NONUNAME } : { ...keep, name: newName };
      const r = await this.call({ type: 'Twstat', fid, stat }, 'Rwstat');
      return r.ok ? ok(undefined) : r;
    });
  }

  /**
   * Opens the file at `path` as a `Flow`: reads and writes at the stream position, EOF at the end
   * of a regular file or when a stream file's writer ended (see `FileFlowOptions`).
   */
  openFlow(path: string, options?: FileFlowOptions): Promise<Result<Flow, FlowError>> {
    return openFileFlow(this, path, options);
  }

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
}
