import type {
  CloseOptions,
  Flow,
  FlowCapabilities,
  FlowError,
  FlowState,
  FlowStats,
  ReadIntoResult,
  ReadOptions,
  ReadResult,
  ReadState,
  WriteOptions,
  WriteResult,
  WriteState,
} from '@flow/core';

/**
 * A flow that forwards everything to another one. The suite's self-tests subclass it to break
 * one part of the contract on purpose and check that the suite notices.
 */
export class WrappedFlow implements Flow {
  constructor(protected readonly inner: Flow) {}
  read(options?: ReadOptions): Promise<ReadResult> {
    return this.inner.read(options);
  }
  readInto(buffer: Uint8Array, options?: ReadOptions): Promise<ReadIntoResult> {
    return this.inner.readInto(buffer, options);
  }
  write(buffer: Uint8Array, options?: WriteOptions): Promise<WriteResult> {
    return this.inner.write(buffer, options);
  }
  writev(buffers: readonly Uint8Array[], options?: WriteOptions): Promise<WriteResult> {
    return this.inner.writev(buffers, options);
  }
  shutdownWrite(): Promise<WriteResult> {
    return this.inner.shutdownWrite();
  }
  shutdownRead(): Promise<WriteResult> {
    return this.inner.shutdownRead();
  }
  close(options?: CloseOptions): Promise<WriteResult> {
    return this.inner.close(options);
  }
  abort(reason?: unknown): void {
    this.inner.abort(reason);
  }
  get stats(): FlowStats {
    return this.inner.stats;
  }
  get capabilities(): FlowCapabilities {
    return this.inner.capabilities;
  }
  get readState(): ReadState {
    return this.inner.readState;
  }
  get writeState(): WriteState {
    return this.inner.writeState;
  }
  get state(): FlowState {
    return this.inner.state;
  }
  get closed(): Promise<FlowError | undefined> {
    return this.inner.closed;
  }
  get label(): string {
    return this.inner.label;
  }
}
