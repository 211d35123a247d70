import { FlowWrapper, isEOF, type Flow, type ReadIntoResult, type ReadOptions, type ReadResult, type WriteOptions, type WriteResult } from '@flow/core';

/**
 * A view of a flow that reports every byte read and every byte accepted for writing. The 9P
 * client only offers whole-file reads and writes, so a progress bar for get/put counts the bytes
 * on the wire instead (the payload plus a few header bytes per message).
 */
class MeteredFlow extends FlowWrapper {
  constructor(
    flow: Flow,
    private readonly onRead: (bytes: number) => void,
    private readonly onWrite: (bytes: number) => void,
  ) {
    super(flow);
  }

  override async read(options?: ReadOptions): Promise<ReadResult> {
    const r = await this.inner.read(options);
    if (r.ok && !isEOF(r.value)) this.onRead(r.value.length);
    return r;
  }

  override async readInto(buffer: Uint8Array, options?: ReadOptions): Promise<ReadIntoResult> {
    const r = await this.inner.readInto(buffer, options);
    if (r.ok && typeof r.value === 'number') this.onRead(r.value);
    return r;
  }

  override async write(buffer: Uint8Array, options?: WriteOptions): Promise<WriteResult> {
    const r = await this.inner.write(buffer, options);
    if (r.ok) this.onWrite(buffer.length);
    return r;
  }

  override async writev(buffers: readonly Uint8Array[], options?: WriteOptions): Promise<WriteResult> {
    const r = await this.inner.writev(buffers, options);
    if (r.ok) this.onWrite(buffers.reduce((n, b) => n + b.length, 0));
    return r;
  }
}

export function meteredFlow(flow: Flow, onRead: (bytes: number) => void, onWrite: (bytes: number) => void): Flow {
  return new MeteredFlow(flow, onRead, onWrite);
}
