import {
  abortedError,
  createFlow,
  err,
  type Flow,
  type FlowCapabilities,
  FlowError,
  type FlowDriver,
  type InboundPort,
  ok,
  OK,
  type Result,
  type WriteResult,
} from '@flow/core';
import { IOHDRSZ, LFLAGS, OMODE, QT } from '../wire/constants';
import type { Client9p } from './client';

/**
 * A 9P file as a flow: reads are Treads at the read position, writes are Twrites at the write
 * position. Two kinds of file:
 * - `file`, a regular file: reading ends (EOF) at the first 0-byte Rread, i.e. at the end of
 *   the file as it is then. `shutdownWrite` waits for the outstanding Twrites and stops writing;
 *   a file has no peer to tell, so `close` does not wait for the reader to reach the end.
 * - `stream`, a file whose reads block until data comes (`flowFile` on the server, datakit's
 *   stream and ctl files): a 0-byte Rread means the server side ended its writing, and
 *   `shutdownWrite` sends a zero-length Twrite, the stream's end-of-stream mark.
 */
export interface FileFlowOptions {
  /**
   * How to open the file. Default `rw`, falling back to `read`, then `write`, when the server
   * refuses (a read-only file, a write-only one). A flow opened for reading only starts with its
   * write side shut; one opened for writing only reads EOF at once.
   */
  readonly mode?: 'rw' | 'read' | 'write';
  /** Truncate the file when opening it (only with writing). Default false. */
  readonly truncate?: boolean;
  /**
   * `auto` (default): a stream when the open reply's qid has QT.APPEND (what `flowFile` reports),
   * else a regular file.
   */
  readonly kind?: 'auto' | 'file' | 'stream';
  /** Where reading and writing start in a regular file. Default 0. */
  readonly offset?: number;
  /** Twrites in flight at once; when they are all outstanding, writes wait. Default 8. */
  readonly window?: number;
  /** Bytes read ahead for the reader before Treads stop. Default 256 KiB. */
  readonly highWaterMark?: number;
  /** The flow's `label` in messages and stats. Default `9p <kind> <path>`. */
  readonly label?: string;
  /**
   * The flow owns the 9P connection: releasing the flow closes the client, aborting it aborts
   * the client. For a connection opened just for this file (`flow connect 9p://…`).
   */
  readonly ownsClient?: boolean;
  /** Gives up walking and opening when it aborts. */
  readonly signal?: AbortSignal;
}

/** What a file flow supports, per kind. */
export function fileFlowCapabilities(kind: 'file' | 'stream'): FlowCapabilities {
  if (kind === 'stream') {
    return {
      halfCloseWrite: 'emulated',
      halfCloseRead: 'emulated',
      abort: 'rst',
      notes: [
        'shutdownWrite sends a zero-length Twrite; a 0-byte Rread is the server side’s end of stream',
        'abort flushes the outstanding requests and clunks the fid: the server side sees a reset',
      ],
    };
  }
  return {
    halfCloseWrite: 'emulated',
    halfCloseRead: 'emulated',
    abort: 'close',
    notes: [
      'a regular file has no peer: shutdownWrite waits for the outstanding writes and stops writing, nobody is told',
      'EOF is the end of the file when the reader gets there; abort leaves the file as far as it was written',
    ],
  };
}

type Access = 'rw' | 'read' | 'write';

interface Opened {
  readonly fid: number;
  readonly access: Access;
  readonly stream: boolean;
  readonly iounit: number;
}

/** Walks to `path`, opens it and returns it as a flow. Never rejects. */
export async function openFileFlow(client: Client9p, path: string, options: FileFlowOptions = {}): Promise<Result<Flow, FlowError>> {
  const offset = options.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError('offset must be a non-negative safe integer');
  const window = options.window ?? 8;
  if (!Number.isInteger(window) || window < 1) throw new RangeError('window must be a positive integer');
  const names = path.split('/').filter((n) => n !== '');
  const walked = await client.walk(names, options.signal);
  if (!walked.ok) return walked;
  const opened = await openFid(client, walked.value, options);
  if (!opened.ok) {
    await client.clunk(walked.value);
    return opened;
  }
  const o = opened.value;
  const kind = o.stream ? 'stream' : 'file';
  const label = options.label ?? `9p ${kind} ${names.join('/')}`;
  let driver!: FileFlowDriver;
  const flow = createFlow(
    (port) => {
      driver = new FileFlowDriver(client, port, o, offset, window, options.ownsClient === true);
      return driver;
    },
    {
      capabilities: fileFlowCapabilities(kind),
      label,
      highWaterMark: options.highWaterMark,
      writeClosed: o.access === 'read',
      // A regular file has no peer whose end to wait for: close flushes the writes and clunks,
      // however much of the file is still unread.
      closeWaitsForPeer: o.stream,
    },
  );
  driver.start();
  return ok(flow);
}

async function openFid(client: Client9p, fid: number, options: FileFlowOptions): Promise<Result<Opened, FlowError>> {
  const wanted = options.mode ?? 'rw';
  const tries: Access[] = options.mode ? [wanted] : ['rw', 'read', 'write'];
  let last: FlowError | undefined;
  for (const access of tries) {
    const truncate = options.truncate === true && access !== 'read';
    const r = await openOnce(client, fid, access, truncate, options.signal);
    if (r.ok) {
      const stream = options.kind === 'stream' || (options.kind !== 'file' && (r.value.qidType & QT.APPEND) !== 0);
      return ok({ fid, access, stream, iounit: r.value.iounit });
    }
    last = r.error;
    // Only a refusal of this access is worth another try; anything else is the answer.
    if (r.error.kind !== 'permission') return r;
  }
  return err(last as FlowError);
}

async function openOnce(
  client: Client9p,
  fid: number,
  access: Access,
  truncate: boolean,
  signal: AbortSignal | undefined,
): Promise<Result<{ qidType: number; iounit: number }, FlowError>> {
  if (client.dialect === '9P2000.L') {
    const base = access === 'rw' ? LFLAGS.RDWR : access === 'read' ? LFLAGS.RDONLY : LFLAGS.WRONLY;
    const r = await client.call({ type: 'Tlopen', fid, flags: base | (truncate ? LFLAGS.TRUNC : 0) }, 'Rlopen', signal);
    return r.ok ? ok({ qidType: r.value.qid.type, iounit: r.value.iounit }) : r;
  }
  const base = access === 'rw' ? OMODE.RDWR : access === 'read' ? OMODE.READ : OMODE.WRITE;
  const r = await client.call({ type: 'Topen', fid, mode: base | (truncate ? OMODE.TRUNC : 0) }, 'Ropen', signal);
  return r.ok ? ok({ qidType: r.value.qid.type, iounit: r.value.iounit }) : r;
}

/**
 * The kernel of a file flow. Reading: one Tread outstanding at the read offset, the next one
 * sent when its reply was pushed, none while the flow's buffer is full. Writing: each write is
 * cut into Twrites of at most msize - IOHDRSZ bytes at the write offset, up to `window` of them
 * outstanding; a write resolves once all its pieces are sent and the window has room again, so
 * a server that delays Rwrite holds the writer back. A failed Twrite fails the next write (or
 * shutdownWrite), as a socket error would.
 */
class FileFlowDriver implements FlowDriver {
  private readOffset: number;
  private writeOffset: number;
  private reading = false;
  private paused = false;
  private readEnded = false;
  private gone = false;
  private outstandingWrites = 0;
  private writeFailure: FlowError | undefined;
  private slotWaiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  /** Aborting it flushes every outstanding request (Tflush) of this flow. */
  private readonly cancel = new AbortController();
  private readonly chunk: number;
  private clunked = false;

  constructor(
    private readonly client: Client9p,
    private readonly port: InboundPort,
    private readonly file: Opened,
    offset: number,
    private readonly window: number,
    private readonly ownsClient: boolean,
  ) {
    this.readOffset = offset;
    this.writeOffset = offset;
    const max = client.msize - IOHDRSZ;
    this.chunk = file.iounit > 0 && file.iounit < max ? file.iounit : max;
  }

  start(): void {
    if (this.file.access === 'write') {
      this.readEnded = true;
      this.port.end();
      return;
    }
    this.pump();
  }

  // ---- reading ----

  private pump(): void {
    if (this.reading || this.paused || this.readEnded || this.gone) return;
    this.reading = true;
    const count = this.chunk;
    void this.client
      .call({ type: 'Tread', fid: this.file.fid, offset: BigInt(this.readOffset), count }, 'Rread', this.cancel.signal)
      .then((r) => {
        this.reading = false;
        if (this.gone) return;
        if (!r.ok) {
          this.readEnded = true;
          this.port.fail(r.error);
          return;
        }
        const data = r.value.data;
        if (data.length > count) {
          this.readEnded = true;
          this.port.fail(new FlowError('protocol', `Rread of ${data.length} bytes to a Tread of ${count}`));
          return;
        }
        if (data.length === 0) {
          this.readEnded = true;
          this.port.end();
          return;
        }
        this.readOffset += data.length;
        // The reply is a view of the client's frame; the reader owns what we push.
        this.port.push(data.slice());
        this.pump();
      });
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  // ---- writing ----

  async write(chunks: readonly Uint8Array[], signal: AbortSignal | undefined, transfer?: boolean): Promise<WriteResult> {
    let accepted = 0;
    for (const c of chunks) {
      for (let at = 0; at < c.length; at += this.chunk) {
        while (this.outstandingWrites >= this.window && !this.writeFailure && !this.gone) {
          const waited = await this.waitForSlot(signal);
          if (!waited) return err(abortedError(signal?.reason).withBytesAccepted(accepted));
        }
        if (this.gone) return err(abortedError().withBytesAccepted(accepted));
        if (this.writeFailure) return err(this.writeFailure.withBytesAccepted(accepted));
        const view = c.subarray(at, Math.min(c.length, at + this.chunk));
        // The request is encoded after a tag is free; the caller may reuse its buffer sooner.
        const piece = transfer === true ? view : view.slice();
        this.sendPiece(this.writeOffset, piece);
        this.writeOffset += piece.length;
        accepted += piece.length;
      }
    }
    return OK;
  }

  private waitForSlot(signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        const i = this.slotWaiters.indexOf(wake);
        if (i >= 0) this.slotWaiters.splice(i, 1);
        resolve(false);
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      };
      this.slotWaiters.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** One Twrite; a short Rwrite of a regular file is completed by another Twrite of the rest. */
  private sendPiece(offset: number, data: Uint8Array): void {
    this.outstandingWrites += 1;
    void this.client
      .call({ type: 'Twrite', fid: this.file.fid, offset: BigInt(offset), data }, 'Rwrite', this.cancel.signal)
      .then((r) => {
        if (!r.ok) this.writeFailure ??= r.error;
        else if (r.value.count > data.length) {
          this.writeFailure ??= new FlowError('protocol', `Rwrite of ${r.value.count} bytes to a Twrite of ${data.length}`);
        } else if (r.value.count < data.length) {
          // A stream's writes are consumed in request order, so a short one would reorder bytes.
          if (this.file.stream || r.value.count === 0) {
            this.writeFailure ??= new FlowError('io', `short write: ${r.value.count} of ${data.length} bytes`);
          } else if (!this.gone) {
            this.sendPiece(offset + r.value.count, data.subarray(r.value.count));
          }
        }
        this.outstandingWrites -= 1;
        this.slotWaiters.shift()?.();
        if (this.outstandingWrites === 0) for (const w of this.drainWaiters.splice(0)) w();
      });
  }

  private drained(): Promise<void> {
    if (this.outstandingWrites === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  async shutdownWrite(): Promise<WriteResult> {
    await this.drained();
    if (this.writeFailure) return err(this.writeFailure);
    if (!this.file.stream || this.file.access === 'read') return OK;
    const r = await this.client.call({ type: 'Twrite', fid: this.file.fid, offset: BigInt(this.writeOffset), data: new Uint8Array(0) }, 'Rwrite', this.cancel.signal);
    return r.ok ? OK : err(r.error);
  }

  // ---- lifecycle ----

  abort(_reason: FlowError): void {
    if (this.gone) return;
    this.gone = true;
    for (const w of this.slotWaiters.splice(0)) w();
    for (const w of this.drainWaiters.splice(0)) w();
    if (this.ownsClient) {
      // The connection is ours alone: dropping it ends every request and the server clunks.
      this.client.abort();
      return;
    }
    this.cancel.abort();
    this.clunk();
  }

  release(): void {
    this.gone = true;
    this.clunk();
  }

  private clunk(): void {
    if (this.clunked) return;
    this.clunked = true;
    void this.client.clunk(this.file.fid).then(() => {
      if (this.ownsClient && !this.cancel.signal.aborted) void this.client.close();
    });
  }
}
