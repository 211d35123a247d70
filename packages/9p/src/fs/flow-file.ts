import {
  AcceptQueue,
  createFlow,
  err,
  type Flow,
  type FlowCapabilities,
  FlowError,
  type InboundPort,
  OK,
  type Result,
  type AcceptOptions,
  type WriteResult,
} from '@flow/core';
import { fsError, type FsError, type FsResult, type OpenFile, type OpenIntent } from './filesystem';
import type { VfsFile } from './vfs';

/**
 * A stream file whose every open is a connection: the 9P client's end reads and writes the
 * file, the server's end is a `Flow` handed out by `accept()`, like a listener's. Datakit's
 * stream and ctl files work this way; here the two ends are ordinary flows.
 *
 * The protocol on the file (the client side in `client/file-flow.ts` speaks it):
 * - Bytes the client writes (Twrite, offsets ignored, in request order) are what the server
 *   flow reads. A zero-length Twrite is the client's end of stream (its `shutdownWrite`): the
 *   server flow then reads EOF. Writes after it fail with EPIPE.
 * - A Tread blocks until the server flow wrote something, and returns at most `count` bytes of
 *   it; once the server flow shut its write side and everything was read, Tread returns 0 bytes
 *   (EOF). A Tflush ends a blocked Tread.
 * - Clunking the fid before the zero-length Twrite is a reset for the server flow, and the
 *   server flow's `abort()` is a reset for the client: its reads and writes fail ECONNRESET.
 * - Bounded both ways: the server side buffers at most `highWaterMark` bytes from the client
 *   (then Rwrite waits, which holds the client back) and the server flow's writes wait while
 *   `highWaterMark` bytes are queued for the client.
 */
export interface FlowFileOptions {
  /** Bytes buffered in each direction before the writer waits. Default 256 KiB. */
  readonly highWaterMark?: number;
  /** Opens not yet accepted; an open beyond it fails with EBUSY. Default 16. */
  readonly backlog?: number;
  /** The label of the server-side flows (`#n` is appended). Default `9p stream file`. */
  readonly label?: string;
}

/** A file whose every open is a new flow to the server's program; see {@link flowFile}. */
export interface FlowFile {
  /** The file to put in a VFS directory; it reports QT.APPEND in its qid (a stream: no offsets). */
  readonly file: VfsFile;
  /** The server side of the next open of `file`. */
  accept(options?: AcceptOptions): Promise<Result<Flow, FlowError>>;
  /** Opens no longer connect (they fail with EBUSY); flows already accepted stay open. */
  close(): void;
  /** `for await (const flow of file)`: accepts opens until `close()`. */
  [Symbol.asyncIterator](): AsyncIterator<Flow>;
}

/** The capabilities of the server side of a stream-file open. */
export const FLOW_FILE_CAPABILITIES: FlowCapabilities = {
  halfCloseWrite: 'emulated',
  halfCloseRead: 'emulated',
  abort: 'rst',
  notes: [
    'end of stream travels as a 0-byte Rread (to the client) and a zero-length Twrite (from it)',
    'abort answers the client with ECONNRESET; the client clunking without ending is a reset',
  ],
};

const DEFAULT_HIGH_WATER_MARK = 256 * 1024;

/** Makes a stream file whose opens are accepted as flows. */
export function flowFile(options: FlowFileOptions = {}): FlowFile {
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  if (!Number.isInteger(highWaterMark) || highWaterMark < 1) throw new RangeError('highWaterMark must be a positive integer');
  const queue = new AcceptQueue(options.backlog ?? 16);
  const label = options.label ?? '9p stream file';
  let opens = 0;
  const file: VfsFile = {
    kind: 'file',
    stream: true,
    length: () => 0n,
    open: async (intent) => {
      if (queue.closed) return { ok: false, error: fsError('EBUSY', 'nobody accepts opens of this file') };
      opens += 1;
      const session = new StreamSession(intent, highWaterMark, `${label} #${opens}`);
      if (!queue.offer(session.flow)) return { ok: false, error: fsError('EBUSY', 'too many opens of this file wait to be accepted') };
      return { ok: true, value: session.openFile };
    },
  };
  return {
    file,
    accept: (o) => queue.accept(o),
    close: () => queue.close(),
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
  };
}

interface IncomingWrite {
  /** undefined: the client's end of stream. */
  readonly data: Uint8Array | undefined;
  readonly resolve: (r: FsResult<number>) => void;
  readonly detach: () => void;
}

interface BlockedRead {
  readonly count: number;
  readonly resolve: (r: FsResult<Uint8Array>) => void;
  readonly detach: () => void;
}

const RESET = (): FsError => fsError('ECONNRESET');

/** One open of a flow file: the server flow and the OpenFile the 9P server drives. */
class StreamSession {
  readonly flow: Flow;
  readonly openFile: OpenFile;
  private port!: InboundPort;
  private paused = false;
  /** Twrites waiting for room in the server flow's read buffer, in request order. */
  private incoming: IncomingWrite[] = [];
  /** The zero-length Twrite was received (not flushed): later writes fail with EPIPE. */
  private clientEnding = false;
  private clientEnded = false;
  /** Bytes the server flow wrote that the client has not read yet. */
  private outbound: Uint8Array[] = [];
  private outboundBytes = 0;
  private serverShut = false;
  private readers: BlockedRead[] = [];
  private roomWaiters: ((r: WriteResult) => void)[] = [];
  /** Set when either side is gone: the server flow aborted, or the client clunked. */
  private broken: 'server-aborted' | 'client-gone' | undefined;

  constructor(
    intent: OpenIntent,
    private readonly highWaterMark: number,
    label: string,
  ) {
    this.flow = createFlow(
      (port) => {
        this.port = port;
        return {
          write: (chunks, _signal, transfer) => this.serverWrite(chunks, transfer === true),
          shutdownWrite: async () => {
            this.serverShut = true;
            this.serveReaders();
            return OK;
          },
          pause: () => {
            this.paused = true;
          },
          resume: () => {
            this.paused = false;
            this.drainIncoming();
          },
          abort: () => this.serverAborted(),
          release: () => undefined,
        };
      },
      {
        capabilities: FLOW_FILE_CAPABILITIES,
        label,
        highWaterMark: this.highWaterMark,
        // A client that opened the file read-only never writes: the server cannot write to one
        // that opened it write-only.
        writeClosed: !intent.read,
      },
    );
    if (!intent.write) {
      this.clientEnding = true;
      this.clientEnded = true;
      this.port.end();
    }
    this.openFile = {
      read: (_offset, count, signal) => this.clientRead(count, signal),
      write: (_offset, data, signal) => this.clientWrite(data, signal),
      close: async () => this.clientGone(),
    };
  }

  // ---- server flow → client ----

  private serverWrite(chunks: readonly Uint8Array[], transfer: boolean): WriteResult | Promise<WriteResult> {
    if (this.broken) return err(this.brokenError());
    for (const c of chunks) {
      // The flow lets the caller reuse a buffer once its write resolved: keep a copy unless given.
      const owned = transfer ? c : c.slice();
      this.outbound.push(owned);
      this.outboundBytes += owned.length;
    }
    this.serveReaders();
    if (this.outboundBytes <= this.highWaterMark) return OK;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private clientRead(count: number, signal: AbortSignal): Promise<FsResult<Uint8Array>> {
    if (this.broken) return Promise.resolve({ ok: false, error: RESET() });
    if (this.readers.length === 0) {
      const now = this.take(count);
      if (now) return Promise.resolve({ ok: true, value: now });
    }
    return new Promise((resolve) => {
      const onAbort = (): void => {
        const i = this.readers.indexOf(read);
        if (i >= 0) this.readers.splice(i, 1);
        resolve({ ok: false, error: fsError('ECANCELED') });
      };
      const read: BlockedRead = { count, resolve, detach: () => signal.removeEventListener('abort', onAbort) };
      this.readers.push(read);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Up to `count` queued bytes, an empty buffer at the end, or undefined to wait. */
  private take(count: number): Uint8Array | undefined {
    if (this.outboundBytes === 0) return this.serverShut ? new Uint8Array(0) : undefined;
    const parts: Uint8Array[] = [];
    let taken = 0;
    while (taken < count && this.outbound.length > 0) {
      const head = this.outbound[0] as Uint8Array;
      const n = Math.min(head.length, count - taken);
      parts.push(head.subarray(0, n));
      taken += n;
      if (n === head.length) this.outbound.shift();
      else this.outbound[0] = head.subarray(n);
    }
    this.outboundBytes -= taken;
    if (this.outboundBytes <= this.highWaterMark) for (const w of this.roomWaiters.splice(0)) w(OK);
    return parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts, taken);
  }

  private serveReaders(): void {
    while (this.readers.length > 0) {
      const read = this.readers[0] as BlockedRead;
      const data = this.take(read.count);
      if (!data) return;
      this.readers.shift();
      read.detach();
      read.resolve({ ok: true, value: data });
    }
  }

  // ---- client → server flow ----

  private clientWrite(data: Uint8Array, signal: AbortSignal): Promise<FsResult<number>> {
    if (this.broken) return Promise.resolve({ ok: false, error: RESET() });
    if (this.clientEnding) return Promise.resolve({ ok: false, error: fsError('EPIPE', 'the stream was ended by a zero-length write') });
    const isEnd = data.length === 0;
    if (isEnd) this.clientEnding = true;
    return new Promise((resolve) => {
      const onAbort = (): void => {
        const i = this.incoming.indexOf(write);
        if (i < 0) return;
        // flush(5): a flushed request is treated as never sent, so its bytes are not delivered.
        this.incoming.splice(i, 1);
        if (isEnd) this.clientEnding = false;
        resolve({ ok: false, error: fsError('ECANCELED') });
      };
      // The 9P server may reuse the request's frame once we answered: keep a copy.
      const write: IncomingWrite = {
        data: isEnd ? undefined : data.slice(),
        resolve,
        detach: () => signal.removeEventListener('abort', onAbort),
      };
      this.incoming.push(write);
      signal.addEventListener('abort', onAbort, { once: true });
      this.drainIncoming();
    });
  }

  /** Hands queued client writes to the server flow while it has room; their Rwrite goes out then. */
  private drainIncoming(): void {
    while (!this.paused && this.incoming.length > 0 && !this.broken) {
      const write = this.incoming.shift() as IncomingWrite;
      write.detach();
      if (write.data === undefined) {
        this.clientEnded = true;
        this.port.end();
        write.resolve({ ok: true, value: 0 });
      } else {
        const n = write.data.length;
        this.port.push(write.data);
        write.resolve({ ok: true, value: n });
      }
    }
  }

  // ---- either side gone ----

  private brokenError(): FlowError {
    return this.broken === 'client-gone'
      ? new FlowError('reset', 'the 9P client closed the stream file')
      : new FlowError('aborted', 'the stream file flow was aborted');
  }

  private serverAborted(): void {
    if (this.broken) return;
    this.broken = 'server-aborted';
    this.failClientRequests(RESET());
  }

  private clientGone(): void {
    if (this.broken) return;
    this.broken = 'client-gone';
    this.failClientRequests(fsError('ECANCELED'));
    // Clunked before its end of stream: the client went away mid-stream, a reset.
    if (!this.clientEnded) this.port.fail(new FlowError('reset', 'the 9P client clunked the stream file without ending it'));
  }

  private failClientRequests(error: FsError): void {
    for (const w of this.incoming.splice(0)) {
      w.detach();
      w.resolve({ ok: false, error });
    }
    for (const r of this.readers.splice(0)) {
      r.detach();
      r.resolve({ ok: false, error });
    }
    this.outbound = [];
    this.outboundBytes = 0;
    const e = this.brokenError();
    for (const w of this.roomWaiters.splice(0)) w(err(e));
  }
}
