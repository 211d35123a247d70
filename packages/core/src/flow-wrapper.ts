import type { FlowError } from './errors';
import type {
  CloseOptions,
  Flow,
  FlowCapabilities,
  FlowState,
  ReadIntoResult,
  ReadOptions,
  ReadResult,
  ReadState,
  ShutdownOptions,
  WriteOptions,
  WriteResult,
  WriteState,
} from './flow';
import type { FlowStats } from './stats';
import { SYNC_IO, syncIoOf, type SyncIo } from './sync-io';
import { iterateFlow } from './adapters/iterate-flow';
import { disposeFlow } from './dispose';
import { PEER_FAILURE, peerFailureWatchOf, type WatchPeerFailure } from './peer-failure';
import { DESCRIPTOR_LENDER, descriptorLenderOf, type DescriptorLender } from './descriptor-loan';

/**
 * A flow that hands every operation to `inner`: the base for layers that add a few methods or
 * change one behaviour (a TCP flow's `dst` and `writeNodelay`, a console's `log`), so that each
 * overrides only what it changes. Closing or aborting the wrapper closes or aborts `inner`.
 */
export class FlowWrapper implements Flow {
  /** @param inner - The wrapped flow: every operation is handed to it, and subclasses call it for what they do not change. */
  constructor(protected readonly inner: Flow) {}

  /**
   * The inner flow's synchronous face for `copy`, as long as this layer reads and writes by
   * plain delegation: a subclass that changes `read` or `write` must see every call.
   * @hidden
   */
  get [SYNC_IO](): SyncIo | undefined {
    const plain = FlowWrapper.prototype;
    if (this.read !== plain.read || this.write !== plain.write) return undefined;
    return syncIoOf(this.inner);
  }

  /**
   * The inner flow's watch on its peer's failure: a layer that changes reads or writes does not
   * change whether the peer reset.
   * @hidden
   */
  get [PEER_FAILURE](): WatchPeerFailure | undefined {
    return peerFailureWatchOf(this.inner);
  }

  /**
   * The inner flow's descriptor lender, as long as this layer reads and writes by plain
   * delegation: a copy engine would bypass a layer that changes the bytes or counts them.
   * @hidden
   */
  get [DESCRIPTOR_LENDER](): DescriptorLender | undefined {
    const plain = FlowWrapper.prototype;
    if (this.read !== plain.read || this.write !== plain.write || this.writev !== plain.writev) return undefined;
    return descriptorLenderOf(this.inner);
  }

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

  shutdownWrite(options?: ShutdownOptions): Promise<WriteResult> {
    return this.inner.shutdownWrite(options);
  }

  shutdownRead(options?: ShutdownOptions): Promise<WriteResult> {
    return this.inner.shutdownRead(options);
  }

  /** Iterates through this layer's own `read`, so that an override of it is seen. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return iterateFlow(this);
  }

  /** Disposes through this layer's own `close`, so that an override of it is seen. */
  [Symbol.asyncDispose](): Promise<void> {
    return disposeFlow(this);
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
