import type { HypervAcceptCallback, HypervBinding, HypervConstants, HypervSocketHandle } from '../../src/hyperv/binding';

/**
 * A double of the Windows addon (`native/hvsock_win.c`), for Linux: the same completion-style
 * API over in-memory connections, with the behaviour that addon gets from Winsock's overlapped
 * I/O as Microsoft documents it:
 *
 * - `hvAccept`/`hvConnect`/`hvRecv`/`hvSend` return 0 and call back exactly once on a later turn
 *   of the event loop (the addon's completion port plus thread-safe function), or return a
 *   negative WSA code and never call back;
 * - a receive completes with the bytes available (up to its buffer), 0 once the peer shut down
 *   its sending side (or closed) and everything was read, or -WSAECONNRESET after a reset;
 * - a send completes once every byte was taken into the peer's bounded receive buffer, which
 *   drains as the peer receives; the bytes are read from the caller's buffers as they are
 *   taken, as the kernel does, so changing a buffer during a send shows up as corrupted data;
 * - `hvClose` (closesocket) completes every pending operation with -995 (WSA_OPERATION_ABORTED);
 *   the peer sees an end of stream, or a reset when the closer left data unread;
 * - a connect without a listener on the service fails with -WSAECONNREFUSED.
 *
 * Nothing here is Hyper-V itself: VM ids only decide which listener a connect reaches.
 * It records what was called, so tests can check order and bounds.
 */
export const WSA = Object.freeze({
  WSA_OPERATION_ABORTED: 995,
  WSAEINVAL: 10022,
  WSAENOTSOCK: 10038,
  WSAEADDRINUSE: 10048,
  WSAENETDOWN: 10050,
  WSAENETUNREACH: 10051,
  WSAECONNABORTED: 10053,
  WSAECONNRESET: 10054,
  WSAENOTCONN: 10057,
  WSAESHUTDOWN: 10058,
  WSAETIMEDOUT: 10060,
  WSAECONNREFUSED: 10061,
});

export interface WindowsAddonDoubleOptions {
  /** The receive buffer of each connected socket, in bytes. Default 64 KiB. */
  readonly capacity?: number;
  /** Complete a send as soon as part of it was taken (Winsock may; the addon reports the count). Default false. */
  readonly partialSends?: boolean;
  /** How a connect to a service with no listener ends. Default 'refused'. */
  readonly noListener?: 'refused' | 'timeout' | 'hang';
  /** VM ids (16-byte hex, Windows layout) that no connect can reach: -WSAENETUNREACH. */
  readonly unreachableVmIds?: readonly string[];
}

type RecvOp = { kind: 'recv'; buffer: Uint8Array; callback: (n: number) => void };
type SendOp = { kind: 'send'; buffers: Uint8Array[]; index: number; offset: number; taken: number; total: number; callback: (n: number) => void };
type AcceptOp = { kind: 'accept'; callback: HypervAcceptCallback };
type ConnectOp = { kind: 'connect'; callback: (status: number) => void; target: string };

interface Inbound {
  chunks: Uint8Array[];
  bytes: number;
  /** The peer shut down sending (or closed cleanly): 0 after the data. */
  ended: boolean;
  /** The peer closed with data unread, or vanished: -WSAECONNRESET, data dropped. */
  reset: boolean;
}

const ZERO_GUID = new Uint8Array(16);

export class DoubleSocket {
  readonly handle: HypervSocketHandle;
  closed = false;
  local: { vmId: Uint8Array; serviceId: Uint8Array } | undefined;
  remote: { vmId: Uint8Array; serviceId: Uint8Array } | undefined;
  listening = false;
  backlog = 0;
  readonly waiting: DoubleSocket[] = [];
  accepting: AcceptOp | undefined;
  connecting: ConnectOp | undefined;
  peer: DoubleSocket | undefined;
  readonly inbound: Inbound = { chunks: [], bytes: 0, ended: false, reset: false };
  receiving: RecvOp | undefined;
  readonly sending: SendOp[] = [];
  sendShut = false;
  receiveShut = false;
  connectTimeoutMs: number | undefined;
  connectedSuspend = false;
  /** Sends started while another was pending (the socket layer promises at most one). */
  overlappingSends = 0;
  /** Sizes of every send, in bytes. */
  readonly sendSizes: number[] = [];
  /** Operations started after hvClose (each fails with -WSAENOTSOCK). */
  callsAfterClose = 0;

  constructor(readonly id: number) {
    this.handle = Object.freeze({ doubleSocket: id }) as unknown as HypervSocketHandle;
  }
}

export class WindowsAddonDouble implements HypervBinding {
  readonly hvConstants: HypervConstants = Object.freeze({
    AF_HYPERV: 34,
    HV_PROTOCOL_RAW: 1,
    HVSOCKET_CONNECT_TIMEOUT_MAX: 300000,
    SOCKADDR_HV_SIZE: 36,
    WSA_OPERATION_ABORTED: 995,
  });
  /** Every call and completion in order, as `<socket id>:<what>`. */
  readonly log: string[] = [];
  readonly sockets: DoubleSocket[] = [];
  /** Completions scheduled and not yet delivered. */
  pendingCallbacks = 0;
  private readonly byHandle = new WeakMap<object, DoubleSocket>();
  private readonly listeners = new Map<string, DoubleSocket>();
  private readonly capacity: number;
  /** Errors to return synchronously from the next call of a function, by function name. */
  private readonly syncFaults = new Map<string, number[]>();

  constructor(private readonly options: WindowsAddonDoubleOptions = {}) {
    this.capacity = options.capacity ?? 64 * 1024;
  }

  // ---- test controls ----

  /** The double's state behind a handle. */
  socketOf(handle: HypervSocketHandle): DoubleSocket {
    const s = this.byHandle.get(handle as unknown as object);
    if (!s) throw new TypeError('not a Hyper-V socket handle');
    return s;
  }

  /** The next call of `fn` returns -code at once (as a failed WSARecv/WSASend/... does). */
  failNext(fn: keyof HypervBinding, code: number): void {
    const list = this.syncFaults.get(fn) ?? [];
    list.push(code);
    this.syncFaults.set(fn, list);
  }

  /** The connection of `handle` breaks: its pending and later receives give -code, its sends too. */
  breakConnection(handle: HypervSocketHandle, code: number = WSA.WSAECONNRESET): void {
    const s = this.socketOf(handle);
    this.log.push(`${s.id}:break ${code}`);
    s.inbound.chunks = [];
    s.inbound.bytes = 0;
    s.inbound.reset = true;
    this.resetCode.set(s, code);
    for (const op of s.sending.splice(0)) this.complete(() => op.callback(-code));
    this.serveRecv(s);
  }

  /** Sockets this double created and that are not closed. */
  get openSockets(): number {
    return this.sockets.filter((s) => !s.closed).length;
  }

  private readonly resetCode = new WeakMap<DoubleSocket, number>();

  // ---- the addon's API ----

  hvSocket(): HypervSocketHandle | number {
    const fault = this.takeFault('hvSocket');
    if (fault !== undefined) return -fault;
    const s = new DoubleSocket(this.sockets.length + 1);
    this.sockets.push(s);
    this.byHandle.set(s.handle as unknown as object, s);
    this.log.push(`${s.id}:socket`);
    return s.handle;
  }

  hvSetConnectTimeout(handle: HypervSocketHandle, ms: number): number {
    const s = this.socketOf(handle);
    if (!Number.isInteger(ms) || ms < 0 || ms > 300000) throw new RangeError('option value out of range');
    if (s.closed) return -WSA.WSAENOTSOCK;
    const fault = this.takeFault('hvSetConnectTimeout');
    if (fault !== undefined) return -fault;
    s.connectTimeoutMs = ms;
    return 0;
  }

  hvSetConnectedSuspend(handle: HypervSocketHandle, on: 0 | 1): number {
    const s = this.socketOf(handle);
    if (on !== 0 && on !== 1) throw new RangeError('option value out of range');
    if (s.closed) return -WSA.WSAENOTSOCK;
    s.connectedSuspend = on === 1;
    return 0;
  }

  hvBind(handle: HypervSocketHandle, vmId: Uint8Array, serviceId: Uint8Array): number {
    const s = this.socketOf(handle);
    checkGuid(vmId);
    checkGuid(serviceId);
    if (s.closed) return -WSA.WSAENOTSOCK;
    const fault = this.takeFault('hvBind');
    if (fault !== undefined) return -fault;
    if (s.local) return -WSA.WSAEINVAL;
    if (this.listeners.has(hex(serviceId)) || this.sockets.some((o) => !o.closed && o.local && hex(o.local.serviceId) === hex(serviceId) && !isZero(serviceId))) {
      return -WSA.WSAEADDRINUSE;
    }
    s.local = { vmId: Uint8Array.from(vmId), serviceId: Uint8Array.from(serviceId) };
    this.log.push(`${s.id}:bind`);
    return 0;
  }

  hvListen(handle: HypervSocketHandle, backlog: number): number {
    const s = this.socketOf(handle);
    if (!Number.isInteger(backlog) || backlog < 1) throw new RangeError('backlog must be an integer >= 1');
    if (s.closed) return -WSA.WSAENOTSOCK;
    if (!s.local) return -WSA.WSAEINVAL;
    s.listening = true;
    s.backlog = backlog;
    this.listeners.set(hex(s.local.serviceId), s);
    this.log.push(`${s.id}:listen`);
    return 0;
  }

  hvAccept(handle: HypervSocketHandle, callback: HypervAcceptCallback): number {
    const s = this.socketOf(handle);
    checkFunction(callback);
    if (s.closed) return this.afterClose(s);
    const fault = this.takeFault('hvAccept');
    if (fault !== undefined) return -fault;
    if (!s.listening) return -WSA.WSAEINVAL;
    if (s.accepting) throw new Error('the double takes one pending accept per listener');
    s.accepting = { kind: 'accept', callback };
    this.serveAccept(s);
    return 0;
  }

  hvConnect(handle: HypervSocketHandle, vmId: Uint8Array, serviceId: Uint8Array, callback: (status: number) => void): number {
    const s = this.socketOf(handle);
    checkGuid(vmId);
    checkGuid(serviceId);
    checkFunction(callback);
    if (s.closed) return this.afterClose(s);
    const fault = this.takeFault('hvConnect');
    if (fault !== undefined) return -fault;
    if (s.peer || s.connecting) return -WSA.WSAEINVAL;
    // Unbound sockets are bound to the wildcard first, as the addon does.
    if (!s.local) s.local = { vmId: ZERO_GUID, serviceId: ZERO_GUID };
    const op: ConnectOp = { kind: 'connect', callback, target: hex(serviceId) };
    s.connecting = op;
    this.log.push(`${s.id}:connect`);
    if ((this.options.unreachableVmIds ?? []).includes(hex(vmId))) {
      this.finishConnect(s, -WSA.WSAENETUNREACH);
      return 0;
    }
    const listener = this.listeners.get(hex(serviceId));
    if (!listener || listener.closed) {
      const mode = this.options.noListener ?? 'refused';
      if (mode === 'refused') this.finishConnect(s, -WSA.WSAECONNREFUSED);
      else if (mode === 'timeout') this.finishConnect(s, -WSA.WSAETIMEDOUT);
      // 'hang': only hvClose ends it.
      return 0;
    }
    if (listener.waiting.length >= listener.backlog) {
      this.finishConnect(s, -WSA.WSAECONNREFUSED);
      return 0;
    }
    const server = new DoubleSocket(this.sockets.length + 1);
    this.sockets.push(server);
    this.byHandle.set(server.handle as unknown as object, server);
    server.local = { vmId: Uint8Array.from(vmId), serviceId: Uint8Array.from(serviceId) };
    server.remote = { vmId: Uint8Array.from(s.local.vmId), serviceId: Uint8Array.from(serviceId) };
    s.remote = { vmId: Uint8Array.from(vmId), serviceId: Uint8Array.from(serviceId) };
    server.peer = s;
    s.peer = server;
    listener.waiting.push(server);
    this.finishConnect(s, 0);
    this.serveAccept(listener);
    return 0;
  }

  hvRecv(handle: HypervSocketHandle, buffer: Uint8Array, callback: (n: number) => void): number {
    const s = this.socketOf(handle);
    if (!(buffer instanceof Uint8Array)) throw new TypeError('expected a Uint8Array');
    if (buffer.length === 0) throw new RangeError('hvRecv needs a buffer of at least one byte');
    checkFunction(callback);
    if (s.closed) return this.afterClose(s);
    const fault = this.takeFault('hvRecv');
    if (fault !== undefined) return -fault;
    if (!s.peer && !s.inbound.reset) return -WSA.WSAENOTCONN;
    if (s.receiving) {
      throw new Error('the double takes one pending receive per socket (WindowsSocket promises no more)');
    }
    s.receiving = { kind: 'recv', buffer, callback };
    this.log.push(`${s.id}:recv ${buffer.length}`);
    this.serveRecv(s);
    return 0;
  }

  hvSend(handle: HypervSocketHandle, buffers: readonly Uint8Array[], callback: (n: number) => void): number {
    const s = this.socketOf(handle);
    if (!Array.isArray(buffers)) throw new TypeError('hvSend expects an array of Uint8Array');
    if (buffers.length === 0 || buffers.length > 1024) throw new RangeError('hvSend takes 1 to 1024 buffers');
    for (const b of buffers) if (!(b instanceof Uint8Array)) throw new TypeError('expected a Uint8Array');
    checkFunction(callback);
    if (s.closed) return this.afterClose(s);
    const fault = this.takeFault('hvSend');
    if (fault !== undefined) return -fault;
    if (s.sendShut) return -WSA.WSAESHUTDOWN;
    if (s.inbound.reset) return -(this.resetCode.get(s) ?? WSA.WSAECONNRESET);
    if (!s.peer) return -WSA.WSAENOTCONN;
    if (s.sending.length > 0) s.overlappingSends++;
    const total = buffers.reduce((n, b) => n + b.length, 0);
    s.sendSizes.push(total);
    this.log.push(`${s.id}:send ${total}`);
    // The array is the addon's own copy; the buffers are the caller's, read as they are taken.
    s.sending.push({ kind: 'send', buffers: [...buffers], index: 0, offset: 0, taken: 0, total, callback });
    this.pump(s);
    return 0;
  }

  hvShutdown(handle: HypervSocketHandle, how: 0 | 1 | 2): number {
    const s = this.socketOf(handle);
    if (how !== 0 && how !== 1 && how !== 2) throw new RangeError('how must be 0 (receive), 1 (send) or 2 (both)');
    if (s.closed) return -WSA.WSAENOTSOCK;
    const fault = this.takeFault('hvShutdown');
    if (fault !== undefined) return -fault;
    if (!s.peer) return -WSA.WSAENOTCONN;
    this.log.push(`${s.id}:shutdown ${how}`);
    if (how === 0 || how === 2) s.receiveShut = true;
    if (how === 1 || how === 2) {
      s.sendShut = true;
      this.pump(s);
    }
    return 0;
  }

  hvLocalAddress(handle: HypervSocketHandle): readonly [Uint8Array, Uint8Array] | number {
    const s = this.socketOf(handle);
    if (s.closed) return -WSA.WSAENOTSOCK;
    if (!s.local) return -WSA.WSAEINVAL;
    return [Uint8Array.from(s.local.vmId), Uint8Array.from(s.local.serviceId)];
  }

  hvRemoteAddress(handle: HypervSocketHandle): readonly [Uint8Array, Uint8Array] | number {
    const s = this.socketOf(handle);
    if (s.closed) return -WSA.WSAENOTSOCK;
    if (!s.remote) return -WSA.WSAENOTCONN;
    return [Uint8Array.from(s.remote.vmId), Uint8Array.from(s.remote.serviceId)];
  }

  hvClose(handle: HypervSocketHandle): number {
    this.closeSocket(this.socketOf(handle), false);
    return 0;
  }

  /** closesocket; `reset` makes the peer see a reset whatever was unread (a connection never accepted). */
  private closeSocket(s: DoubleSocket, reset: boolean): void {
    if (s.closed) return;
    s.closed = true;
    this.log.push(`${s.id}:close`);
    const aborted = -WSA.WSA_OPERATION_ABORTED;
    if (s.receiving) {
      const op = s.receiving;
      s.receiving = undefined;
      this.complete(() => op.callback(aborted));
    }
    for (const op of s.sending.splice(0)) this.complete(() => op.callback(aborted));
    if (s.accepting) {
      const op = s.accepting;
      s.accepting = undefined;
      this.complete(() => op.callback(aborted));
    }
    if (s.connecting) {
      const op = s.connecting;
      s.connecting = undefined;
      this.complete(() => op.callback(aborted));
    }
    if (s.listening && s.local && this.listeners.get(hex(s.local.serviceId)) === s) this.listeners.delete(hex(s.local.serviceId));
    // Connections never accepted are dropped: their clients see a reset.
    for (const queued of s.waiting.splice(0)) this.closeSocket(queued, true);
    const peer = s.peer;
    if (peer && !peer.closed) {
      // Closing with data unread resets the connection (as TCP does); otherwise it is an end of stream.
      if (reset || s.inbound.bytes > 0) {
        peer.inbound.chunks = [];
        peer.inbound.bytes = 0;
        peer.inbound.reset = true;
      } else {
        peer.inbound.ended = true;
      }
      for (const op of peer.sending.splice(0)) this.complete(() => op.callback(-WSA.WSAECONNRESET));
      this.serveRecv(peer);
    }
  }

  // ---- the "kernel" ----

  private takeFault(fn: string): number | undefined {
    const list = this.syncFaults.get(fn);
    return list && list.length > 0 ? list.shift() : undefined;
  }

  private afterClose(s: DoubleSocket): number {
    s.callsAfterClose++;
    return -WSA.WSAENOTSOCK;
  }

  /** Runs a completion on a later turn of the loop, as the addon's thread-safe function does. */
  private complete(run: () => void): void {
    this.pendingCallbacks++;
    setImmediate(() => {
      this.pendingCallbacks--;
      run();
    });
  }

  private finishConnect(s: DoubleSocket, status: number): void {
    const op = s.connecting;
    if (!op) return;
    s.connecting = undefined;
    this.log.push(`${s.id}:connected ${status}`);
    this.complete(() => op.callback(status));
  }

  private serveAccept(listener: DoubleSocket): void {
    const op = listener.accepting;
    if (!op || listener.waiting.length === 0) return;
    listener.accepting = undefined;
    const server = listener.waiting.shift() as DoubleSocket;
    const remote = server.remote as { vmId: Uint8Array; serviceId: Uint8Array };
    this.log.push(`${listener.id}:accepted ${server.id}`);
    this.complete(() => op.callback(0, server.handle, Uint8Array.from(remote.vmId), Uint8Array.from(remote.serviceId)));
  }

  /** Satisfies a pending receive from the inbound bytes, and lets the peer's sends refill them. */
  private serveRecv(s: DoubleSocket): void {
    const op = s.receiving;
    if (!op) return;
    const inbound = s.inbound;
    let result: number | undefined;
    if (inbound.reset) {
      result = -(this.resetCode.get(s) ?? WSA.WSAECONNRESET);
    } else if (inbound.bytes > 0) {
      let n = 0;
      while (n < op.buffer.length && inbound.chunks.length > 0) {
        const c = inbound.chunks[0] as Uint8Array;
        const take = Math.min(c.length, op.buffer.length - n);
        op.buffer.set(c.subarray(0, take), n);
        n += take;
        if (take === c.length) inbound.chunks.shift();
        else inbound.chunks[0] = c.subarray(take);
      }
      inbound.bytes -= n;
      result = n;
    } else if (inbound.ended || s.receiveShut) {
      result = 0;
    }
    if (result === undefined) return;
    s.receiving = undefined;
    const r = result;
    this.log.push(`${s.id}:recv-done ${r}`);
    this.complete(() => op.callback(r));
    // Room was made: the peer's pending sends move on.
    if (s.peer && r > 0) this.pump(s.peer);
  }

  /** Moves bytes of `s`'s pending sends into its peer's inbound buffer while there is room. */
  private pump(s: DoubleSocket): void {
    const peer = s.peer;
    if (!peer) return;
    while (s.sending.length > 0 && !peer.closed && peer.inbound.bytes < this.capacity) {
      const op = s.sending[0] as SendOp;
      let room = this.capacity - peer.inbound.bytes;
      let moved = 0;
      while (room > 0 && op.index < op.buffers.length) {
        const b = op.buffers[op.index] as Uint8Array;
        const take = Math.min(b.length - op.offset, room);
        // Copied now, as the kernel reads the caller's memory while the send is pending.
        peer.inbound.chunks.push(b.slice(op.offset, op.offset + take));
        peer.inbound.bytes += take;
        op.offset += take;
        op.taken += take;
        moved += take;
        room -= take;
        if (op.offset === b.length) {
          op.index++;
          op.offset = 0;
        }
      }
      const done = op.taken === op.total;
      if (done || (this.options.partialSends === true && moved > 0)) {
        s.sending.shift();
        const n = done ? op.total : op.taken;
        this.log.push(`${s.id}:send-done ${n}`);
        this.complete(() => op.callback(n));
        if (!done) {
          // The rest of a partial send is the caller's to send again; drop it from the kernel.
          break;
        }
      } else {
        break;
      }
    }
    if (s.sendShut && s.sending.length === 0 && !peer.inbound.ended) {
      // The end of stream goes after the data, as FIN does.
      peer.inbound.ended = true;
      this.log.push(`${s.id}:fin`);
    }
    this.serveRecv(peer);
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

function isZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

function checkGuid(b: Uint8Array): void {
  if (!(b instanceof Uint8Array)) throw new TypeError('expected a Uint8Array');
  if (b.length !== 16) throw new RangeError('a GUID is 16 bytes (the Windows GUID layout)');
}

function checkFunction(f: unknown): void {
  if (typeof f !== 'function') throw new TypeError('expected a callback function');
}
