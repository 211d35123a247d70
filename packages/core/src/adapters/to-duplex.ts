import { Duplex } from 'node:stream';
import { abortedError, fromNodeError, type FlowError } from '../errors';
import type { Result } from '../result';
import { EOF, type Flow } from '../flow';

/** Options of {@link toDuplex}: the buffer sizes of the returned `Duplex`. */
export interface ToDuplexOptions {
  /** Bytes the readable side buffers ahead of its consumer. Default Node's (16 KiB). */
  readonly readableHighWaterMark?: number;
  /** Bytes the writable side queues before `write()` returns false. Default Node's (16 KiB). */
  readonly writableHighWaterMark?: number;
}

/**
 * A Node `Duplex` over a flow, for APIs that want Node streams (`stream.pipeline`, `http`,
 * parsers). It follows the Duplex contract, errors included: a failed read or write destroys
 * the duplex with the flow's `FlowError`, which Node emits as `'error'`.
 *
 * - reading pulls `flow.read()` as the consumer asks (backpressure through `push()`); the
 *   flow's EOF ends the readable side;
 * - `write`/`writev` resolve their callbacks when the flow accepted the bytes;
 * - `end()` runs `flow.shutdownWrite()` (`allowHalfOpen` is true: the readable side goes on);
 * - `destroy(error)` aborts the flow; `destroy()` after both sides finished (as `autoDestroy`
 *   does) closes it with the handshake; `destroy()` earlier aborts it, since Node drops what is
 *   queued anyway.
 */
export function toDuplex(flow: Flow, options: ToDuplexOptions = {}): Duplex {
  let pulling = false;
  const duplex: Duplex = new Duplex({
    allowHalfOpen: true,
    readableHighWaterMark: options.readableHighWaterMark,
    writableHighWaterMark: options.writableHighWaterMark,
    read() {
      if (pulling) return;
      pulling = true;
      void pull();
    },
    write(chunk: Buffer, _encoding, callback) {
      settle(flow.write(chunk), callback);
    },
    writev(chunks: { chunk: Buffer }[], callback) {
      settle(
        flow.writev(chunks.map((c) => c.chunk)),
        callback,
      );
    },
    final(callback) {
      settle(flow.shutdownWrite(), callback);
    },
    destroy(error, callback) {
      if (error) {
        flow.abort(error);
        callback(error);
        return;
      }
      if (duplex.readableEnded && duplex.writableFinished) {
        settle(flow.close(), callback);
        return;
      }
      flow.abort(abortedError('the duplex was destroyed'));
      callback(null);
    },
  });

  const pull = async (): Promise<void> => {
    for (;;) {
      const r = await flow.read();
      if (duplex.destroyed) return;
      if (!r.ok) {
        duplex.destroy(r.error);
        return;
      }
      if (r.value === EOF) {
        duplex.push(null);
        return;
      }
      if (!duplex.push(r.value)) break;
    }
    pulling = false;
  };

  return duplex;
}

/** Calls a Node callback with a flow result: `null` on success, the `FlowError` otherwise. */
function settle(promise: Promise<Result<void, FlowError>>, callback: (error?: Error | null) => void): void {
  promise.then(
    (r) => callback(r.ok ? null : r.error),
    // Flow operations resolve with results; a rejection would be a bug, reported rather than lost.
    (e: unknown) => callback(fromNodeError(e)),
  );
}
