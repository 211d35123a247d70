/**
 * The shape of the addon on Windows (`native/hvsock_win.c`, N-API): Hyper-V sockets (AF_HYPERV)
 * with overlapped I/O on a completion port. Nothing blocks the main thread: the operations that
 * wait (accept, connect, recv, send) take a callback that runs later on the main thread.
 *
 * Conventions:
 * - Failures are negative Windows error codes (`-10061` is WSAECONNREFUSED); `./wsa-errors`
 *   names them and maps them to errno terms.
 * - `hvAccept`, `hvConnect`, `hvRecv` and `hvSend` return 0 when the operation started; then
 *   their callback runs exactly once, on a later turn of the event loop. A negative return means
 *   it did not start, and the callback never runs.
 * - After `hvClose`, operations still pending end with -995 (WSA_OPERATION_ABORTED).
 * - The buffers given to `hvRecv` / `hvSend` are used by the kernel until the callback runs:
 *   do not change (send), read (recv) or transfer them meanwhile. The addon keeps them alive.
 * - GUIDs are 16 bytes in the Windows `GUID` layout (`guidToBytes` in `../address/guid`).
 * - A wrong argument type throws (TypeError / RangeError); that is a programmer error.
 */
export interface HypervBinding {
  /** The constants the addon was compiled with. */
  readonly hvConstants: HypervConstants;
  /** `WSASocket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW, WSA_FLAG_OVERLAPPED)`, on the completion port. */
  hvSocket(): HypervSocketHandle | number;
  /** `HVSOCKET_CONNECT_TIMEOUT` in ms (at most `HVSOCKET_CONNECT_TIMEOUT_MAX`, 300000): 0 or -error. */
  hvSetConnectTimeout(socket: HypervSocketHandle, ms: number): number;
  /** `HVSOCKET_CONNECTED_SUSPEND` (1: the connection survives a VM pause): 0 or -error. */
  hvSetConnectedSuspend(socket: HypervSocketHandle, on: 0 | 1): number;
  /** `bind` to the VM id and service id (16-byte GUIDs): 0 or -error. */
  hvBind(socket: HypervSocketHandle, vmId: Uint8Array, serviceId: Uint8Array): number;
  /** `listen` with `backlog` (an integer of at least 1, else a RangeError): 0 or -error. */
  hvListen(socket: HypervSocketHandle, backlog: number): number;
  /** `AcceptEx`; the callback gets the new socket and the peer's VM and service ids. */
  hvAccept(socket: HypervSocketHandle, callback: HypervAcceptCallback): number;
  /** Binds the wildcard address if the socket is unbound, then `ConnectEx` and `SO_UPDATE_CONNECT_CONTEXT`. */
  hvConnect(socket: HypervSocketHandle, vmId: Uint8Array, serviceId: Uint8Array, callback: (status: number) => void): number;
  /** One `WSARecv` into `buffer` (at least 1 byte): the callback gets bytes read (> 0), 0 at end of stream, or -error. */
  hvRecv(socket: HypervSocketHandle, buffer: Uint8Array, callback: (result: number) => void): number;
  /** One gathered `WSASend` (1 to 1024 buffers): the callback gets bytes sent or -error. */
  hvSend(socket: HypervSocketHandle, buffers: readonly Uint8Array[], callback: (result: number) => void): number;
  /** `shutdown` with how = SD_RECEIVE (0), SD_SEND (1) or SD_BOTH (2): 0 or -error. */
  hvShutdown(socket: HypervSocketHandle, how: 0 | 1 | 2): number;
  /** `getsockname`: [vmId, serviceId] or -error. */
  hvLocalAddress(socket: HypervSocketHandle): readonly [Uint8Array, Uint8Array] | number;
  /** `getpeername`: [vmId, serviceId] or -error. */
  hvRemoteAddress(socket: HypervSocketHandle): readonly [Uint8Array, Uint8Array] | number;
  /** `closesocket` at once, cancelling pending operations; idempotent. 0 or -error. */
  hvClose(socket: HypervSocketHandle): number;
}

/**
 * `status` 0 comes with the accepted socket and the peer's ids; a negative status (-error)
 * comes alone.
 */
export type HypervAcceptCallback = (status: number, socket?: HypervSocketHandle, vmId?: Uint8Array, serviceId?: Uint8Array) => void;

/** An opaque socket owned by the addon; closed by `hvClose`, or when it is garbage-collected. */
export interface HypervSocketHandle {
  /** A type-only brand, absent at run time: only the addon makes socket handles. */
  readonly __hypervSocket: unique symbol;
}

/** The Windows values the addon was compiled with, as numbers. */
export interface HypervConstants {
  /** The socket family of Hyper-V sockets (34). */
  readonly AF_HYPERV: number;
  /** The protocol of Hyper-V stream sockets (1), also the level of their socket options. */
  readonly HV_PROTOCOL_RAW: number;
  /** The longest connect timeout Windows accepts, in ms (300000, 5 minutes). */
  readonly HVSOCKET_CONNECT_TIMEOUT_MAX: number;
  /** The size of `SOCKADDR_HV` in bytes (36). */
  readonly SOCKADDR_HV_SIZE: number;
  /** `WSA_OPERATION_ABORTED` (995): operations still pending at `hvClose` end with its negation, -995. */
  readonly WSA_OPERATION_ABORTED: number;
}

/** `how` for `hvShutdown`. */
export const SD_RECEIVE = 0;
export const SD_SEND = 1;
export const SD_BOTH = 2;

/** The function names the Windows addon exports; a module without them is not the Windows build. */
export const HYPERV_BINDING_FUNCTIONS = [
  'hvSocket',
  'hvSetConnectTimeout',
  'hvSetConnectedSuspend',
  'hvBind',
  'hvListen',
  'hvAccept',
  'hvConnect',
  'hvRecv',
  'hvSend',
  'hvShutdown',
  'hvLocalAddress',
  'hvRemoteAddress',
  'hvClose',
] as const satisfies ReadonlyArray<keyof HypervBinding>;

/** Whether a loaded module has the Windows exports. */
export function isHypervBinding(value: unknown): value is HypervBinding {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return HYPERV_BINDING_FUNCTIONS.every((name) => typeof m[name] === 'function') && typeof m.hvConstants === 'object';
}
