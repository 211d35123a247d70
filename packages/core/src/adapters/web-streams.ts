// The global Web stream types on purpose, not those of 'node:stream/web': in a program that also
// has the DOM lib (TypeScript's default) the globals are the DOM's, so a `TransformStream` or a
// `fetch` body made there is accepted as it is.
import { abortedError, FlowError, fromNodeError } from '../errors';
import { createFlow, type FlowDriver, type InboundPort } from '../driver-flow';
import { EOF, type Flow, type FlowCapabilities, type WriteResult } from '../flow';
import { err, OK } from '../result';

/** A readable and a writable Web stream that carry the two directions of one flow. */
/** The two halves of a byte stream in WHATWG streams form, as a `TransformStream` or `WebSocketStream` has them. */
export interface WebStreamPair {
  /** The bytes that arrive from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** The bytes that go to the peer; closing it is the half-close. */
  readonly writable: WritableStream<Uint8Array>;
}

/** Options of {@link toWebStreams}. */
export interface ToWebStreamsOptions {
  /** Bytes the readable side reads ahead of its consumer. Default 0: read only on demand. */
  readonly readableHighWaterMark?: number;
  /** Bytes the writable side queues before `desiredSize` drops to 0. Default 16 KiB. */
  readonly writableHighWaterMark?: number;
  /**
   * Close the flow (the handshake) once the readable side reached EOF and the writable side was
   * closed. Default true.
   */
  readonly closeWhenDone?: boolean;
}

/**
 * Web streams over a flow:
 * - `readable` pulls `flow.read()` on demand and closes at EOF; a read error errors it;
 *   `cancel()` runs `flow.shutdownRead()`;
 * - `writable` resolves each write once the flow accepted it (so `desiredSize` and `ready`
 *   carry the flow's backpressure); `close()` runs `flow.shutdownWrite()`; `abort()` aborts the
 *   flow.
 */
export function toWebStreams(flow: Flow, options: ToWebStreamsOptions = {}): WebStreamPair {
  const closeWhenDone = options.closeWhenDone ?? true;
  let readDone = false;
  let writeDone = false;
  // After cancel() the controller refuses enqueue/close; a read still in flight must not call them.
  let cancelled = false;
  const maybeClose = (): void => {
    if (closeWhenDone && readDone && writeDone) void flow.close();
  };
  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const r = await flow.read();
        if (cancelled) return;
        if (!r.ok) {
          controller.error(r.error);
        } else if (r.value === EOF) {
          controller.close();
          readDone = true;
          maybeClose();
        } else {
          controller.enqueue(r.value);
        }
      },
      async cancel() {
        cancelled = true;
        await flow.shutdownRead();
      },
    },
    { highWaterMark: options.readableHighWaterMark ?? 0, size: (chunk) => chunk.byteLength },
  );
  const writable = new WritableStream<Uint8Array>(
    {
      async write(chunk) {
        if (!(chunk instanceof Uint8Array)) throw new TypeError('the writable side takes Uint8Array chunks');
        const r = await flow.write(chunk);
        // Rejecting is how a Web stream reports a failed write: it errors the writable.
        if (!r.ok) throw r.error;
      },
      async close() {
        const r = await flow.shutdownWrite();
        if (!r.ok) throw r.error;
        writeDone = true;
        maybeClose();
      },
      abort(reason: unknown) {
        flow.abort(reason);
      },
    },
    { highWaterMark: options.writableHighWaterMark ?? 16 * 1024, size: (chunk) => chunk.byteLength },
  );
  return { readable, writable };
}

/** Options of {@link fromWebStreams}. */
export interface FromWebStreamsOptions {
  /** The flow's `label` for logs. Default `'web-streams'`. */
  readonly label?: string;
  /** What the streams really do; the default assumes the readable ends when the peer writes no more. */
  readonly capabilities?: Partial<FlowCapabilities>;
  /** Bytes buffered for readers before the readable stops being pulled. Default 256 KiB. */
  readonly highWaterMark?: number;
  /**
   * Copy every chunk the readable produces. Needed when its source may reuse buffers. Default
   * true; pass false when the chunks are known to be fresh (e.g. from `toWebStreams`).
   */
  readonly copyChunks?: boolean;
}

const WEB_CAPABILITIES: FlowCapabilities = Object.freeze({
  halfCloseWrite: 'native',
  halfCloseRead: 'native',
  abort: 'close',
});

/**
 * A flow over a readable and a writable Web stream (a `TransformStream`, a `fetch` duplex body,
 * the pair of `toWebStreams`). The readable is pumped into the flow only while its buffer has
 * room; a write waits for `writer.ready`, then for `writer.write`; `shutdownWrite` closes the
 * writable; `shutdownRead` cancels the readable; `abort` cancels one and aborts the other.
 */
export function fromWebStreams(streams: WebStreamPair, options: FromWebStreamsOptions = {}): Flow {
  const { readable, writable } = streams ?? {};
  // Duck-typed, so that streams from another realm or implementation are accepted too.
  if (typeof readable?.getReader !== 'function' || typeof writable?.getWriter !== 'function') {
    throw new TypeError('fromWebStreams needs { readable: ReadableStream, writable: WritableStream }');
  }
  // Lock both now, so that nobody else reads or writes them underneath the flow.
  const reader = readable.getReader();
  const writer = writable.getWriter();
  return createFlow((port) => new WebStreamsDriver(reader, writer, port, options.copyChunks ?? true), {
    capabilities: { ...WEB_CAPABILITIES, ...options.capabilities },
    label: options.label ?? 'web-streams',
    highWaterMark: options.highWaterMark,
  });
}

class WebStreamsDriver implements FlowDriver {
  private paused = false;
  private pumping = false;
  private stopped = false;
  private aborted = false;

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly writer: WritableStreamDefaultWriter<Uint8Array>,
    private readonly port: InboundPort,
    private readonly copyChunks: boolean,
  ) {
    queueMicrotask(() => void this.pump());
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.paused && !this.stopped) {
        const next = await this.reader.read();
        if (this.stopped) break;
        if (next.done) {
          this.stopped = true;
          this.port.end();
          break;
        }
        const chunk: unknown = next.value;
        if (!(chunk instanceof Uint8Array)) {
          this.stopped = true;
          const error = new FlowError('protocol', 'the readable stream produced a chunk that is not a Uint8Array');
          this.port.fail(error);
          this.reader.cancel(error).catch(ignore);
          break;
        }
        if (chunk.length > 0) this.port.push(this.copyChunks ? chunk.slice() : chunk);
      }
    } catch (cause) {
      this.stopped = true;
      if (!this.aborted) this.port.fail(fromNodeError(cause, 'the readable stream failed'));
    } finally {
      this.pumping = false;
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    void this.pump();
  }

  async write(chunks: readonly Uint8Array[], signal: AbortSignal | undefined): Promise<WriteResult> {
    let accepted = 0;
    for (const chunk of chunks) {
      try {
        // We hold the only lock and wait for each write, so the queue is empty here and `ready`
        // pends only on a zero high-water mark, where it would pend forever: then the write
        // itself is the backpressure. An errored writable (desiredSize null) rejects `ready`.
        const room = this.writer.desiredSize;
        if (room === null || room > 0 || signal?.aborted) {
          const ready = await raceAbort(this.writer.ready, signal);
          if (!ready) return err(abortedError(signal?.reason).withBytesAccepted(accepted));
        }
        // Once handed to the writer the chunk is on its way: wait for it, not for the signal.
        await this.writer.write(chunk);
      } catch (cause) {
        return err(fromNodeError(cause, 'the writable stream failed').withBytesAccepted(accepted));
      }
      accepted += chunk.length;
    }
    return OK;
  }

  async shutdownWrite(): Promise<WriteResult> {
    try {
      await this.writer.close();
      return OK;
    } catch (cause) {
      return err(fromNodeError(cause, 'closing the writable stream failed'));
    }
  }

  shutdownRead(): void {
    this.stopped = true;
    this.reader.cancel().catch(ignore);
  }

  abort(reason: FlowError): void {
    this.aborted = true;
    this.stopped = true;
    this.reader.cancel(reason).catch(ignore);
    this.writer.abort(reason).catch(ignore);
  }

  release(): void {
    this.stopped = true;
    // Both streams are finished by now (EOF seen, writable closed); the locks are all that is left.
    try {
      this.reader.releaseLock();
      this.writer.releaseLock();
    } catch {
      // A lock already released by a failed stream: nothing more to free.
    }
  }
}

/** Resolves true once `promise` fulfils, false if `signal` aborts first; rejects as `promise` does. */
function raceAbort(promise: Promise<unknown>, signal: AbortSignal | undefined): Promise<boolean> {
  if (!signal) return promise.then(() => true);
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve, reject) => {
    const onAbort = (): void => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function ignore(): void {
  // Cancelling or aborting a stream that already failed rejects; that failure was reported.
}
