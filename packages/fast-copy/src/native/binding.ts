/**
 * The shape of the native addon (`native/fast_copy.c`, N-API). Both calls return at once; the
 * copy runs on the Node event loop with libuv polling and calls `onDone` once, at its end.
 */
export interface FastCopyBinding {
  /**
   * Starts copying `fromFd` to `toFd` (both open and non-blocking; the engine watches duplicates
   * and never closes the originals). `bufferSize` is the one buffer (or pipe) in flight,
   * `idleMs` 0 for none. Returns the handle, or a negative errno (-22 EINVAL: a blocking descriptor).
   */
  start(
    fromFd: number,
    toFd: number,
    bufferSize: number,
    idleMs: number,
    splice: boolean,
    onDone: (result: NativeCopyResult) => void,
  ): NativeCopyHandle | number;
  /** Ends a running copy at once without calling `onDone`; undefined when it had ended already. */
  stop(handle: NativeCopyHandle): NativeCopyResult | undefined;
  /** reads + writes so far (grows whenever bytes moved); -1 once the copy has ended. */
  activity(handle: NativeCopyHandle): number;
  /**
   * The socket's pending error (SO_ERROR) as a positive errno, 0 when none, or -errno when it
   * cannot be read (EBADF, ENOTSOCK); reading it clears it. Absent from addons built before it.
   */
  socketError?(fd: number): number;
}

/** An opaque object that owns a running copy. */
export type NativeCopyHandle = object & { readonly __nativeCopyHandle?: never };

export interface NativeCopyResult {
  readonly outcome: 'eof' | 'error' | 'stopped';
  /** Positive errno when the outcome is `error` (ETIMEDOUT for the idle timeout), else 0. */
  readonly errno: number;
  /** `read`, `write`, `splice` or `idle` when the outcome is `error`, else null. */
  readonly syscall: string | null;
  /** Which side failed when the outcome is `error` (null for the idle timeout). */
  readonly side: 'read' | 'write' | null;
  readonly bytes: number;
  readonly reads: number;
  readonly writes: number;
  readonly unwritten: Buffer;
}
