import { closedError, createFlow, err, FlowError, ok, OK, type Flow, type FlowDriver, type InboundPort, type Result, type WriteResult } from '@flow/core';
import { STREAM_HANGUP, STREAM_READABLE, STREAM_WRITABLE, type StreamHandle, type XenBinding } from './native-binding';
import { errnoError } from './native-errors';

/** The part of the addon a byte stream uses. */
export type FdStreamAccess = Pick<XenBinding, 'streamOpen' | 'streamRead' | 'streamWrite' | 'streamPoll' | 'streamClose'>;

/** Bytes asked for per read(): more than one whole xenstore frame (16 + 4096). */
const READ_CHUNK = 8192;
/** Reads per readiness callback; the poll is level-triggered, so the rest comes on the next turn. */
const READS_PER_WAKEUP = 16;
/** Reads after a hang-up, to take what the device still holds (bounded: a device may not end). */
const READS_AFTER_HANGUP = 256;
const EAGAIN = 11;

export interface FdStreamFlowOptions {
  readonly label?: string;
  /** Bytes read and not yet consumed before reading pauses. Default 64 KiB. */
  readonly highWaterMark?: number;
}

/**
 * Opens `path` (a character device such as /dev/xen/xenbus) as a flow over the addon's
 * non-blocking byte stream. The flow has no half-close (a device has no end of stream to send:
 * shutdownWrite only stops writing) and close() does not wait for a peer: it stops polling and
 * closes the descriptor at once, ending a read that waits. Errors of the open are -errno numbers
 * for the caller to phrase (`errno` in the returned error), e.g. ENOENT, EACCES, ENODEV (epoll
 * refused the descriptor: not a device).
 */
export function openFdStreamFlow(binding: FdStreamAccess, path: string, options: FdStreamFlowOptions = {}): Result<Flow, FlowError> {
  let driver: FdStreamDriver | undefined;
  const opened = binding.streamOpen(path, (status, events) => driver?.onReady(status, events));
  if (typeof opened === 'number') return err(errnoError(opened, 'open', `opening ${path}`));
  const flow = createFlow(
    (port) => {
      driver = new FdStreamDriver(binding, opened, port, path);
      return driver;
    },
    {
      label: options.label ?? path,
      highWaterMark: options.highWaterMark ?? 64 * 1024,
      closeWaitsForPeer: false,
      capabilities: {
        halfCloseWrite: 'none',
        halfCloseRead: 'emulated',
        abort: 'close',
        notes: ['a character device: no end of stream to send or receive; close releases the descriptor at once'],
      },
    },
  );
  return ok(flow);
}

interface PendingWrite {
  readonly chunks: readonly Uint8Array[];
  index: number;
  offset: number;
  accepted: number;
  readonly resolve: (r: WriteResult) => void;
}

class FdStreamDriver implements FlowDriver {
  readonly #scratch = new Uint8Array(READ_CHUNK);
  #paused = false;
  #readEnded = false;
  #closed = false;
  #polling = STREAM_READABLE;
  #pending: PendingWrite | undefined;

  constructor(
    private readonly binding: FdStreamAccess,
    private readonly handle: StreamHandle,
    private readonly port: InboundPort,
    private readonly path: string,
  ) {}

  onReady(status: number, events: number): void {
    if (this.#closed) return;
    if (status < 0) {
      // Polling stopped: nothing more comes in, and a waiting write never completes.
      const error = errnoError(status, 'poll', `polling ${this.path}`);
      this.#readEnded = true;
      this.#polling = 0;
      this.port.fail(error);
      this.#failWrite(error);
      return;
    }
    if (events & STREAM_HANGUP) {
      // Polling stopped on POLLERR/POLLHUP: what is still queued is read, then read() itself
      // says how it ended (0: the end; an errno); if it says neither, that is the error.
      this.#polling = 0;
      this.#readSome(READS_AFTER_HANGUP, true);
      const error = new FlowError('reset', `${this.path} reported an error condition or hang-up (POLLERR)`, { syscall: 'poll' });
      if (!this.#readEnded) {
        this.#readEnded = true;
        this.port.fail(error);
      }
      this.#failWrite(error);
      return;
    }
    if (events & STREAM_WRITABLE) this.#continueWrite();
    if (events & STREAM_READABLE) this.#readSome(READS_PER_WAKEUP, false);
    this.#updatePoll();
  }

  write(chunks: readonly Uint8Array[]): WriteResult | Promise<WriteResult> {
    if (this.#closed) return err(closedError());
    let resolve!: (r: WriteResult) => void;
    const done = new Promise<WriteResult>((r) => {
      resolve = r;
    });
    this.#pending = { chunks, index: 0, offset: 0, accepted: 0, resolve };
    this.#continueWrite();
    this.#updatePoll();
    return done;
  }

  shutdownWrite(): Promise<WriteResult> {
    return Promise.resolve(OK);
  }

  pause(): void {
    this.#paused = true;
    this.#updatePoll();
  }

  resume(): void {
    this.#paused = false;
    this.#updatePoll();
  }

  abort(reason: FlowError): void {
    this.#close();
    this.#failWrite(reason);
  }

  release(): void {
    this.#close();
    this.#failWrite(closedError());
  }

  /** Writes as much of the pending write as the descriptor takes now. */
  #continueWrite(): void {
    const w = this.#pending;
    while (w !== undefined && w.index < w.chunks.length) {
      const chunk = w.chunks[w.index]!;
      // One write per chunk (a xenstore frame): the xenbus device takes a message in one piece.
      const n = this.binding.streamWrite(this.handle, w.offset === 0 ? chunk : chunk.subarray(w.offset));
      if (n === -EAGAIN) return; // the poll asks for writability (#updatePoll)
      if (n < 0) {
        const e = errnoError(n, 'write', `writing to ${this.path}`);
        this.#failWrite(e);
        return;
      }
      w.accepted += n;
      w.offset += n;
      if (w.offset >= chunk.length) {
        w.index += 1;
        w.offset = 0;
      }
    }
    if (w !== undefined) {
      this.#pending = undefined;
      w.resolve(OK);
    }
  }

  #failWrite(error: FlowError): void {
    const w = this.#pending;
    if (w === undefined) return;
    this.#pending = undefined;
    w.resolve(err(w.accepted > 0 ? error.withBytesAccepted(w.accepted) : error));
  }

  #readSome(reads: number, evenIfPaused: boolean): void {
    for (let i = 0; i < reads && (evenIfPaused || !this.#paused) && !this.#readEnded && !this.#closed; i++) {
      const n = this.binding.streamRead(this.handle, this.#scratch);
      if (n === -EAGAIN) return;
      if (n === 0) {
        this.#readEnded = true;
        this.port.end();
        return;
      }
      if (n < 0) {
        this.#readEnded = true;
        this.port.fail(errnoError(n, 'read', `reading from ${this.path}`));
        return;
      }
      // A copy: the scratch buffer is read into again, the chunk is the reader's for good.
      this.port.push(this.#scratch.slice(0, n));
    }
  }

  /** Asks the poll for what we wait for now: data unless paused or ended, room while a write waits. */
  #updatePoll(): void {
    if (this.#closed) return;
    const want = (this.#paused || this.#readEnded ? 0 : STREAM_READABLE) | (this.#pending ? STREAM_WRITABLE : 0);
    if (want === this.#polling) return;
    this.#polling = want;
    const rc = this.binding.streamPoll(this.handle, want);
    if (rc < 0) this.onReady(rc, 0);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.binding.streamClose(this.handle);
  }
}
