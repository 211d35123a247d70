import { abortedError, FlowError } from '../errors';
import { createFlow, type FlowDriver, type InboundPort } from '../driver-flow';
import type { Flow, FlowCapabilities, WriteResult } from '../flow';
import { err, OK } from '../result';
import { copyBytes } from '../bytes';

/** A failure injected into one direction of a pair. */
export interface FaultOptions {
  /** The direction fails once this many bytes went through (the bytes before it arrive intact). */
  readonly afterBytes: number;
  /** What both ends see: `reset` (default) or `io`. */
  readonly kind?: 'reset' | 'io';
}

/** Options of `pair()`: the shape of the simulated link between the two ends. */
export interface PairOptions {
  /** Bytes each direction holds (in flight plus unread) before writes wait. Default 64 KiB. */
  readonly capacity?: number;
  /** Largest chunk a read returns; writes are split into pieces this big. Default: unlimited. */
  readonly chunkSize?: number;
  /** Delay between a write being accepted and the bytes becoming readable. Default 0. */
  readonly latencyMs?: number;
  /** Faults for the a→b and b→a directions. */
  readonly faults?: {
    /** Fault in what `a` writes and `b` reads. */
    readonly aToB?: FaultOptions;
    /** Fault in what `b` writes and `a` reads. */
    readonly bToA?: FaultOptions;
  };
  /** Labels of the two ends. Default `['pair:a', 'pair:b']`. */
  readonly labels?: readonly [string, string];
}

const PAIR_CAPABILITIES: FlowCapabilities = Object.freeze({
  halfCloseWrite: 'native',
  halfCloseRead: 'emulated',
  abort: 'rst',
});

/**
 * One direction of the pair: the writer's bytes go into the reader's inbound port, bounded by
 * `capacity` (bytes in flight plus bytes the reader has not taken yet).
 */
class Channel {
  port: InboundPort | undefined;
  private inFlight = 0;
  private delivered = 0;
  private roomWaiter: (() => void) | undefined;
  private broken: FlowError | undefined;

  constructor(
    private readonly capacity: number,
    private readonly chunkSize: number,
    private readonly latencyMs: number,
    private readonly fault: FaultOptions | undefined,
  ) {}

  write(chunks: readonly Uint8Array[], signal: AbortSignal | undefined, transfer = false): WriteResult | Promise<WriteResult> {
    // The common case, answered synchronously: no fault, no latency, whole chunks that fit now.
    if (!this.broken && this.fault === undefined && this.latencyMs <= 0) {
      let total = 0;
      let whole = true;
      for (const chunk of chunks) {
        if (chunk.length > this.chunkSize) whole = false;
        total += chunk.length;
      }
      if (whole && total <= this.capacity - (this.port?.buffered ?? 0)) {
        // Copy unless the caller gave the buffers up: it may reuse them once the write resolves.
        for (const chunk of chunks) this.deliver(transfer ? chunk : copyBytes(chunk));
        return OK;
      }
    }
    return this.writeInPieces(chunks, signal, transfer);
  }

  /** The general case: split to chunkSize and to the room left, wait for room, inject faults. */
  private async writeInPieces(chunks: readonly Uint8Array[], signal: AbortSignal | undefined, transfer: boolean): Promise<WriteResult> {
    let accepted = 0;
    for (const chunk of chunks) {
      let offset = 0;
      while (offset < chunk.length) {
        if (this.broken) return err(this.broken.withBytesAccepted(accepted));
        const room = this.capacity - this.inFlight - (this.port?.buffered ?? 0);
        if (room <= 0) {
          const woke = await this.waitForRoom(signal);
          if (!woke) return err(abortedError(signal?.reason).withBytesAccepted(accepted));
          continue;
        }
        let n = Math.min(room, chunk.length - offset, this.chunkSize);
        const failing = this.fault !== undefined && this.delivered + n >= this.fault.afterBytes;
        if (failing) n = Math.max(0, (this.fault?.afterBytes ?? 0) - this.delivered);
        if (n > 0) {
          // Copy unless the caller gave the buffer up: it may reuse it once the write resolves.
          const whole = offset === 0 && n === chunk.length;
          this.deliver(
            transfer ? (whole ? chunk : chunk.subarray(offset, offset + n)) : copyBytes(chunk, offset, offset + n),
          );
          accepted += n;
          offset += n;
        }
        if (failing) {
          const kind = this.fault?.kind ?? 'reset';
          const error = new FlowError(kind, `injected ${kind} after ${this.fault?.afterBytes} bytes`, {
            code: kind === 'reset' ? 'ECONNRESET' : 'EIO',
          });
          this.break(error, error);
          return err(error.withBytesAccepted(accepted));
        }
      }
    }
    return OK;
  }

  /**
   * The flow never runs two driver writes at once, so at most one writer waits for room here:
   * one slot instead of a set, and an abort listener only when there is a signal.
   */
  private waitForRoom(signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      if (!signal) {
        this.roomWaiter = () => {
          this.roomWaiter = undefined;
          resolve(true);
        };
        return;
      }
      const onAbort = (): void => {
        if (this.roomWaiter === wake) this.roomWaiter = undefined;
        resolve(false);
      };
      const wake = (): void => {
        this.roomWaiter = undefined;
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      this.roomWaiter = wake;
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The reader took bytes, or the channel broke: a writer waiting for room re-checks. */
  wakeWriters(): void {
    this.roomWaiter?.();
  }

  private later(action: () => void): void {
    if (this.latencyMs > 0) setTimeout(action, this.latencyMs);
    else action();
  }

  private deliver(piece: Uint8Array): void {
    this.delivered += piece.length;
    if (this.latencyMs <= 0) {
      this.port?.push(piece);
      return;
    }
    this.inFlight += piece.length;
    setTimeout(() => {
      this.inFlight -= piece.length;
      // Bytes accepted before a break still arrive: timers of equal delay fire in order, so the
      // failure scheduled by break() lands after them.
      this.port?.push(piece);
    }, this.latencyMs);
  }

  /** The writer's end of stream; refused once the direction broke (the FIN cannot arrive). */
  end(): WriteResult {
    if (this.broken) return err(this.broken.withBytesAccepted(0));
    this.later(() => this.port?.end());
    return OK;
  }

  /** The writer gets `writerError` on its next write; the reader gets `readerError` after the data. */
  break(writerError: FlowError, readerError: FlowError): void {
    if (this.broken) return;
    this.broken = writerError;
    this.later(() => this.port?.fail(readerError));
    this.wakeWriters();
  }
}

/**
 * A connected pair of in-memory flows, like `tokio::io::duplex` or libp2p's `streamPair`: what
 * one end writes, the other reads. Each direction has a bounded capacity (backpressure), and can
 * split chunks, add latency and inject faults, for testing code that uses flows.
 */
export function pair(options: PairOptions = {}): [Flow, Flow] {
  const capacity = options.capacity ?? 64 * 1024;
  const chunkSize = options.chunkSize ?? Infinity;
  const latencyMs = options.latencyMs ?? 0;
  if (!(capacity >= 1)) throw new RangeError('capacity must be at least 1 byte');
  if (!(chunkSize >= 1)) throw new RangeError('chunkSize must be at least 1 byte');
  if (!(latencyMs >= 0)) throw new RangeError('latencyMs must be 0 or more');
  const aToB = new Channel(capacity, chunkSize, latencyMs, options.faults?.aToB);
  const bToA = new Channel(capacity, chunkSize, latencyMs, options.faults?.bToA);
  const [labelA, labelB] = options.labels ?? ['pair:a', 'pair:b'];
  const end = (label: string, outbound: Channel, inbound: Channel): Flow =>
    createFlow(
      (port): FlowDriver => {
        inbound.port = port;
        return {
          write: (chunks, signal, transfer) => outbound.write(chunks, signal, transfer),
          shutdownWrite: async () => outbound.end(),
          consumed: () => inbound.wakeWriters(),
          abort: (reason) => {
            const reset = new FlowError('reset', `peer ${label} aborted: ${reason.message}`, {
              code: 'ECONNRESET',
              cause: reason,
            });
            outbound.break(reset, reset);
            inbound.break(reset, reason);
          },
          release: () => undefined,
        };
      },
      // The channel enforces the capacity itself, so the flow's own buffer never pauses it.
      { capabilities: PAIR_CAPABILITIES, label, highWaterMark: capacity + 1 },
    );
  return [end(labelA, aToB, bToA), end(labelB, bToA, aToB)];
}
