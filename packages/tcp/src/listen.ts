import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { AcceptQueue, disposeListener, withDirectReads, endFlows, err, FlowError, fromNodeError, ok, type AcceptOptions, type Listener, type Result } from '@flow/core';
import { checkPort, checkUnixPathLength, formatEndpoint, ipEndpoint, parseEndpoint, type Endpoint, type IpEndpoint, type ListenTarget, type UnixEndpoint } from './endpoint';
import { applyKeepalive, checkKeepalive, type Keepalive } from './keepalive';
import { probeSocketFile, unlinkIfStale } from './stale-socket';
import { wrapSocket, type TcpFlow } from './tcp-flow';

/** Options of `listen`. */
export interface ListenOptions {
  /** Keepalive for every accepted flow, applied before it is handed out. */
  readonly keepalive?: Keepalive;
  /**
   * The number of flows queued for `accept()`. Connections that come while the queue is full
   * wait, accepted but unread (their bytes stay in the kernel), until `accept()` makes room;
   * only beyond `maxConnections` are they reset. Default 511 (Node's default). The kernel's
   * listen backlog is at least 4096 (capped by `net.core.somaxconn`), whatever this says.
   */
  readonly backlog?: number;
  /** Turn Nagle's algorithm off on every accepted flow. */
  readonly noDelay?: boolean;
  /**
   * For Unix-domain sockets: if the path is a socket file that nobody listens on (left by a
   * process that died), remove it and bind. A file someone listens on, or that is not a socket,
   * is never removed. Default false: such a path gives an `in-use` error that says what to do.
   */
  readonly unlinkStale?: boolean;
  /**
   * Most connections from this listener at once, live flows and connections waiting for room
   * in the accept queue together; connections beyond it are reset at once (and reported to
   * `onRefused`), so a flood of peers cannot exhaust file descriptors. Default 10000.
   */
  readonly maxConnections?: number;
  /**
   * Told about every connection reset because `maxConnections` was reached: who it came from
   * and why. Node accepts every connection the kernel offers (a listening socket cannot be
   * paused), so this is the only place such a refusal shows.
   */
  readonly onRefused?: (peer: Endpoint, reason: FlowError) => void;
  /** Read buffer per flow before its socket is paused. Default 256 KiB. */
  readonly highWaterMark?: number;
}

/**
 * A listening socket whose connections arrive as TcpFlows (mirage's `listen` / `unlisten`).
 * `A` is the kind of address it is bound to: `IpEndpoint` (read `address.port` without a
 * cast) when `listen` was given a `tcp:` URI or a port, `UnixEndpoint` for a `unix:` URI or a path.
 */
export interface TcpListener<A extends Endpoint = Endpoint> extends Listener<A, TcpFlow> {
  /** Live flows that came from this listener (accepted or still queued), and connections waiting for room in the queue. */
  readonly connections: number;
  /** Connections reset because `maxConnections` was reached. */
  readonly refused: number;
  accept(options?: AcceptOptions): Promise<Result<TcpFlow, FlowError>>;
  /** `for await (const flow of listener)`: accepts until the listener is closed. */
  [Symbol.asyncIterator](): AsyncIterator<TcpFlow>;
  /** Stop accepting (mirage's `unlisten`): the socket is closed, live flows are untouched. */
  close(): Promise<void>;
  /** The same as `close`. */
  unlisten(): Promise<void>;
  /** `await using`: the same as `close` (live flows are untouched), never rejecting. */
  [Symbol.asyncDispose](): Promise<void>;
  /**
   * Stop accepting and end every live flow (mirage's `disconnect`): with `timeoutMs` each flow
   * gets that long for the close handshake before it is aborted; without it, flows are aborted
   * (TCP RST) at once. Resolves when every flow is released.
   */
  closeAll(options?: { readonly timeoutMs?: number }): Promise<void>;
}

const DEFAULT_BACKLOG = 511;
/**
 * The least listen backlog asked of the kernel. A burst of connections waits there until the
 * event loop accepts it; a backlog it overflows makes Linux answer with SYN cookies, drop their
 * ACKs while the backlog is full, then reset the connections whose later segments fail the
 * cookie check (358 of 2000 clients arriving at once through `flow proxy` with 511). Holding a
 * connection there costs no more than holding it in `waiting` after accepting it.
 */
const KERNEL_BACKLOG = 4096;
const DEFAULT_MAX_CONNECTIONS = 10000;

function checkListenTarget(target: ListenTarget): ListenTarget {
  if (typeof target !== 'object' || target === null) throw new TypeError('listen needs a URI string or { host?, port } or { path }');
  if ('path' in target) {
    if (typeof target.path !== 'string' || target.path === '') throw new TypeError('path must be a non-empty string');
    return target;
  }
  if (target.host !== undefined && (typeof target.host !== 'string' || target.host === '')) {
    throw new TypeError('host must be a non-empty string when given');
  }
  checkPort(target.port, true);
  return target;
}

function checkOptions(options: ListenOptions): void {
  const { backlog, maxConnections, keepalive, highWaterMark } = options;
  if (backlog !== undefined && !(Number.isInteger(backlog) && backlog >= 1)) throw new RangeError('backlog must be an integer >= 1');
  if (maxConnections !== undefined && !(maxConnections >= 1)) throw new RangeError('maxConnections must be >= 1');
  if (highWaterMark !== undefined && !(highWaterMark > 0)) throw new RangeError('highWaterMark must be > 0');
  if (keepalive !== undefined) checkKeepalive(keepalive);
}

/**
 * Binds and listens. `tcp://127.0.0.1:0` (port 0: the kernel picks one; read it from
 * `address`), `tcp://[::]:0` or `{ port }` without a host (dual-stack: IPv4 peers appear as
 * IPv4), `unix:///path`. Resolves with the listener or a typed error (`in-use`, `permission`,
 * `invalid` for a malformed URI, ...). Throws only for bad arguments (a port outside 0-65535).
 */
export function listen(target: `unix:${string}` | { readonly path: string }, options?: ListenOptions): Promise<Result<TcpListener<UnixEndpoint>, FlowError>>;
export function listen(
  target: `tcp:${string}` | { readonly host?: string; readonly port: number; readonly ipv6Only?: boolean },
  options?: ListenOptions,
): Promise<Result<TcpListener<IpEndpoint>, FlowError>>;
export function listen(target: string | ListenTarget, options?: ListenOptions): Promise<Result<TcpListener, FlowError>>;
export function listen(target: string | ListenTarget, options: ListenOptions = {}): Promise<Result<TcpListener, FlowError>> {
  let t: ListenTarget;
  if (typeof target === 'string') {
    const parsed = parseEndpoint(target);
    if (!parsed.ok) return Promise.resolve(parsed);
    t = parsed.value;
  } else {
    t = checkListenTarget(target);
  }
  checkOptions(options);
  const tooLong = 'path' in t ? checkUnixPathLength(t.path) : undefined;
  if (tooLong) return Promise.resolve(err(tooLong));
  return 'path' in t ? listenUnix(t.path, options) : listenTcp(t, options);
}

/** Listens once; resolves with the server or the bind error. */
function bind(options: ListenOptions, how: { path: string } | { host: string; port: number; ipv6Only: boolean }): Promise<Result<Server, FlowError>> {
  // Connections are not read before they become flows: one that waits for room in the accept
  // queue keeps its bytes in the kernel, where they cost us nothing.
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  return new Promise((resolve) => {
    const onError = (e: unknown): void => {
      server.off('listening', onListening);
      server.close();
      resolve(err(fromNodeError(e)));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(ok(server));
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ ...how, backlog: Math.max(options.backlog ?? DEFAULT_BACKLOG, KERNEL_BACKLOG) });
  });
}

async function listenTcp(t: { host?: string; port: number; ipv6Only?: boolean }, options: ListenOptions): Promise<Result<TcpListener<IpEndpoint>, FlowError>> {
  const port = t.port;
  let r = await bind(options, { host: t.host ?? '::', port, ipv6Only: t.ipv6Only === true });
  if (!r.ok && t.host === undefined && (r.error.code === 'EAFNOSUPPORT' || r.error.code === 'EADDRNOTAVAIL')) {
    // A host without IPv6: "any address" falls back to IPv4 only.
    r = await bind(options, { host: '0.0.0.0', port, ipv6Only: false });
  }
  if (!r.ok) {
    const where = t.host === undefined ? `port ${port}` : formatEndpoint(ipEndpoint(t.host, port));
    return err(describeBindError(r.error, where));
  }
  const info = r.value.address() as AddressInfo;
  const address: IpEndpoint = { family: info.family === 'IPv6' ? 'IPv6' : 'IPv4', address: info.address, port: info.port };
  return ok(new SocketListener(r.value, address, options));
}

async function listenUnix(path: string, options: ListenOptions): Promise<Result<TcpListener<UnixEndpoint>, FlowError>> {
  const where = formatEndpoint({ family: 'unix', path });
  let r = await bind(options, { path });
  if (!r.ok && r.error.code === 'EADDRINUSE') {
    const state = await probeSocketFile(path);
    if (state === 'stale' && options.unlinkStale === true && (await unlinkIfStale(path))) {
      r = await bind(options, { path });
    } else if (state === 'absent') {
      // Someone removed it between our bind and the probe: one more try.
      r = await bind(options, { path });
    } else {
      return err(staleError(r.error, path, where, state));
    }
  }
  if (!r.ok) return err(describeBindError(r.error, where));
  const address: UnixEndpoint = { family: 'unix', path };
  return ok(new SocketListener(r.value, address, options));
}

function staleError(e: FlowError, path: string, where: string, state: string): FlowError {
  const opts = { code: e.code, syscall: e.syscall ?? 'bind', cause: e };
  if (state === 'stale') {
    return new FlowError(
      'in-use',
      `cannot listen on ${where}: ${path} is a stale socket file (nobody listens on it); remove it, or pass { unlinkStale: true } to remove such files`,
      opts,
    );
  }
  if (state === 'not-a-socket') {
    return new FlowError('in-use', `cannot listen on ${where}: ${path} exists and is not a socket (it is never removed)`, opts);
  }
  return new FlowError('in-use', `cannot listen on ${where}: another process is listening on ${path}`, opts);
}

function describeBindError(e: FlowError, where: string): FlowError {
  // Node names the failed call 'listen' in a single process and 'bind' in a cluster worker (the
  // primary binds for it): the same failure of the same request, so it is said the same way.
  const syscall = e.syscall === 'bind' || e.syscall === undefined ? 'listen' : e.syscall;
  const opts = { code: e.code, syscall, cause: e };
  if (e.kind === 'in-use') return new FlowError('in-use', `cannot listen on ${where}: the address is already in use`, opts);
  if (e.kind === 'permission') return new FlowError('permission', `cannot listen on ${where}: permission denied`, opts);
  return new FlowError(e.kind, `cannot listen on ${where}: ${e.message}`, opts);
}

class SocketListener<A extends Endpoint> implements TcpListener<A> {
  private readonly queue: AcceptQueue;
  private readonly live = new Set<TcpFlow>();
  /** Accepted connections waiting, unread, for room in the accept queue (oldest first). */
  private readonly waiting = new Set<Socket>();
  private readonly maxConnections: number;
  private refusedCount = 0;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly server: Server,
    readonly address: A,
    private readonly options: ListenOptions,
  ) {
    this.queue = new AcceptQueue(options.backlog ?? DEFAULT_BACKLOG);
    this.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    // Accept failures (EMFILE, ...) are reported here; they must not crash the process, and
    // libuv keeps accepting once the condition clears.
    server.on('error', () => undefined);
  }

  get connections(): number {
    return this.live.size + this.waiting.size;
  }

  get refused(): number {
    return this.refusedCount;
  }

  get closedForAccept(): boolean {
    return this.closing !== undefined;
  }

  private onConnection(socket: Socket): void {
    socket.on('error', () => undefined);
    if (this.closing) {
      refuse(socket);
      return;
    }
    if (this.connections >= this.maxConnections) {
      this.refuseOverLimit(socket);
      return;
    }
    if (this.queue.size >= this.queue.backlog || this.waiting.size > 0) {
      // The queue is full (or others wait already, and they come first): wait, unread.
      this.waiting.add(socket);
      socket.once('close', () => this.waiting.delete(socket));
      return;
    }
    this.admit(socket);
  }

  private refuseOverLimit(socket: Socket): void {
    this.refusedCount += 1;
    const peer = this.peerOf(socket);
    refuse(socket);
    try {
      this.options.onRefused?.(
        peer,
        new FlowError('limit', `${this.maxConnections} connections are open or waiting (maxConnections): reset`),
      );
    } catch {
      // A throwing observer must not take the listener down.
    }
  }

  private peerOf(socket: Socket): Endpoint {
    return this.address.family === 'unix' ? { family: 'unix', path: '' } : ipEndpoint(socket.remoteAddress, socket.remotePort);
  }

  /** Turns a connection into a flow and queues it for `accept()`. */
  private admit(accepted: Socket): void {
    let flow: TcpFlow;
    // Node reads the connection into a buffer of ours rather than allocating for every read.
    const socket = withDirectReads(accepted);
    try {
      const unix = this.address.family === 'unix';
      // Unix-domain sockets have neither keepalive nor Nagle.
      const keepalive = this.options.keepalive && !unix ? applyKeepalive(socket, this.options.keepalive) : undefined;
      if (this.options.noDelay === true && !unix) socket.setNoDelay(true);
      flow = wrapSocket(socket, {
        src: unix ? this.address : ipEndpoint(socket.localAddress, socket.localPort),
        dst: this.peerOf(socket),
        keepalive,
        noDelay: this.options.noDelay === true,
        highWaterMark: this.options.highWaterMark,
      });
    } catch {
      // The peer was gone before we could set it up.
      socket.destroy();
      return;
    }
    this.live.add(flow);
    void flow.closed.then(() => this.live.delete(flow));
    this.queue.offer(flow);
    // The server pauses every connection on arrival; the flow reads from now on.
    socket.resume();
  }

  /** Moves waiting connections into the accept queue while it has room. */
  private admitWaiting(): void {
    for (const socket of this.waiting) {
      if (this.closing || this.queue.size >= this.queue.backlog) return;
      this.waiting.delete(socket);
      if (!socket.destroyed) this.admit(socket);
    }
  }

  async accept(options?: AcceptOptions): Promise<Result<TcpFlow, FlowError>> {
    const accepted = this.queue.accept(options);
    // Taking a flow (or waiting for one) makes room: the longest-waiting connections come in.
    this.admitWaiting();
    // Only TcpFlows are ever offered to the queue.
    return (await accepted) as Result<TcpFlow, FlowError>;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TcpFlow> {
    for (;;) {
      const r = await this.accept();
      if (!r.ok) return;
      yield r.value;
    }
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.queue.close();
    // Connections that waited for room were never accepted: they go as queued flows do.
    for (const socket of this.waiting) refuse(socket);
    this.waiting.clear();
    // server.close() closes the listening socket at once (and unlinks a Unix socket file); its
    // callback would wait for every live connection, which must not matter here.
    this.closing = new Promise<void>((resolve) => {
      try {
        this.server.close();
      } catch {
        // Already closed.
      }
      setImmediate(resolve);
    });
    return this.closing;
  }

  unlisten(): Promise<void> {
    return this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return disposeListener(this);
  }

  async closeAll(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    await this.close();
    await endFlows(this.live, options);
  }
}

function refuse(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    // Unix-domain sockets have no RST.
    socket.destroy();
  }
}
