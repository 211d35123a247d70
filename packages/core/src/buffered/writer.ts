import { closedError, FlowError, timeoutError } from '../errors';
import type { CloseOptions, Flow, WriteOptions, WriteResult } from '../flow';
import { err, OK } from '../result';

/** Options of the {@link BufferedWriter} constructor. */
export interface BufferedWriterOptions {
  /** Bytes held before a write flushes (waiting out the flow's backpressure). Default 64 KiB. */
  readonly maxBuffered?: number;
  /** What `writeLine` appends. Default `'\n'`. */
  readonly newline?: '\n' | '\r\n';
}

/** What `close` reports: the final flush and the flow's close, each on its own. */
export interface WriterCloseResult {
  /** True when both succeeded. */
  readonly ok: boolean;
  /** The final flush of the buffered bytes. */
  readonly flush: WriteResult;
  /** The flow's `close`, or the `abort` that replaced it when the flush failed. */
  readonly close: WriteResult;
}

const DEFAULT_MAX_BUFFERED = 64 * 1024;

/**
 * A bounded buffered writer over a flow (mirage-channel's output side, without its data loss).
 *
 * - `write` copies into a buffer of `maxBuffered` bytes; when the buffer is full it flushes
 *   first, waiting out backpressure, so memory stays bounded. A write of at least `maxBuffered`
 *   bytes goes straight to the flow after the buffer was flushed.
 * - `flush` hands the buffer to the flow. If it fails, the bytes the flow did not accept stay
 *   buffered, in order: the error's `bytesAccepted` says how many went through, `buffered` how
 *   many are left; a later `flush` sends exactly the rest (useful after an aborted `signal`),
 *   `takeUnsent` hands them to the caller instead.
 * - Operations are serialised: each runs after the previous one settled, in call order. A
 *   buffer passed to `write` must not be mutated until its promise settles (the flow contract);
 *   one passed to `writeBuffer` not until the flush that sends it settles.
 */
export class BufferedWriter {
  private readonly flow: Flow;
  /** Bytes held before a write flushes; see {@link BufferedWriterOptions.maxBuffered}. */
  readonly maxBuffered: number;
  private readonly newline: string;
  // Pending output, oldest first: sealed views of `page` and zero-copy caller buffers.
  private segments: Uint8Array[] = [];
  private bufferedBytes = 0;
  // The page copied writes go into, used as a bump allocator: bytes once handed to the flow are
  // never overwritten, because a transport may still hold them after its write resolved (a Node
  // socket keeps queued buffers by reference). [pageStart, pageUsed) is not yet sealed.
  private page: Buffer | undefined;
  private pageStart = 0;
  private pageUsed = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private pendingOps = 0;
  private ended = false;

  constructor(flow: Flow, options: BufferedWriterOptions = {}) {
    this.flow = flow;
    this.maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
    if (!Number.isSafeInteger(this.maxBuffered) || this.maxBuffered < 1) {
      throw new RangeError('maxBuffered must be a positive integer');
    }
    this.newline = options.newline ?? '\n';
  }

  /** Bytes accepted by the writer and not yet by the flow. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  /**
   * Copies `data` (a string is encoded as UTF-8) into the buffer, flushing first when it does not
   * fit. On failure the error's `bytesAccepted` counts the bytes of this call that the writer or
   * the flow took; bytes buffered by earlier calls stay buffered.
   */
  write(data: Uint8Array | string, options: WriteOptions = {}): Promise<WriteResult> {
    const bytes = toBytes(data);
    // The common case completes at once: nothing pending, and it fits.
    if (this.pendingOps === 0 && !this.ended && bytes.length <= this.room()) {
      this.copyIn(bytes);
      return Promise.resolve(OK);
    }
    return this.serialise(() => this.doWrite(bytes, options.signal));
  }

  /** `write(line + newline)`. */
  writeLine(line: string | Uint8Array = '', options: WriteOptions = {}): Promise<WriteResult> {
    const bytes = typeof line === 'string' ? Buffer.from(line + this.newline, 'utf8') : concat(line, this.newline);
    return this.write(bytes, options);
  }

  /**
   * Zero-copy: enqueues `buffer` itself, not a copy. Do not mutate it until the flush that sends
   * it has settled. It counts against `maxBuffered`, and the writer flushes when it is reached.
   */
  writeBuffer(buffer: Uint8Array, options: WriteOptions = {}): Promise<WriteResult> {
    if (!(buffer instanceof Uint8Array)) throw new TypeError('writeBuffer needs a Uint8Array');
    return this.serialise(async () => {
      if (this.ended) return err(closedError());
      if (buffer.length === 0) return OK;
      this.seal();
      this.segments.push(buffer);
      this.bufferedBytes += buffer.length;
      if (this.bufferedBytes < this.maxBuffered) return OK;
      const r = await this.doFlush(options.signal);
      // The buffer is queued whatever happens: a failed flush keeps it with the rest.
      return r.ok ? r : err(r.error.withBytesAccepted(buffer.length));
    });
  }

  /**
   * Hands everything buffered to the flow and resolves once the flow accepted it. On failure the
   * unsent bytes stay buffered (see the class comment); `error.bytesAccepted` counts the bytes
   * this flush got through.
   */
  flush(options: WriteOptions = {}): Promise<WriteResult> {
    return this.serialise(() => this.doFlush(options.signal));
  }

  /**
   * Flushes, then shuts down the flow's write side. If the flush fails the flow is not shut down
   * (that would show the peer a clean end after truncated data): the flush error is returned and
   * the unsent bytes stay buffered.
   */
  shutdownWrite(): Promise<WriteResult> {
    return this.serialise(async () => {
      const flushed = await this.doFlush(undefined);
      if (!flushed.ok) return flushed;
      this.ended = true;
      return this.flow.shutdownWrite();
    });
  }

  /**
   * Flushes, then closes the flow (the handshake), and reports both. `timeoutMs` and `signal`
   * bound the flush and the handshake together. If the flush fails the flow is aborted instead
   * of closed, so that the peer sees a reset rather than a clean end after
   * truncated data; the unsent bytes stay readable through `takeUnsent`.
   */
  close(options: CloseOptions = {}): Promise<WriterCloseResult> {
    const { timeoutMs } = options;
    if (timeoutMs !== undefined && !(timeoutMs >= 0)) throw new RangeError('timeoutMs must be 0 or more');
    return this.serialise(async (): Promise<WriterCloseResult> => {
      // `timeoutMs` and `signal` bound the whole close, the final flush included: a peer that
      // never reads must not keep it waiting on backpressure forever.
      const started = performance.now();
      const timer = timeoutMs === undefined ? undefined : new AbortController();
      const timeout = timer && setTimeout(() => timer.abort(timeoutError('close', timeoutMs ?? 0)), timeoutMs);
      const signals = [options.signal, timer?.signal].filter((x): x is AbortSignal => x !== undefined);
      const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
      const flush = await this.doFlush(signal);
      clearTimeout(timeout);
      this.ended = true;
      if (!flush.ok) {
        this.flow.abort(flush.error);
        const aborted = new FlowError('aborted', 'the flow was aborted because the final flush failed', {
          cause: flush.error,
        });
        return { ok: false, flush, close: err(aborted) };
      }
      const remaining = timeoutMs === undefined ? undefined : Math.max(0, timeoutMs - (performance.now() - started));
      const close = await this.flow.close({ signal: options.signal, timeoutMs: remaining });
      return { ok: close.ok, flush, close };
    });
  }

  /**
   * Removes and returns the bytes not yet accepted by the flow (after a failed flush, to send
   * them elsewhere or to log them). Waits for pending operations first.
   */
  takeUnsent(): Promise<Uint8Array> {
    return this.serialise(async () => {
      this.seal();
      const out = Buffer.concat(this.segments, this.bufferedBytes);
      this.segments = [];
      this.bufferedBytes = 0;
      this.page = undefined;
      this.pageStart = this.pageUsed = 0;
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    });
  }

  // ---- internals ----

  private serialise<R>(op: () => Promise<R>): Promise<R> {
    this.pendingOps += 1;
    const result = this.chain.then(op).finally(() => {
      this.pendingOps -= 1;
    });
    this.chain = result.catch(() => undefined);
    return result;
  }

  private room(): number {
    return this.maxBuffered - this.bufferedBytes;
  }

  private copyIn(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (!this.page || this.pageUsed + bytes.length > this.page.length) {
      // A new page; the old one lives on only as long as views of it are pending somewhere.
      this.seal();
      this.page = Buffer.allocUnsafe(this.maxBuffered);
      this.pageStart = this.pageUsed = 0;
    }
    this.page.set(bytes, this.pageUsed);
    this.pageUsed += bytes.length;
    this.bufferedBytes += bytes.length;
  }

  /** Moves the unsealed part of the page into `segments`. */
  private seal(): void {
    if (this.page && this.pageUsed > this.pageStart) {
      this.segments.push(this.page.subarray(this.pageStart, this.pageUsed));
      this.pageStart = this.pageUsed;
    }
  }

  private async doWrite(bytes: Uint8Array, signal: AbortSignal | undefined): Promise<WriteResult> {
    if (this.ended) return err(closedError());
    if (bytes.length <= this.room()) {
      this.copyIn(bytes);
      return OK;
    }
    const flushed = await this.doFlush(signal);
    if (!flushed.ok) return err(flushed.error.withBytesAccepted(0));
    if (bytes.length < this.maxBuffered) {
      this.copyIn(bytes);
      return OK;
    }
    // Too big to be worth copying: the buffer is empty, so order is kept by writing it directly.
    return this.flow.write(bytes, { signal });
  }

  private async doFlush(signal: AbortSignal | undefined): Promise<WriteResult> {
    this.seal();
    if (this.bufferedBytes === 0) return OK;
    const sending = this.segments;
    const total = this.bufferedBytes;
    const r = await this.flow.writev(sending, { signal });
    if (r.ok) {
      this.segments = [];
      this.bufferedBytes = 0;
      return OK;
    }
    const accepted = Math.min(total, r.error.bytesAccepted ?? 0);
    this.segments = dropFront(sending, accepted);
    this.bufferedBytes = total - accepted;
    return err(r.error.withBytesAccepted(accepted));
  }
}

function toBytes(data: Uint8Array | string): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (!(data instanceof Uint8Array)) throw new TypeError('write needs a Uint8Array or a string');
  return data;
}

function concat(line: Uint8Array, newline: string): Uint8Array {
  if (!(line instanceof Uint8Array)) throw new TypeError('writeLine needs a string or a Uint8Array');
  return Buffer.concat([line, Buffer.from(newline, 'latin1')]);
}

/** `segments` without their first `n` bytes (views, no copies). */
function dropFront(segments: readonly Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let skip = n;
  for (const s of segments) {
    if (skip >= s.length) {
      skip -= s.length;
      continue;
    }
    out.push(skip > 0 ? s.subarray(skip) : s);
    skip = 0;
  }
  return out;
}
