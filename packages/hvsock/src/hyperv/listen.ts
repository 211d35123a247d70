import { AcceptQueue, disposeListener, endFlows, err, FlowError, ok, type AcceptOptions, type Listener, type Result } from '@flow/core';
import { guidToBytes } from '../address/guid';
import type { HypervAddress } from '../address/types';
import { formatAddress } from '../address/uri';
import type { HvsockFlow } from '../flow';
import { checkSocketFlowOptions, type SocketFlowOptions } from '../socket-flow';
import type { HypervBinding, HypervSocketHandle } from './binding';
import { currentHypervHost, hypervBindingOn, type HypervHost } from './host';
import { addressFromBytes, checkHypervAddress, createHypervSocket, hypervFlow, localAddressOf } from './socket-flow';
import { windowsError, windowsSocketError, WSAEFAULT } from './wsa-errors';

export interface HypervListenOptions extends SocketFlowOptions {
  /** The listen backlog, and the connections queued for `accept()` before new ones are closed. Default 511. */
  readonly backlog?: number;
  /** Most live flows from this listener at once; connections beyond it are closed at once. Default 10000. */
  readonly maxConnections?: number;
}

/** A listening Hyper-V socket whose connections arrive as flows. */
export interface HypervListener extends Listener<HypervAddress, HvsockFlow> {
  /** Live flows that came from this listener (accepted or still queued). */
  readonly connections: number;
  accept(options?: AcceptOptions): Promise<Result<HvsockFlow, FlowError>>;
  /**
   * `for await (const flow of listener)`: each accepted flow in turn. The loop ends, without
   * throwing, at the first `accept` that fails: after `close`, or when the listener failed.
   */
  [Symbol.asyncIterator](): AsyncIterator<HvsockFlow>;
  /** Stop accepting: the socket is closed, live flows are untouched. */
  close(): Promise<void>;
  /** Stop accepting and end every live flow: a close handshake of `timeoutMs`, or abort at once without it. */
  closeAll(options?: { readonly timeoutMs?: number }): Promise<void>;
  /** `await using`: the same as `close` (live flows are untouched), never rejecting. */
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_BACKLOG = 511;
const DEFAULT_MAX_CONNECTIONS = 10000;
/** The pause before accepting again after Windows ran out of something (sockets, memory). */
const ACCEPT_RETRY_MS = 100;

/**
 * Listens on a Hyper-V socket (AF_HYPERV) on Windows: `vmId` says whom to accept from
 * (wildcard: any partition, children: this host's VMs, parent: the host, or one VM's id),
 * `serviceId` is the service. Resolves with the listener or a typed error (`in-use`,
 * `permission`, ...), or `unsupported` off Windows, with the `vsock://` URI a Linux guest uses
 * instead. Never rejects; throws only for bad arguments.
 */
export function listenHyperv(address: HypervAddress, options: HypervListenOptions = {}): Promise<Result<HypervListener, FlowError>> {
  return listenHypervOn(currentHypervHost(), address, options);
}

/** `listenHyperv` on a given host (the platform and addon); for tests and embedders. */
export async function listenHypervOn(host: HypervHost, address: HypervAddress, options: HypervListenOptions = {}): Promise<Result<HypervListener, FlowError>> {
  const target = checkHypervAddress(address);
  checkSocketFlowOptions(options);
  const backlog = options.backlog ?? DEFAULT_BACKLOG;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (!(Number.isInteger(backlog) && backlog >= 1 && backlog <= 0x7fffffff)) throw new RangeError(`backlog must be an integer >= 1, got ${String(backlog)}`);
  if (!(Number.isInteger(maxConnections) && maxConnections >= 1)) throw new RangeError(`maxConnections must be an integer >= 1, got ${String(maxConnections)}`);
  const loaded = hypervBindingOn(host, target, 'listen');
  if (!loaded.ok) return loaded;
  const binding = loaded.value;
  const context = `cannot listen on ${formatAddress(target)}`;

  const created = createHypervSocket(binding, context);
  if (!created.ok) return created;
  const handle = created.value;
  const fail = (code: number, syscall: string): Result<HypervListener, FlowError> => {
    binding.hvClose(handle);
    return err(withHint(windowsSocketError(code, syscall, context), target));
  };
  let r = binding.hvBind(handle, guidToBytes(target.vmId), guidToBytes(target.serviceId));
  if (r < 0) return fail(r, 'bind');
  r = binding.hvListen(handle, backlog);
  if (r < 0) return fail(r, 'listen');
  const bound = localAddressOf(binding, handle) ?? target;
  return ok(new HypervSocketListener(binding, handle, bound, options, backlog, maxConnections));
}

function withHint(e: FlowError, target: HypervAddress): FlowError {
  let hint: string | undefined;
  if (e.kind === 'in-use') hint = `another socket is already bound to service ${target.serviceId}`;
  else if (e.kind === 'permission') {
    hint = `listening may need the service id registered on the Windows host (registerServiceCommand() prints the PowerShell, which needs Administrator)`;
  }
  if (hint === undefined) return e;
  return new FlowError(e.kind, `${e.message}: ${hint}`, { code: e.code, errno: e.errno, syscall: e.syscall, cause: e.cause });
}

class HypervSocketListener implements HypervListener {
  private readonly queue: AcceptQueue;
  private readonly live = new Set<HvsockFlow>();
  private closing: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  /** An accept failure that ended the listener, reported to later `accept()` calls. */
  private failure: FlowError | undefined;

  constructor(
    private readonly binding: HypervBinding,
    private readonly handle: HypervSocketHandle,
    readonly address: HypervAddress,
    private readonly options: SocketFlowOptions,
    backlog: number,
    private readonly maxConnections: number,
  ) {
    this.queue = new AcceptQueue(backlog);
    this.acceptNext();
  }

  get connections(): number {
    return this.live.size;
  }

  get closedForAccept(): boolean {
    return this.closing !== undefined || this.failure !== undefined;
  }

  /** Keeps one AcceptEx pending for as long as the listener is open. */
  private acceptNext(): void {
    this.retry = undefined;
    if (this.closing || this.failure) return;
    const r = this.binding.hvAccept(this.handle, (status, socket, vmId, serviceId) => this.onAccepted(status, socket, vmId, serviceId));
    if (r < 0) this.onAcceptError(r);
  }

  private onAccepted(status: number, socket?: HypervSocketHandle, vmId?: Uint8Array, serviceId?: Uint8Array): void {
    if (this.closing || this.failure) {
      if (socket) this.binding.hvClose(socket);
      return;
    }
    if (status < 0 || socket === undefined || vmId === undefined || serviceId === undefined) {
      if (socket) this.binding.hvClose(socket);
      this.onAcceptError(status < 0 ? status : -WSAEFAULT /* a success without the socket */);
      return;
    }
    this.admit(socket, vmId, serviceId);
    this.acceptNext();
  }

  private admit(socket: HypervSocketHandle, vmId: Uint8Array, serviceId: Uint8Array): void {
    if (this.live.size >= this.maxConnections) {
      this.binding.hvClose(socket);
      return;
    }
    const flow = hypervFlow(this.binding, socket, this.options, addressFromBytes(vmId, serviceId), this.address);
    this.live.add(flow);
    void flow.closed.then(() => this.live.delete(flow));
    this.queue.offer(flow);
  }

  private onAcceptError(code: number): void {
    const { code: name } = windowsError(code);
    if (name === 'ECONNRESET' || name === 'ECONNABORTED' || name === 'ETIMEDOUT') {
      // The peer gave up before the accept finished: take the next one.
      this.retry = setTimeout(() => this.acceptNext(), 0);
    } else if (name === 'EMFILE' || name === 'ENOBUFS' || name === 'ENOMEM') {
      // Out of sockets or memory: accepting again at once would spin; the listener keeps going.
      this.retry = setTimeout(() => this.acceptNext(), ACCEPT_RETRY_MS);
    } else {
      this.failure = windowsSocketError(code, 'accept', `the listener on ${formatAddress(this.address)} stopped`);
      this.queue.close();
      this.binding.hvClose(this.handle);
    }
  }

  async accept(options?: AcceptOptions): Promise<Result<HvsockFlow, FlowError>> {
    const r = await this.queue.accept(options);
    if (!r.ok && r.error.kind === 'closed' && this.failure && !this.closing) return err(this.failure);
    // Only HvsockFlows are ever offered to the queue.
    return r as Result<HvsockFlow, FlowError>;
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
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.queue.close();
    // Closing cancels the pending AcceptEx; its callback sees `closing` and does nothing.
    this.binding.hvClose(this.handle);
    this.closing = Promise.resolve();
    return this.closing;
  }

  async closeAll(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    await this.close();
    await endFlows(this.live, options);
  }
}
