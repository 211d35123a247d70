/**
 * A non-blocking stream socket as the buffered flow drives it: the event-driven analogue of
 * upstream's `Af_common.S`. Every call returns at once; failures are negative errno numbers, so
 * that the flow can report the OS error exactly (code, errno, system call).
 *
 * Implemented by the AF_VSOCK addon, by Hyper-V sockets on Windows, and by an in-memory double
 * in the tests.
 */
export interface NonBlockingSocket {
  /** For flow labels and messages, e.g. `vsock 1:1024 -> 1:5000`. */
  readonly label: string;
  /** One read into `buffer`: bytes read (> 0), 0 at end of stream, or -errno (-EAGAIN: nothing yet). */
  read(buffer: Uint8Array): number;
  /** One gathered write of `chunks` in order: bytes taken (possibly fewer than offered) or -errno (-EAGAIN: full). */
  writev(chunks: readonly Uint8Array[]): number;
  /** `shutdown(SHUT_RD)` or `shutdown(SHUT_WR)`: 0 or -errno. */
  shutdown(how: 'read' | 'write'): number;
  /**
   * Which readiness to be told of from now on (level-triggered: told again while it holds).
   * Both false: told of nothing.
   */
  watch(readable: boolean, writable: boolean): void;
  /**
   * Sets the one function told of readiness, on the event loop, never from inside a call.
   * `status` < 0 means polling itself failed (-errno); the socket is then unusable.
   */
  onReady(callback: (status: number, readable: boolean, writable: boolean) => void): void;
  /** Releases the descriptor and its poll at once; later calls return -EBADF. Idempotent. */
  close(): void;
}

export const EAGAIN = 11;
export const EBADF = 9;
export const EINPROGRESS = 115;
