/**
 * The shape of the native addon (`native/vsock.c`, N-API): thin, non-blocking system calls on
 * AF_VSOCK descriptors and libuv readiness polling on the main thread. Every call returns at
 * once. Failures are negative errno numbers (`-104` is ECONNRESET); JS builds the stream.
 */
export interface VsockBinding {
  /** The constants the addon was compiled with, read from the system headers. */
  readonly constants: VsockConstants;
  /** `socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)`: a descriptor or -errno. */
  socket(): number;
  /** `bind` to (cid, port) with `svm_flags`; 0 or -errno. */
  bind(fd: number, cid: number, port: number, flags: number): number;
  /** `listen(fd, backlog)`, backlog from 0 to INT_MAX: 0 or -errno. */
  listen(fd: number, backlog: number): number;
  /** `accept4(..., SOCK_NONBLOCK | SOCK_CLOEXEC)`: [fd, peer cid, peer port], or -errno (-EAGAIN: none waiting). */
  accept(fd: number): number | readonly [number, number, number];
  /** Non-blocking `connect`: 0, -EINPROGRESS (wait for writable, then `socketError`), or -errno. */
  connect(fd: number, cid: number, port: number, flags: number): number;
  /** `getsockopt(SO_ERROR)`: 0, or the pending error as -errno. */
  socketError(fd: number): number;
  /** `getsockname`: [cid, port] or -errno. */
  localAddress(fd: number): number | readonly [number, number];
  /** `getpeername`: [cid, port] or -errno. */
  remoteAddress(fd: number): number | readonly [number, number];
  /** One `read` into `buffer`: bytes read (> 0), 0 at end of stream, or -errno (-EAGAIN: nothing yet). */
  read(fd: number, buffer: Uint8Array): number;
  /** One `sendmsg(MSG_NOSIGNAL)` of the buffers in order: bytes taken (may be fewer), or -errno. */
  writev(fd: number, buffers: readonly Uint8Array[]): number;
  /** `shutdown(fd, how)` with how = SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2); 0 or -errno. */
  shutdown(fd: number, how: number): number;
  /** `close(fd)`: 0 or -errno. The descriptor is gone afterwards even on EINTR, so it is never retried. */
  close(fd: number): number;
  /** `IOCTL_VM_SOCKETS_GET_LOCAL_CID` on `/dev/vsock` (never on a socket fd): the CID or -errno. */
  localCid(): number;
  /** `SO_VM_SOCKETS_BUFFER_SIZE` (level AF_VSOCK): 0 or -errno. */
  setBufferSize(fd: number, bytes: number): number;
  /** The current `SO_VM_SOCKETS_BUFFER_SIZE`, or -errno. */
  bufferSize(fd: number): number;
  /** `SO_VM_SOCKETS_CONNECT_TIMEOUT` (a `timeval`): 0 or -errno. */
  setConnectTimeout(fd: number, ms: number): number;
  /**
   * A libuv `uv_poll_t` on `fd`, stopped until `pollWatch` asks for events. `callback` runs on
   * the main thread with (status, readable, writable); status < 0 is a libuv error (-errno).
   */
  pollOpen(fd: number, callback: (status: number, readable: boolean, writable: boolean) => void): PollHandle;
  /** Sets the events to be told of; both false stops the poll. 0 or -errno. */
  pollWatch(handle: PollHandle, readable: boolean, writable: boolean): number;
  /** Stops and releases the poll handle. Call before closing its descriptor. */
  pollClose(handle: PollHandle): void;
}

/** An opaque poll handle owned by the addon. */
export interface PollHandle {
  /** A type-only brand, absent at run time: only the addon makes poll handles. */
  readonly __pollHandle: unique symbol;
}

/** The values of `<linux/vm_sockets.h>` the addon was compiled against, as numbers. */
export interface VsockConstants {
  /** The socket family of vsock (40 on Linux). */
  readonly AF_VSOCK: number;
  /** The CID that binds every CID of this machine (0xffffffff). */
  readonly VMADDR_CID_ANY: number;
  /** The CID of the hypervisor (0). */
  readonly VMADDR_CID_HYPERVISOR: number;
  /** The CID of local (loopback) communication (1). */
  readonly VMADDR_CID_LOCAL: number;
  /** The CID of the host (2). */
  readonly VMADDR_CID_HOST: number;
  /** The port that lets the kernel pick one when binding (0xffffffff). */
  readonly VMADDR_PORT_ANY: number;
  /** The `svm_flags` bit that sends to the host rather than to a nested guest. */
  readonly VMADDR_FLAG_TO_HOST: number;
  /** The socket option (level `AF_VSOCK`) of the socket's buffer size. */
  readonly SO_VM_SOCKETS_BUFFER_SIZE: number;
  /** The socket option (level `AF_VSOCK`) of the connect timeout, a `timeval`. */
  readonly SO_VM_SOCKETS_CONNECT_TIMEOUT: number;
  /** The ioctl on `/dev/vsock` that reads this machine's CID. */
  readonly IOCTL_VM_SOCKETS_GET_LOCAL_CID: number;
  /** `sizeof(struct sockaddr_vm)`, in bytes. */
  readonly SIZEOF_SOCKADDR_VM: number;
}
