import type { CloseOptions, Flow, ReadOptions, WriteOptions } from '@flow/core';
import { isEOF } from '@flow/core';

/**
 * A view of `flow` that reports every byte read and every byte accepted for writing. The 9P
 * client only offers whole-file reads and writes, so a progress bar for get/put counts the bytes
 * on the wire instead (the payload plus a few header bytes per message).
 */
export function meteredFlow(flow: Flow, onRead: (bytes: number) => void, onWrite: (bytes: number) => void): Flow {
  const total = (bufs: readonly Uint8Array[]): number => bufs.reduce((n, b) => n + b.length, 0);
  return {
    async read(options?: ReadOptions) {
      const r = await flow.read(options);
      if (r.ok && !isEOF(r.value)) onRead(r.value.length);
      return r;
    },
    async readInto(buffer: Uint8Array, options?: ReadOptions) {
      const r = await flow.readInto(buffer, options);
      if (r.ok && typeof r.value === 'number') onRead(r.value);
      return r;
    },
    async write(buffer: Uint8Array, options?: WriteOptions) {
      const r = await flow.write(buffer, options);
      if (r.ok) onWrite(buffer.length);
      return r;
    },
    async writev(buffers: readonly Uint8Array[], options?: WriteOptions) {
      const r = await flow.writev(buffers, options);
      if (r.ok) onWrite(total(buffers));
      return r;
    },
    shutdownWrite: () => flow.shutdownWrite(),
    shutdownRead: () => flow.shutdownRead(),
    close: (options?: CloseOptions) => flow.close(options),
    abort: (reason?: unknown) => flow.abort(reason),
    get stats() {
      return flow.stats;
    },
    get capabilities() {
      return flow.capabilities;
    },
    get readState() {
      return flow.readState;
    },
    get writeState() {
      return flow.writeState;
    },
    get state() {
      return flow.state;
    },
    get closed() {
      return flow.closed;
    },
    get label() {
      return flow.label;
    },
  };
}
