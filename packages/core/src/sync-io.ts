import type { Flow, ReadResult, WriteResult } from './flow';

/**
 * Flows made by `createFlow` can answer a read or a write without a promise when the outcome is
 * known at once. `copy` uses it to move a buffered chunk without a microtask per step, and a
 * protocol server (`@flow/9p`) to decode every request of one socket read in one go; everything
 * else goes through the promises of the `Flow` interface.
 */
export const SYNC_IO = Symbol('flow.syncIo');

/**
 * The synchronous face of a flow (see {@link syncIoOf}): reads that are answered at once and a
 * callback when one would be, for hot loops where a promise per chunk costs more than the work.
 */
export interface SyncIo {
  /**
   * A read that completes without waiting: what `read()` would resolve with, or undefined when
   * it would wait or another read is already waiting (that one comes first).
   */
  readNow(): ReadResult | undefined;
  /**
   * Calls `listener` once, synchronously, as soon as a read could complete (data, EOF, an error,
   * abort), in turn with reads already waiting. It takes nothing itself. Returns a cancel.
   */
  whenReadable(listener: () => void): () => void;
  /** `write(chunk, { signal, transfer: true })`: its result itself when it settled at once. */
  writeNow(chunk: Uint8Array, signal: AbortSignal | undefined): WriteResult | Promise<WriteResult>;
}

/**
 * The flow's synchronous face, if it has one (flows of `createFlow`, and wrappers that read and
 * write by plain delegation); undefined otherwise, and then only the promises of `Flow` serve.
 */
export function syncIoOf(flow: Flow): SyncIo | undefined {
  return (flow as { [SYNC_IO]?: SyncIo })[SYNC_IO];
}

export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown }).then === 'function';
}
