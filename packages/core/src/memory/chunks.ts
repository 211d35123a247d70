import { closedError, fromNodeError, type FlowError } from '../errors';
import { createFlow, type FlowDriver } from '../driver-flow';
import type { Flow, FlowCapabilities } from '../flow';
import { err, OK } from '../result';
import { copyBytes } from '../bytes';

/** What {@link fromChunks} reads from: byte chunks or strings (UTF-8), synchronously or not. */
export type ChunkSource = Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

const SOURCE_CAPABILITIES: FlowCapabilities = Object.freeze({
  halfCloseWrite: 'none',
  halfCloseRead: 'emulated',
  abort: 'close',
  notes: ['read-only in-memory flow: every write returns closed'],
});

const SINK_CAPABILITIES: FlowCapabilities = Object.freeze({
  halfCloseWrite: 'emulated',
  halfCloseRead: 'none',
  abort: 'close',
  notes: ['write-only in-memory flow: reads return EOF'],
});

function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : copyBytes(chunk);
}

/**
 * A read-only flow that returns `chunks` one per read, in order (empty ones skipped), then EOF;
 * writes return `closed` (mirage's `F.input_strings`). Strings are encoded as UTF-8.
 */
export function fromChunks(chunks: ChunkSource, options: { label?: string } = {}): Flow {
  return createFlow(
    (port): FlowDriver => {
      const iterator: Iterator<Uint8Array | string> | AsyncIterator<Uint8Array | string> =
        Symbol.asyncIterator in chunks
          ? (chunks as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]()
          : (chunks as Iterable<Uint8Array | string>)[Symbol.iterator]();
      let paused = false;
      let pumping = false;
      let stopped = false;
      const pump = async (): Promise<void> => {
        if (pumping) return;
        pumping = true;
        try {
          while (!paused && !stopped) {
            const next = await iterator.next();
            if (stopped) break;
            if (next.done) {
              stopped = true;
              port.end();
              break;
            }
            const bytes = toBytes(next.value);
            if (bytes.length > 0) port.push(bytes);
          }
        } catch (cause) {
          stopped = true;
          port.fail(fromCause(cause));
        } finally {
          pumping = false;
        }
      };
      queueMicrotask(() => void pump());
      const stop = (): void => {
        if (stopped) return;
        stopped = true;
        void iterator.return?.();
      };
      return {
        write: async () => err(closedError()),
        shutdownWrite: async () => OK,
        shutdownRead: stop,
        pause: () => {
          paused = true;
        },
        resume: () => {
          paused = false;
          void pump();
        },
        abort: stop,
        release: stop,
      };
    },
    { capabilities: SOURCE_CAPABILITIES, label: options.label ?? 'chunks', closeWaitsForPeer: false, writeClosed: true },
  );
}

function fromCause(cause: unknown): FlowError {
  return fromNodeError(cause, 'chunk source failed');
}

/** A write-only in-memory flow and what was written to it. */
export interface Sink {
  /** The write side; reads return EOF at once. */
  readonly flow: Flow;
  /** Every accepted piece, in order (copies). */
  readonly chunks: readonly Uint8Array[];
  /** All accepted bytes, concatenated. */
  bytes(): Buffer;
  /** Resolves when the flow was shut down for writing, closed or aborted. */
  readonly ended: Promise<void>;
}

/** Options of {@link sink}. */
export interface SinkOptions {
  /**
   * Accept at most this many bytes in all; a write that does not fit is accepted in part and
   * returns `closed` with `bytesAccepted` (mirage's fixed-size `F.output_bytes`). Default: no limit.
   */
  readonly limit?: number;
  /** The flow's `label` for logs. Default `'sink'`. */
  readonly label?: string;
}

/** A write-only flow that records what is written (mirage's `F.output_*`), for tests. */
export function sink(options: SinkOptions = {}): Sink {
  const limit = options.limit ?? Infinity;
  if (!(limit >= 0)) throw new RangeError('limit must be 0 or more');
  const chunks: Uint8Array[] = [];
  let total = 0;
  let full = false;
  let endedResolve!: () => void;
  const ended = new Promise<void>((r) => (endedResolve = r));
  const flow = createFlow(
    (port): FlowDriver => {
      port.end();
      return {
        async write(pieces) {
          let accepted = 0;
          for (const piece of pieces) {
            const room = limit - total;
            if (full || room <= 0) {
              full = true;
              return err(closedError(accepted));
            }
            const n = Math.min(room, piece.length);
            chunks.push(copyBytes(piece, 0, n));
            total += n;
            accepted += n;
            if (n < piece.length) {
              full = true;
              return err(closedError(accepted));
            }
          }
          return OK;
        },
        shutdownWrite: async () => {
          endedResolve();
          return OK;
        },
        abort: () => endedResolve(),
        release: () => endedResolve(),
      };
    },
    { capabilities: SINK_CAPABILITIES, label: options.label ?? 'sink', closeWaitsForPeer: false },
  );
  return {
    flow,
    chunks,
    bytes: () => Buffer.concat(chunks),
    ended,
  };
}
