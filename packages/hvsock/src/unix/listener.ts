import { chmodSync, existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { AcceptQueue, disposeListener, endFlows, err, FlowError, fromNodeError, ok, type AcceptOptions, type Listener, type Result } from '@flow/core';
import type { HvsockFlow } from '../flow';
import { checkSocketPath } from './path-limit';
import { checkBufferSize } from './socket-flow';
import { probeSocketFile, unlinkIfStale } from './stale-socket';

/** Options shared by the listeners that bind a Unix socket (hybrid vsock, Hyperkit). */
export interface UnixListenOptions {
  /** Read buffer per accepted flow before its socket is paused. Default 256 KiB. */
  readonly bufferSize?: number;
  /**
   * The kernel's accept backlog, and the number of connections queued for `accept()` before
   * new ones are dropped. Default 511.
   */
  readonly backlog?: number;
  /**
   * Most live flows from this listener at once; connections beyond it are closed at once, so
   * that a guest opening connections in a loop cannot exhaust file descriptors. Default 10000.
   */
  readonly maxConnections?: number;
  /**
   * Permissions of the socket file (e.g. `0o600`: only this user may connect), set right after
   * bind() returns and before the listener is handed out. Connecting to a Unix socket needs
   * write permission on it. Between bind() and chmod() the file briefly has the umask's
   * permissions; for a hard guarantee, put the socket in a directory only you can enter.
   */
  readonly mode?: number;
  /**
   * Remove a socket file that nobody listens on (left by a process that died) before binding.
   * A file someone listens on, or that is not a socket, is never removed. Default true: a VMM
   * restart must not need manual cleanup.
   */
  readonly unlinkStale?: boolean;
}

/** A bound Unix socket whose connections arrive as flows. */
export interface UnixSocketListener<Address> extends Listener<Address, HvsockFlow> {
  /** The socket file this listener bound. */
  readonly path: string;
  /** Live flows that came from this listener (accepted or still queued). */
  readonly connections: number;
  accept(options?: AcceptOptions): Promise<Result<HvsockFlow, FlowError>>;
  /**
   * `for await (const flow of listener)`: each accepted flow in turn. The loop ends, without
   * throwing, at the first `accept` that fails: after `close`, or when the listener failed.
   */
  [Symbol.asyncIterator](): AsyncIterator<HvsockFlow>;
  /** Stops accepting and removes the socket file; live flows are untouched. */
  close(): Promise<void>;
  /**
   * Stops accepting and ends every live flow: with `timeoutMs` each flow gets that long for the
   * close handshake before it is aborted; without it, flows are aborted at once. Resolves when
   * every flow is released.
   */
  closeAll(options?: { readonly timeoutMs?: number }): Promise<void>;
  /** `await using`: the same as `close` (live flows are untouched), never rejecting. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What a transport tells the shared listener. */
export interface UnixListenSpec<Address> {
  readonly path: string;
  readonly address: Address;
  /** For messages: "the hybrid vsock listener for port 52". */
  readonly what: string;
  /** Turns an accepted socket into the transport's flow. */
  readonly wrap: (socket: Socket) => HvsockFlow;
}

const DEFAULT_BACKLOG = 511;
const DEFAULT_MAX_CONNECTIONS = 10000;

/** Throws for malformed listener options (programmer errors). */
export function checkListenOptions(options: UnixListenOptions): void {
  const { backlog, maxConnections, mode } = options;
  checkBufferSize(options.bufferSize);
  if (backlog !== undefined && !(Number.isInteger(backlog) && backlog >= 1)) throw new RangeError('backlog must be an integer >= 1');
  if (maxConnections !== undefined && !(Number.isInteger(maxConnections) && maxConnections >= 1)) {
    throw new RangeError('maxConnections must be an integer >= 1');
  }
  if (mode !== undefined && !(Number.isInteger(mode) && mode >= 0 && mode <= 0o7777)) {
    throw new RangeError(`mode must be a permission number such as 0o600, got ${String(mode)}`);
  }
}

/**
 * Binds `spec.path` and listens. A stale socket file is removed first (unless `unlinkStale` is
 * false); a live one, or a file that is not a socket, gives an `in-use` error that says which.
 */
export function listenUnixSocket<Address>(
  spec: UnixListenSpec<Address>,
  options: UnixListenOptions,
): Promise<Result<UnixSocketListener<Address>, FlowError>> {
  // Thrown here, synchronously: a bad option is the caller's bug, not a result.
  checkListenOptions(options);
  return bindListener(spec, options);
}

async function bindListener<Address>(spec: UnixListenSpec<Address>, options: UnixListenOptions): Promise<Result<UnixSocketListener<Address>, FlowError>> {
  const tooLong = checkSocketPath(spec.path, `the socket path of ${spec.what}`);
  if (tooLong) return err(tooLong);
  const listener = new SocketListener(spec, options);
  let r = await listener.bind();
  if (!r.ok && r.error.code === 'EADDRINUSE') {
    const state = await probeSocketFile(spec.path);
    if (state === 'stale' && options.unlinkStale !== false && (await unlinkIfStale(spec.path))) {
      r = await listener.bind();
    } else if (state === 'absent') {
      // Someone removed it between our bind and the probe: one more try.
      r = await listener.bind();
    } else {
      return err(inUseError(r.error, spec, state));
    }
  }
  if (!r.ok) return err(describeBindError(r.error, spec));
  return ok(listener);
}

function inUseError<Address>(e: FlowError, spec: UnixListenSpec<Address>, state: string): FlowError {
  const opts = { code: e.code, syscall: e.syscall ?? 'bind', cause: e };
  const where = `cannot bind ${spec.what} at ${spec.path}`;
  if (state === 'stale') {
    return new FlowError('in-use', `${where}: it is a stale socket file (nobody listens on it); remove it, or leave unlinkStale on`, opts);
  }
  if (state === 'not-a-socket') return new FlowError('in-use', `${where}: the path exists and is not a socket (it is never removed)`, opts);
  return new FlowError('in-use', `${where}: another process is listening on it`, opts);
}

function describeBindError<Address>(e: FlowError, spec: UnixListenSpec<Address>): FlowError {
  const opts = { code: e.code, syscall: e.syscall ?? 'bind', errno: e.errno, cause: e };
  const where = `cannot bind ${spec.what} at ${spec.path}`;
  const dir = dirname(spec.path);
  // libuv reports a missing directory as EACCES (uv_pipe_bind maps ENOENT to EACCES).
  if (e.kind === 'not-found' || (e.kind === 'permission' && !existsSync(dir))) {
    return new FlowError('not-found', `${where}: the directory ${dir} does not exist`, opts);
  }
  if (e.kind === 'permission') return new FlowError('permission', `${where}: permission denied`, opts);
  return new FlowError(e.kind, `${where}: ${e.message}`, opts);
}

class SocketListener<Address> implements UnixSocketListener<Address> {
  private server: Server | undefined;
  private readonly queue: AcceptQueue;
  private readonly live = new Set<HvsockFlow>();
  private readonly maxConnections: number;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly spec: UnixListenSpec<Address>,
    private readonly options: UnixListenOptions,
  ) {
    this.queue = new AcceptQueue(options.backlog ?? DEFAULT_BACKLOG);
    this.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  }

  get address(): Address {
    return this.spec.address;
  }

  get path(): string {
    return this.spec.path;
  }

  get connections(): number {
    return this.live.size;
  }

  get closedForAccept(): boolean {
    return this.closing !== undefined;
  }

  /** One bind attempt on a fresh server; on success it becomes this listener's server. */
  bind(): Promise<Result<void, FlowError>> {
    // The connection handler is there from the start, so that no early connection is left
    // without an owner.
    const server = createServer({ allowHalfOpen: true }, (socket) => this.onConnection(socket));
    const { mode } = this.options;
    return new Promise((resolve) => {
      let modeSet = mode === undefined;
      const fail = (e: FlowError): void => {
        server.off('listening', onListening);
        server.off('error', onError);
        server.close();
        resolve(err(e));
      };
      const setMode = (): boolean => {
        if (modeSet) return true;
        try {
          chmodSync(this.spec.path, mode as number);
          modeSet = true;
          return true;
        } catch (e) {
          fail(fromNodeError(e, `cannot set mode ${(mode as number).toString(8)} on ${this.spec.path}`));
          return false;
        }
      };
      const onError = (e: unknown): void => fail(fromNodeError(e));
      const onListening = (): void => {
        if (!setMode()) return;
        server.off('error', onError);
        // Accept failures (EMFILE, ...) are reported here; they must not crash the process,
        // and libuv keeps accepting once the condition clears.
        server.on('error', () => undefined);
        this.server = server;
        resolve(ok(undefined));
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen({ path: this.spec.path, backlog: this.options.backlog ?? DEFAULT_BACKLOG });
      // Node binds a Unix socket synchronously: set the mode now, before the event loop can
      // accept a single connection, rather than a turn later.
      if (server.listening) setMode();
    });
  }

  private onConnection(socket: Socket): void {
    socket.on('error', () => undefined);
    if (this.closing || this.server === undefined || this.live.size >= this.maxConnections) {
      socket.destroy();
      return;
    }
    let flow: HvsockFlow;
    try {
      flow = this.spec.wrap(socket);
    } catch {
      // The peer was gone before we could set it up.
      socket.destroy();
      return;
    }
    this.live.add(flow);
    void flow.closed.then(() => this.live.delete(flow));
    this.queue.offer(flow);
  }

  async accept(options?: AcceptOptions): Promise<Result<HvsockFlow, FlowError>> {
    // Only HvsockFlows are ever offered to the queue.
    return (await this.queue.accept(options)) as Result<HvsockFlow, FlowError>;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<HvsockFlow> {
    for (;;) {
      const r = await this.accept();
      if (!r.ok) return;
      yield r.value;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return disposeListener(this);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.queue.close();
    // server.close() closes the listening socket and unlinks its file at once; its callback
    // would wait for every live connection, which must not matter here.
    this.closing = new Promise<void>((resolve) => {
      try {
        this.server?.close();
      } catch {
        // Already closed.
      }
      setImmediate(resolve);
    });
    return this.closing;
  }

  async closeAll(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    await this.close();
    await endFlows(this.live, options);
  }
}
