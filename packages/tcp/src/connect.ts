import { connect as netConnect, type Socket } from 'node:net';
import { abortedError, DirectReads, err, FlowError, ok, type Result } from '@flow/core';
import { checkPort, checkUnixPathLength, formatTarget, ipEndpoint, parseEndpoint, type ConnectTarget, type Endpoint } from './endpoint';
import { applyKeepalive, checkKeepalive, type Keepalive } from './keepalive';
import { connectError } from './socket-errors';
import { wrapSocket, type TcpFlow } from './tcp-flow';

/** Options of `connect`. */
export interface ConnectOptions {
  /**
   * Our own deadline for the whole attempt (name lookup included), in ms; when it passes the
   * attempt is abandoned and the result is a `timeout` error. Without it the kernel's SYN
   * retries decide (about two minutes on Linux).
   */
  readonly timeoutMs?: number;
  /** Enable TCP keepalive on the flow (see `Keepalive` for what Node can set). */
  readonly keepalive?: Keepalive;
  /** Turn Nagle's algorithm off for every write. Default false, as in Node. */
  readonly noDelay?: boolean;
  /** Abandon the attempt when this aborts; the result is an `aborted` error. */
  readonly signal?: AbortSignal;
  /** Bytes buffered for readers before the socket is paused. Default 256 KiB. */
  readonly highWaterMark?: number;
  /** Bind this local address before connecting (TCP only). */
  readonly localAddress?: string;
  /** Only try this IP family when resolving a host name. */
  readonly family?: 4 | 6;
}

function checkTarget(target: ConnectTarget): ConnectTarget {
  if (typeof target !== 'object' || target === null) throw new TypeError('connect needs a URI string or { host, port } or { path }');
  if ('path' in target) {
    if (typeof target.path !== 'string' || target.path === '') throw new TypeError('path must be a non-empty string');
    return target;
  }
  if (typeof target.host !== 'string' || target.host === '') throw new TypeError('host must be a non-empty string');
  checkPort(target.port, false);
  return target;
}

function checkOptions(options: ConnectOptions): void {
  const { timeoutMs, keepalive, highWaterMark } = options;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0 && Number.isFinite(timeoutMs))) {
    throw new RangeError(`timeoutMs must be a finite number >= 0, got ${String(timeoutMs)}`);
  }
  if (highWaterMark !== undefined && !(highWaterMark > 0)) throw new RangeError('highWaterMark must be > 0');
  if (keepalive !== undefined) checkKeepalive(keepalive);
}

/**
 * Opens a connection (mirage's `create_connection`). Resolves with the flow, or with a typed
 * error: `refused` (ECONNREFUSED), `timeout` (our deadline or ETIMEDOUT), `unreachable`,
 * `not-found` (unknown host, missing socket file), `aborted` (the signal), `invalid` (a
 * malformed URI string) or `io` with the errno code. Never rejects; throws only for bad
 * arguments (a port outside 1-65535, a negative timeout).
 */
export function connect(target: string | ConnectTarget, options: ConnectOptions = {}): Promise<Result<TcpFlow, FlowError>> {
  let t: ConnectTarget;
  if (typeof target === 'string') {
    const parsed = parseEndpoint(target);
    if (!parsed.ok) return Promise.resolve(parsed);
    t = parsed.value;
    if ('port' in t && t.port === 0) {
      return Promise.resolve(err(new FlowError('invalid', `cannot connect to port 0 in "${target}"; expected e.g. tcp://127.0.0.1:8080`)));
    }
  } else {
    t = checkTarget(target);
  }
  checkOptions(options);
  const tooLong = 'path' in t ? checkUnixPathLength(t.path) : undefined;
  if (tooLong) return Promise.resolve(err(tooLong));
  const name = formatTarget(t);
  const { signal } = options;
  if (signal?.aborted) return Promise.resolve(err(abortedError(signal.reason)));

  // Node reads the socket into a buffer of ours rather than allocating for every read.
  const reads = new DirectReads();
  const socket: Socket = reads.bind(
    'path' in t
      ? netConnect({ path: t.path, allowHalfOpen: true, ...reads.socketOptions() })
      : netConnect({
          host: t.host,
          port: t.port,
          allowHalfOpen: true,
          noDelay: options.noDelay === true,
          localAddress: options.localAddress,
          family: options.family,
          ...reads.socketOptions(),
        }),
  );

  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (r: Result<TcpFlow, FlowError>): void => {
      if (timer) clearTimeout(timer);
      socket.off('connect', onConnect);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
      // Removed only now: until the flow took over, an 'error' must never be unhandled.
      socket.off('error', onError);
    };
    const fail = (e: FlowError): void => {
      // An abandoned attempt must not leave its fd behind; errors after this are irrelevant.
      socket.on('error', () => undefined);
      socket.destroy();
      settle(err(e));
    };
    const onError = (e: unknown): void => fail(connectError(e, name));
    const onAbort = (): void => fail(abortedError(signal?.reason));
    const onConnect = (): void => {
      try {
        // Unix-domain sockets have no keepalive; reporting one would be a lie.
        const keepalive = options.keepalive && !('path' in t) ? applyKeepalive(socket, options.keepalive) : undefined;
        const flow = wrapSocket(socket, {
          src: 'path' in t ? { family: 'unix', path: '' } : ipEndpoint(socket.localAddress, socket.localPort),
          dst: 'path' in t ? { family: 'unix', path: t.path } : remoteEndpoint(socket, t),
          keepalive,
          noDelay: options.noDelay === true,
          highWaterMark: options.highWaterMark,
        });
        settle(ok(flow));
      } catch (e) {
        // setKeepAlive on a socket that died between 'connect' and now.
        fail(connectError(e, name));
      }
    };
    socket.once('connect', onConnect);
    socket.on('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      const ms = options.timeoutMs;
      timer = setTimeout(
        () => fail(new FlowError('timeout', `connection attempt to ${name} timed out after ${ms} ms`, { code: 'ETIMEDOUT', syscall: 'connect' })),
        ms,
      );
    }
  });
}

function remoteEndpoint(socket: Socket, t: { host: string; port: number }): Endpoint {
  return ipEndpoint(socket.remoteAddress ?? t.host, socket.remotePort ?? t.port);
}
