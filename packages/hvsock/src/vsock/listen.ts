import { AcceptQueue, disposeListener, endFlows, err, FlowError, ok, type AcceptOptions, type Listener, type Result } from '@flow/core';
import type { VsockAddress } from '../address/types';
import { errnoError } from '../errors';
import type { PollHandle, VsockBinding } from '../native/binding';
import { loadVsockBinding } from '../native/load';
import { EAGAIN } from '../socket';
import { checkSocketFlowOptions, SocketFlow, type SocketFlowOptions } from '../socket-flow';
import { formatAddress } from '../address/uri';
import { addonAddress } from './addon-address';
import { NativeSocket } from './native-socket';

export interface VsockListenOptions extends SocketFlowOptions {
  /** The kernel's accept backlog, and the flows queued for `accept()` before new ones are closed. Default 128. */
  readonly backlog?: number;
  /** Most live flows from this listener at once; connections beyond it are closed at once. Default 10000. */
  readonly maxConnections?: number;
  /** The kernel's socket buffer (`SO_VM_SOCKETS_BUFFER_SIZE`) of every accepted flow. Default: the kernel's. */
  readonly socketBufferSize?: number;
}

/** A listening AF_VSOCK socket whose connections arrive as flows. */
export interface VsockListener extends Listener<VsockAddress, SocketFlow> {
  /** Live flows that came from this listener (accepted or still queued). */
  readonly connections: number;
  accept(options?: AcceptOptions): Promise<Result<SocketFlow, FlowError>>;
  /**
   * `for await (const flow of listener)`: each accepted flow in turn. The loop ends, without
   * throwing, at the first `accept` that fails: after `close`, or when the listener failed.
   */
  [Symbol.asyncIterator](): AsyncIterator<SocketFlow>;
  /** Stop accepting: the socket is closed, live flows are untouched. */
  close(): Promise<void>;
  /** Stop accepting and end every live flow: a close handshake of `timeoutMs`, or abort at once without it. */
  closeAll(options?: { readonly timeoutMs?: number }): Promise<void>;
  /** `await using`: the same as `close` (live flows are untouched), never rejecting. */
  [Symbol.asyncDispose](): Promise<void>;
}

const ANY = 0xffffffff;
const FLAG_TO_HOST = 1;
const DEFAULT_BACKLOG = 128;
const DEFAULT_MAX_CONNECTIONS = 10000;
/** Accepts per readiness event before yielding to the loop. */
const ACCEPTS_PER_EVENT = 64;

/**
 * Binds and listens on an AF_VSOCK address (Linux). `vsock://:5000` listens on every CID of
 * this machine; port `any` (`vsock://:*`) lets the kernel pick one, read it from `address`.
 * Resolves with the listener or a typed error (`in-use`, `permission` for ports below 1024
 * without privilege, `unreachable` for a CID that is not this machine's, `unsupported`).
 */
export async function listenVsock(address: VsockAddress, options: VsockListenOptions = {}): Promise<Result<VsockListener, FlowError>> {
  checkSocketFlowOptions(options);
  const { backlog, maxConnections, socketBufferSize } = options;
  if (backlog !== undefined && !(Number.isInteger(backlog) && backlog >= 1)) throw new RangeError('backlog must be an integer >= 1');
  if (maxConnections !== undefined && !(Number.isInteger(maxConnections) && maxConnections >= 1)) throw new RangeError('maxConnections must be an integer >= 1');
  if (socketBufferSize !== undefined && !(Number.isInteger(socketBufferSize) && socketBufferSize >= 1)) throw new RangeError('socketBufferSize must be an integer >= 1');
  const loaded = loadVsockBinding();
  if (!loaded.ok) return loaded;
  const binding = loaded.value;
  const where = formatAddress(address);
  const fd = binding.socket();
  if (fd < 0) return err(errnoError(fd, 'socket', `cannot listen on ${where}`));
  const bound = binding.bind(fd, address.cid, address.port, address.toHost === true ? FLAG_TO_HOST : 0);
  const listening = bound < 0 ? bound : binding.listen(fd, backlog ?? DEFAULT_BACKLOG);
  if (listening < 0) {
    binding.close(fd);
    return err(bindError(listening, where, bound < 0 ? 'bind' : 'listen'));
  }
  const actual = addonAddress(binding.localAddress(fd)) ?? address;
  return ok(new NativeListener(binding, fd, { ...actual, kind: 'vsock' }, options));
}

function bindError(errno: number, where: string, syscall: string): FlowError {
  const base = errnoError(errno, syscall);
  const opts = { code: base.code, errno: base.errno, syscall };
  switch (base.code) {
    case 'EADDRINUSE':
      return new FlowError('in-use', `cannot listen on ${where}: the port is already in use`, opts);
    case 'EACCES':
      return new FlowError('permission', `cannot listen on ${where}: ports below 1024 need privilege (CAP_NET_BIND_SERVICE)`, opts);
    case 'EPERM':
      return new FlowError('permission', `cannot listen on ${where}: not permitted (the port may be reserved on this machine)`, opts);
    case 'EADDRNOTAVAIL':
      return new FlowError('unreachable', `cannot listen on ${where}: that CID is not this machine's (listen on any CID, or on the local CID)`, opts);
    default:
      return new FlowError(base.kind, `cannot listen on ${where}: ${base.message}`, opts);
  }
}

class NativeListener implements VsockListener {
  private readonly queue: AcceptQueue;
  private readonly live = new Set<SocketFlow>();
  private readonly maxConnections: number;
  private poll: PollHandle | undefined;
  private closing: Promise<void> | undefined;
  private fd: number;

  constructor(
    private readonly binding: VsockBinding,
    fd: number,
    readonly address: VsockAddress,
    private readonly options: VsockListenOptions,
  ) {
    this.fd = fd;
    this.queue = new AcceptQueue(options.backlog ?? DEFAULT_BACKLOG);
    this.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.poll = binding.pollOpen(fd, (status, readable) => {
      if (status >= 0 && readable) this.acceptSome();
    });
    binding.pollWatch(this.poll, true, false);
  }

  get connections(): number {
    return this.live.size;
  }

  get closedForAccept(): boolean {
    return this.closing !== undefined;
  }

  private acceptSome(): void {
    for (let i = 0; i < ACCEPTS_PER_EVENT && this.fd >= 0; i++) {
      const r = this.binding.accept(this.fd);
      if (r === -EAGAIN) return;
      // EMFILE and friends: the connection waits in the kernel until a descriptor frees up, and
      // the poll tells us again; nothing to crash on.
      if (typeof r === 'number') return;
      const [fd, cid, port] = r;
      if (this.live.size >= this.maxConnections) {
        this.binding.close(fd);
        continue;
      }
      if (this.options.socketBufferSize !== undefined) this.binding.setBufferSize(fd, this.options.socketBufferSize);
      const remote: VsockAddress = { kind: 'vsock', cid, port };
      const local = addonAddress(this.binding.localAddress(fd)) ?? this.address;
      const label = `${formatAddress(local)} <- ${formatAddress(remote)}`;
      const flow = new SocketFlow(new NativeSocket(this.binding, fd, label), remote, local, this.options, label);
      this.live.add(flow);
      void flow.closed.then(() => this.live.delete(flow));
      this.queue.offer(flow);
    }
  }

  async accept(options?: AcceptOptions): Promise<Result<SocketFlow, FlowError>> {
    // Only SocketFlows are ever offered to the queue.
    return (await this.queue.accept(options)) as Result<SocketFlow, FlowError>;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SocketFlow> {
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
    if (this.poll) this.binding.pollClose(this.poll);
    this.poll = undefined;
    if (this.fd >= 0) this.binding.close(this.fd);
    this.fd = -1;
    // Resolved on a later turn, as the poll handle's release completes on the loop.
    this.closing = new Promise<void>((resolve) => setImmediate(resolve));
    return this.closing;
  }

  async closeAll(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    await this.close();
    await endFlows(this.live, options);
  }
}

export { ANY as VSOCK_ANY };
