import {
  EOF,
  FlowError,
  FlowWrapper,
  OK,
  closedError,
  err,
  ok,
  type CloseOptions,
  type Flow,
  type ReadIntoResult,
  type ReadOptions,
  type ReadResult,
  type ReadState,
  type ShutdownOptions,
  type WriteOptions,
  type WriteResult,
  type WriteState,
} from '@flow/core';
import type { Console, ConsoleBackend } from './console';
import type { LineEnding } from './line-ending';

/** What a backend hands to the shared console wrapper. */
export interface ConsoleParts {
  readonly backend: ConsoleBackend;
  readonly flow: Flow;
  readonly lineEnding: LineEnding;
  /** Settles once the backend gave back everything (after the flow was closed or aborted). */
  readonly released: () => Promise<void>;
}

/** The reason pending operations see when the console is disconnected. */
function disconnectedError(): FlowError {
  return new FlowError('closed', 'the console was disconnected');
}

/**
 * The part every backend shares: a flow with `log` and `disconnect` on top. Backends extend it
 * with their own accessors (window size, exit status, device settings).
 */
export class ConsoleFlow extends FlowWrapper implements Console {
  readonly backend: ConsoleBackend;
  readonly lineEnding: LineEnding;
  private readonly releasedHook: () => Promise<void>;
  private disconnectPromise: Promise<void> | undefined;

  constructor(parts: ConsoleParts) {
    super(parts.flow);
    this.backend = parts.backend;
    this.lineEnding = parts.lineEnding;
    this.releasedHook = parts.released;
  }

  get disconnected(): boolean {
    return this.disconnectPromise !== undefined;
  }

  override read(options?: ReadOptions): Promise<ReadResult> {
    if (this.disconnected) return Promise.resolve(ok(EOF));
    return this.inner.read(options).then((r) => (!r.ok && this.disconnected ? ok(EOF) : r));
  }

  override readInto(buffer: Uint8Array, options?: ReadOptions): Promise<ReadIntoResult> {
    if (this.disconnected) return Promise.resolve(ok(EOF));
    return this.inner.readInto(buffer, options).then((r) => (!r.ok && this.disconnected ? ok(EOF) : r));
  }

  override write(buffer: Uint8Array, options?: WriteOptions): Promise<WriteResult> {
    if (this.disconnected) return Promise.resolve(err(closedError()));
    return this.inner.write(buffer, options);
  }

  override writev(buffers: readonly Uint8Array[], options?: WriteOptions): Promise<WriteResult> {
    if (this.disconnected) return Promise.resolve(err(closedError()));
    return this.inner.writev(buffers, options);
  }

  override shutdownWrite(options?: ShutdownOptions): Promise<WriteResult> {
    if (this.disconnected) return Promise.resolve(OK);
    return this.inner.shutdownWrite(options);
  }

  override shutdownRead(options?: ShutdownOptions): Promise<WriteResult> {
    if (this.disconnected) return Promise.resolve(OK);
    return this.inner.shutdownRead(options);
  }

  override close(options?: CloseOptions): Promise<WriteResult> {
    if (this.disconnected) return Promise.resolve(OK);
    return this.inner.close(options);
  }

  log(line: string): Promise<void> {
    if (typeof line !== 'string') throw new TypeError('log needs a string');
    // Mirage: "If close was called before, str is discarded silently".
    if (this.disconnected || this.inner.state !== 'open' || this.inner.writeState !== 'open') {
      return Promise.resolve();
    }
    return this.inner.write(Buffer.from(line + this.lineEnding, 'utf8')).then(() => undefined);
  }

  disconnect(): Promise<void> {
    if (this.disconnectPromise) return this.disconnectPromise;
    // Set before the first await so that concurrent calls and later operations see it.
    this.disconnectPromise = (async () => {
      this.inner.abort(disconnectedError());
      await this.inner.closed;
      await this.releasedHook().catch(() => undefined);
    })();
    return this.disconnectPromise;
  }

  /**
   * `await using con = …`: the close handshake bounded by `DISPOSE_TIMEOUT_MS` (then abort), as
   * for every flow, and then `disconnect()`, so that what the backend holds (a terminal's mode,
   * a child program, a device) is released when the scope ends. Never rejects.
   */
  override async [Symbol.asyncDispose](): Promise<void> {
    await super[Symbol.asyncDispose]();
    await this.disconnect().catch(() => undefined);
  }

  override get readState(): ReadState {
    return this.disconnected ? 'shut' : this.inner.readState;
  }

  override get writeState(): WriteState {
    return this.disconnected ? 'shut' : this.inner.writeState;
  }
}
