import { abortedError, err, FlowError, ok, type Result } from '@flow/core';
import type { VsockAddress } from '../address/types';
import { errnoError } from '../errors';
import type { VsockBinding } from '../native/binding';
import { loadVsockBinding } from '../native/load';
import { EINPROGRESS } from '../socket';
import { checkSocketFlowOptions, SocketFlow, type SocketFlowOptions } from '../socket-flow';
import { formatAddress } from '../address/uri';
import { addonAddress } from './addon-address';
import { NativeSocket } from './native-socket';

export interface VsockConnectOptions extends SocketFlowOptions {
  /**
   * Give up after this many ms: it also becomes the kernel's `SO_VM_SOCKETS_CONNECT_TIMEOUT`
   * (whose default is 2 s). Without it the kernel's default applies.
   */
  readonly timeoutMs?: number;
  /** Abandon the attempt when this aborts; the result is an `aborted` error. */
  readonly signal?: AbortSignal;
  /** The kernel's socket buffer (`SO_VM_SOCKETS_BUFFER_SIZE`), in bytes. Default: the kernel's (256 KiB). */
  readonly socketBufferSize?: number;
}

const ANY = 0xffffffff;
const FLAG_TO_HOST = 1;

/**
 * Connects to an AF_VSOCK address (Linux): a non-blocking connect, then `SO_ERROR` once the
 * socket is writable, as the Go and Rust libraries learned to do (mdlayher/vsock#47). Resolves
 * with the flow or a typed error: `refused` (nobody listens on that port: vsock answers with a
 * reset), `timeout`, `unreachable` (no transport reaches that CID), `unsupported` (no addon, not
 * Linux), `aborted`, `invalid`; the OS error is kept in `code`, `errno` and `syscall`.
 */
export function connectVsock(address: VsockAddress, options: VsockConnectOptions = {}): Promise<Result<SocketFlow, FlowError>> {
  checkConnectOptions(options);
  const target = formatAddress(address);
  if (address.cid === ANY) return Promise.resolve(err(new FlowError('invalid', `cannot connect to ${target}: the CID "any" only works for listening; give a CID, e.g. vsock://3:1024`)));
  if (address.port === ANY) return Promise.resolve(err(new FlowError('invalid', `cannot connect to ${target}: the port "any" only works for listening; give a port, e.g. vsock://3:1024`)));
  const { signal } = options;
  if (signal?.aborted) return Promise.resolve(err(abortedError(signal.reason)));
  const loaded = loadVsockBinding();
  if (!loaded.ok) return Promise.resolve(loaded);
  const binding = loaded.value;

  const fd = binding.socket();
  if (fd < 0) return Promise.resolve(err(errnoError(fd, 'socket', `cannot connect to ${target}`)));
  const setup = configure(binding, fd, options);
  if (setup) {
    binding.close(fd);
    return Promise.resolve(err(setup));
  }
  const socket = new NativeSocket(binding, fd, target);
  const started = binding.connect(fd, address.cid, address.port, address.toHost === true ? FLAG_TO_HOST : 0);
  if (started === 0) return Promise.resolve(established(binding, socket, address, options));
  if (started !== -EINPROGRESS) {
    socket.close();
    return Promise.resolve(err(connectError(started, target)));
  }

  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (r: Result<SocketFlow, FlowError>): void => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const fail = (e: FlowError): void => {
      socket.close();
      settle(err(e));
    };
    const onAbort = (): void => fail(abortedError(signal?.reason));
    socket.onReady((status, _readable, writable) => {
      if (status < 0) return fail(errnoError(status, 'poll', `cannot connect to ${target}`));
      if (!writable) return;
      socket.watch(false, false);
      const pending = binding.socketError(fd);
      if (pending < 0) return fail(connectError(pending, target));
      settle(established(binding, socket, address, options));
    });
    socket.watch(false, true);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      const ms = options.timeoutMs;
      timer = setTimeout(() => fail(new FlowError('timeout', `connection attempt to ${target} timed out after ${ms} ms`, { code: 'ETIMEDOUT', syscall: 'connect' })), ms);
    }
  });
}

function checkConnectOptions(options: VsockConnectOptions): void {
  checkSocketFlowOptions(options);
  const { timeoutMs, socketBufferSize } = options;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0)) throw new RangeError(`timeoutMs must be a finite number >= 0, got ${String(timeoutMs)}`);
  if (socketBufferSize !== undefined && !(Number.isInteger(socketBufferSize) && socketBufferSize >= 1)) {
    throw new RangeError(`socketBufferSize must be an integer >= 1, got ${String(socketBufferSize)}`);
  }
}

/** Socket options before connecting; an error when the kernel refuses one. */
function configure(binding: VsockBinding, fd: number, options: VsockConnectOptions): FlowError | undefined {
  if (options.socketBufferSize !== undefined) {
    const r = binding.setBufferSize(fd, options.socketBufferSize);
    if (r < 0) return errnoError(r, 'setsockopt', `cannot set SO_VM_SOCKETS_BUFFER_SIZE to ${options.socketBufferSize}`);
  }
  if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
    const r = binding.setConnectTimeout(fd, options.timeoutMs);
    if (r < 0) return errnoError(r, 'setsockopt', `cannot set SO_VM_SOCKETS_CONNECT_TIMEOUT to ${options.timeoutMs} ms`);
  }
  return undefined;
}

function established(binding: VsockBinding, socket: NativeSocket, address: VsockAddress, options: SocketFlowOptions): Result<SocketFlow, FlowError> {
  const fd = socket.descriptor;
  const local = addonAddress(binding.localAddress(fd));
  const remote = addonAddress(binding.remoteAddress(fd)) ?? { kind: 'vsock', cid: address.cid, port: address.port };
  const label = `${formatAddress(local ?? { kind: 'vsock', cid: ANY, port: ANY })} -> ${formatAddress(remote)}`;
  return ok(new SocketFlow(socket, remote, local, options, label));
}

/** A failed connection attempt, worded for what it means on vsock. */
export function connectError(errno: number, target: string): FlowError {
  const base = errnoError(errno, 'connect');
  const opts = { code: base.code, errno: base.errno, syscall: 'connect' };
  switch (base.code) {
    case 'ECONNRESET':
    case 'ECONNREFUSED':
      // vsock answers a connection request for a port nobody listens on with a reset.
      return new FlowError('refused', `connection attempt to ${target} was refused: nobody listens on that port`, opts);
    case 'ETIMEDOUT':
      return new FlowError('timeout', `connection attempt to ${target} timed out`, opts);
    case 'ENODEV':
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EADDRNOTAVAIL':
      return new FlowError('unreachable', `${target} is unreachable: no vsock transport reaches that CID (${base.code})`, opts);
    default:
      return new FlowError(base.kind, `connect to ${target} failed: ${base.message}`, opts);
  }
}
