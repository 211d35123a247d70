/**
 * The shape of the native addon (`native/xen.c`, N-API, Linux only): /dev/xen/gntdev and
 * /dev/xen/evtchn, opened on first use and kept for the life of the thread (closing evtchn
 * would unbind every port), and ordered access to mapped pages. Every call returns at once.
 * Failures of the system are negative errno numbers (`-2` is ENOENT); arguments of the wrong
 * type or range, and any access to an unmapped page or outside it, throw (programmer errors).
 */
export interface XenBinding {
  /** What this build compiled in, for the ABI check against libxen-dev's headers. */
  readonly constants: XenConstants;

  /** Opens both devices if they are not yet: 0, or [-errno, the device that failed]. */
  available(): 0 | readonly [errno: number, device: string];

  /**
   * `IOCTL_GNTDEV_MAP_GRANT_REF` for (domid, ref), then `mmap` of the page (PROT_WRITE only when
   * `writable`; an mmap EAGAIN, a paged-out grant, is retried for about 10 ms): a page handle,
   * or -errno. A handle collected while mapped is unmapped by its finalizer.
   */
  mapGrant(domid: number, ref: number, writable: boolean): PageHandle | number;
  /** `munmap`, then `IOCTL_GNTDEV_UNMAP_GRANT_REF`: 0 or -errno (the page is gone either way). Idempotent. */
  unmapGrant(page: PageHandle): number;
  /** Whether the page is still mapped. */
  pageMapped(page: PageHandle): boolean;
  /** `__atomic_load_n(ACQUIRE)` of the u32 at `offset` (a multiple of 4, at most 4092). */
  pageLoadU32(page: PageHandle, offset: number): number;
  /** `__atomic_store_n(RELEASE)`; throws on a read-only mapping. */
  pageStoreU32(page: PageHandle, offset: number, value: number): void;
  /** One `memcpy` of `length` bytes at `offset` into `target` at `targetOffset`. */
  pageRead(page: PageHandle, offset: number, length: number, target: Uint8Array, targetOffset: number): void;
  /** One `memcpy` of `source` into the page at `offset`; throws on a read-only mapping. */
  pageWrite(page: PageHandle, offset: number, source: Uint8Array): void;
  /** `__atomic_thread_fence(SEQ_CST)`: a full barrier (mfence, dmb ish). */
  pageFence(): void;

  /** `IOCTL_EVTCHN_BIND_INTERDOMAIN`: the new local port, or -errno. */
  evtchnBindInterdomain(domid: number, remotePort: number): number;
  /** `IOCTL_EVTCHN_BIND_UNBOUND_PORT`: a fresh local port for `domid` to bind, or -errno. */
  evtchnBindUnbound(domid: number): number;
  /** `IOCTL_EVTCHN_NOTIFY`: 0 or -errno. */
  evtchnNotify(port: number): number;
  /** `IOCTL_EVTCHN_UNBIND`: 0 or -errno. */
  evtchnUnbind(port: number): number;
  /** `write()` of the port number: unmasks a delivered port. 0 or -errno. */
  evtchnUnmask(port: number): number;
  /**
   * The one poll (per thread) on /dev/xen/evtchn: `callback` runs on this thread with the
   * pending ports it read; `overflowed` says the kernel's event ring overflowed and was reset
   * (events were lost: re-scan every port). A negative status is -errno: polling stopped, call
   * `pollClose`. Returns the handle, -EBUSY while another is open, or -errno when the device
   * does not open. An open poll keeps the process alive, like a socket.
   */
  evtchnPoll(callback: PendingPortsCallback): PollHandle | number;
  /** Stops and releases a poll; idempotent. */
  pollClose(handle: PollHandle): void;

  /**
   * TEST ONLY: the same reader on any descriptor (a pipe or FIFO holding u32 port numbers),
   * without the evtchn reset, to exercise the poll path without Xen. A handle or -errno.
   */
  pollFd(fd: number, callback: PendingPortsCallback): PollHandle | number;
  /** TEST ONLY: a private anonymous page behind the same accessors. A handle or -errno. */
  allocTestPage(writable: boolean): PageHandle | number;
  /**
   * TEST ONLY: other files stand in for the devices (closing the ones open), to reach the open,
   * ioctl and poll paths without Xen. 0, or -EBUSY while a grant is mapped or the poll is open.
   */
  setDevicePaths(gntdev: string, evtchn: string): number;

  /**
   * Opens `path` (`O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY`) as a non-blocking byte stream,
   * for character devices Node cannot wrap in a net.Socket (the xenbus device). It starts
   * polling for readability; `callback` gets (0, ready events), with STREAM_HANGUP when polling
   * stopped on an error condition (read what is left to learn the end or the error), or
   * (-errno, 0) after which polling has stopped. Returns the handle, -ENODEV when epoll refuses the descriptor (a regular file:
   * not a device), or -errno of the open. An open stream keeps the process alive, like a socket.
   */
  streamOpen(path: string, callback: StreamReadyCallback): StreamHandle | number;
  /** One non-blocking `read`: bytes read (> 0), 0 at the end, -EAGAIN when nothing is queued, or -errno (-EBADF once closed). */
  streamRead(handle: StreamHandle, target: Uint8Array): number;
  /** One non-blocking `write`: bytes written (> 0, maybe fewer), -EAGAIN when full, or -errno (-EBADF once closed). */
  streamWrite(handle: StreamHandle, source: Uint8Array): number;
  /** What to wait for next: STREAM_READABLE | STREAM_WRITABLE, 0 for nothing. 0 or -errno. */
  streamPoll(handle: StreamHandle, events: number): number;
  /** Stops the poll and closes the descriptor at once (a pending wait ends with it); idempotent. */
  streamClose(handle: StreamHandle): void;
}

/** Readiness bits of `streamPoll` and its callback (libuv's UV_READABLE, UV_WRITABLE). */
export const STREAM_READABLE = 1;
export const STREAM_WRITABLE = 2;
/** In the callback only: the device reported an error condition or hang-up (POLLERR); polling stopped. */
export const STREAM_HANGUP = 4;

/** Called with (0, ready events) or (-errno, 0) when polling failed and stopped. */
export type StreamReadyCallback = (status: number, events: number) => void;

/** An opaque byte-stream handle owned by the addon. */
export interface StreamHandle {
  readonly __xenStreamHandle: unique symbol;
}

/** Called with (0 | -errno, pending local ports, whether the event ring overflowed). */
export type PendingPortsCallback = (status: number, ports: readonly number[], overflowed: boolean) => void;

/** An opaque mapped-page handle owned by the addon. */
export interface PageHandle {
  readonly __xenPageHandle: unique symbol;
}

/** An opaque poll handle owned by the addon. */
export interface PollHandle {
  readonly __xenPollHandle: unique symbol;
}

/** The ABI the addon was compiled with (Linux UAPI xen/gntdev.h and xen/evtchn.h). */
export interface XenConstants {
  readonly PAGE_SIZE: number;
  readonly IOCTL_GNTDEV_MAP_GRANT_REF: number;
  readonly IOCTL_GNTDEV_UNMAP_GRANT_REF: number;
  readonly IOCTL_EVTCHN_BIND_INTERDOMAIN: number;
  readonly IOCTL_EVTCHN_BIND_UNBOUND_PORT: number;
  readonly IOCTL_EVTCHN_UNBIND: number;
  readonly IOCTL_EVTCHN_NOTIFY: number;
  readonly IOCTL_EVTCHN_RESET: number;
  readonly SIZEOF_GNTDEV_MAP_GRANT_REF: number;
  readonly OFFSETOF_GNTDEV_MAP_GRANT_REF_INDEX: number;
  readonly OFFSETOF_GNTDEV_MAP_GRANT_REF_REFS: number;
  readonly SIZEOF_GNTDEV_GRANT_REF: number;
  readonly SIZEOF_GNTDEV_UNMAP_GRANT_REF: number;
  readonly OFFSETOF_GNTDEV_UNMAP_GRANT_REF_COUNT: number;
  readonly SIZEOF_EVTCHN_BIND_INTERDOMAIN: number;
  readonly SIZEOF_EVTCHN_BIND_UNBOUND_PORT: number;
  readonly SIZEOF_EVTCHN_UNBIND: number;
  readonly SIZEOF_EVTCHN_NOTIFY: number;
  readonly SIZEOF_EVTCHN_PORT: number;
  readonly GNTDEV_DEVICE: string;
  readonly EVTCHN_DEVICE: string;
}

/** Every function the addon must export (checked when it is loaded). */
export const XEN_BINDING_FUNCTIONS = [
  'available', 'mapGrant', 'unmapGrant', 'pageMapped', 'pageLoadU32', 'pageStoreU32', 'pageRead', 'pageWrite',
  'pageFence', 'evtchnBindInterdomain', 'evtchnBindUnbound', 'evtchnNotify', 'evtchnUnbind', 'evtchnUnmask',
  'evtchnPoll', 'pollClose', 'pollFd', 'allocTestPage', 'setDevicePaths', 'streamOpen', 'streamRead', 'streamWrite',
  'streamPoll', 'streamClose',
] as const satisfies readonly (keyof XenBinding)[];
