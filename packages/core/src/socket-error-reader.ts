/**
 * Reads a socket's pending error (SO_ERROR) for `@flow/core`, which cannot itself: Node has no
 * API for it, and core stays pure TypeScript. A program installs one (`@flow/fast-copy` offers
 * it, read by its native addon); core asks it only about a paused Unix-domain socket, whose
 * peer's reset would otherwise go unseen until the flow reads again.
 *
 * Why it is needed: when a Unix-domain stream peer closes its socket while bytes we sent sit
 * unread in its receive queue, Linux sets ECONNRESET on our socket (a "reset"); a clean close
 * sets nothing. Nothing in Node tells the two apart without reading: a zero-length write fails
 * with EPIPE after either, and reading would take bytes off a flow that is paused because nobody
 * wants them yet. SO_ERROR tells them apart, and reading it leaves the bytes in place.
 */
export interface SocketErrorReader {
  /** For messages, e.g. `fast-copy`. */
  readonly name: string;
  /**
   * The socket's pending error as a positive errno (ECONNRESET is 104 on Linux), 0 when none,
   * or undefined when it cannot be read (not a socket, a closed descriptor, the reader is
   * unavailable in this process). Reading the error clears it in the kernel: the caller must act
   * on what it got.
   */
  socketError(fd: number): number | undefined;
}

let installed: SocketErrorReader | undefined;

/**
 * Installs `reader` for every socket flow of this process (`undefined` uninstalls it); returns
 * the one installed before. With a reader, a paused Unix-domain socket flow (`fromDuplex` with
 * `detectReset`, as `@flow/tcp` makes them) asks it once a second whether its peer reset, and a
 * reset fails the flow as `reset` without waiting for it to read again. Without one, such a flow
 * learns of the reset only when it reads again (after the bytes its peer sent before).
 */
export function installSocketErrorReader(reader: SocketErrorReader | undefined): SocketErrorReader | undefined {
  const before = installed;
  installed = reader;
  return before;
}

/** The reader installed by `installSocketErrorReader`, if any. */
export function installedSocketErrorReader(): SocketErrorReader | undefined {
  return installed;
}
