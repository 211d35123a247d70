/**
 * The shared error vocabulary. Every flow, listener and combinator reports failures as a
 * `FlowError` value with one `kind` from this list, so that callers can branch on the kind
 * without knowing the transport.
 */
export type FlowErrorKind =
  /** The flow (or its write side) was closed or shut down; the data was not written. */
  | 'closed'
  /** The peer ended the stream before the expected amount of data arrived. */
  | 'eof-early'
  /** The peer refused the connection (ECONNREFUSED, no listener). */
  | 'refused'
  /** A deadline or idle timeout expired. */
  | 'timeout'
  /** The peer reset the connection (ECONNRESET, RST) or vanished mid-stream. */
  | 'reset'
  /** This side aborted the operation or the flow (AbortSignal, `abort()`). */
  | 'aborted'
  /** The peer broke the protocol (bad frame, bad size, bad state). */
  | 'protocol'
  /** The destination cannot be reached (EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL). */
  | 'unreachable'
  /** A configured bound was exceeded (line too long, too many fids, message too big). */
  | 'limit'
  /** A named thing does not exist (ENOENT, unknown host). */
  | 'not-found'
  /** The address or resource is already in use (EADDRINUSE, EEXIST). */
  | 'in-use'
  /** Permission denied (EACCES, EPERM). */
  | 'permission'
  /** Malformed input from a user or a configuration (a bad URI, option or name). */
  | 'invalid'
  /** The operation is not supported by this transport or platform. */
  | 'unsupported'
  /** Any other operating-system or library failure; see `code` and `cause`. */
  | 'io';

/** The details a `FlowError` may carry besides its kind and message. */
export interface FlowErrorOptions {
  /** errno-style code, e.g. `ECONNRESET`. */
  readonly code?: string;
  /** The system call that failed, e.g. `connect`. */
  readonly syscall?: string;
  /** The operating system's error number, e.g. 104 for ECONNRESET on Linux (positive, as in C). */
  readonly errno?: number;
  /** The underlying error or reason. */
  readonly cause?: unknown;
  /** For write errors: how many bytes of this write were accepted before it failed. */
  readonly bytesAccepted?: number;
}

/**
 * A failure, carried as a value. It extends `Error` so that it prints with a stack and works
 * with `instanceof`, but the library never throws it for an I/O condition: it is returned.
 */
export class FlowError extends Error {
  /** Always `'FlowError'`: the name stack traces and `String(error)` print. */
  override readonly name = 'FlowError';
  /** What went wrong, independent of the transport: branch on this. */
  readonly kind: FlowErrorKind;
  /** The errno-style or Node `ERR_*` code, e.g. `ECONNRESET`, when the failure came from one. */
  readonly code: string | undefined;
  /** The system call that failed, e.g. `connect`, when known. */
  readonly syscall: string | undefined;
  /** The operating system's error number (positive, as in C), when known. */
  readonly errno: number | undefined;
  /**
   * For write errors: how many bytes of the failed write (or `writev`) were accepted before it
   * failed, so the caller knows where to resume. `undefined` for other operations.
   */
  readonly bytesAccepted: number | undefined;
  /** The underlying error or abort reason, when there was one. */
  override readonly cause: unknown;

  /**
   * @param kind - What went wrong; see {@link FlowErrorKind}.
   * @param message - A sentence for humans, naming the thing that failed.
   * @param options - The code, syscall, errno, cause and accepted byte count, where known.
   */
  constructor(kind: FlowErrorKind, message: string, options: FlowErrorOptions = {}) {
    super(message);
    this.kind = kind;
    this.code = options.code;
    this.syscall = options.syscall;
    this.errno = options.errno;
    this.cause = options.cause;
    this.bytesAccepted = options.bytesAccepted;
  }

  /** A copy of this error that records how many bytes of a write were accepted. */
  withBytesAccepted(bytesAccepted: number): FlowError {
    return new FlowError(this.kind, this.message, {
      code: this.code,
      syscall: this.syscall,
      errno: this.errno,
      cause: this.cause,
      bytesAccepted,
    });
  }
}

/** Creates a `FlowError`: the same as `new FlowError(kind, message, options)`, as a function. */
export function flowError(kind: FlowErrorKind, message: string, options?: FlowErrorOptions): FlowError {
  return new FlowError(kind, message, options);
}

/** True if `value` is an instance of `FlowError`; narrows its type. */
export function isFlowError(value: unknown): value is FlowError {
  return value instanceof FlowError;
}

/** The error every write after shutdown or close returns (mirage's `` `Closed ``). */
export function closedError(bytesAccepted = 0): FlowError {
  return new FlowError('closed', 'attempted to write to a closed flow', { bytesAccepted });
}

/**
 * The error an operation cancelled by an `AbortSignal` or `abort(reason)` returns: `reason` itself
 * if it is a `FlowError`; kind `timeout` (code `ETIMEDOUT`) if it is a `TimeoutError` such as
 * `AbortSignal.timeout()` gives; otherwise kind `aborted`, with the reason in the message and as `cause`.
 */
export function abortedError(reason?: unknown): FlowError {
  if (reason instanceof FlowError) return reason;
  // `AbortSignal.timeout()` aborts with a TimeoutError: that is a deadline, not a cancellation.
  if (isErrorLike(reason) && reason.name === 'TimeoutError') {
    return new FlowError('timeout', reason.message || 'timed out', { code: 'ETIMEDOUT', cause: reason });
  }
  const detail = describeReason(reason);
  return new FlowError('aborted', detail ? `aborted: ${detail}` : 'aborted', { cause: reason });
}

/**
 * A `timeout` error (code `ETIMEDOUT`) whose message reads `<what> timed out after <ms> ms`.
 *
 * @param what - The operation that ran out of time, e.g. `connect to 127.0.0.1:80`.
 * @param ms - The deadline that expired, in milliseconds.
 */
export function timeoutError(what: string, ms: number): FlowError {
  return new FlowError('timeout', `${what} timed out after ${ms} ms`, { code: 'ETIMEDOUT' });
}

/**
 * Duck-typed, not `instanceof Error`: an AbortSignal's DOMException and errors from another
 * realm (a vm context, a test runner) are not instances of this realm's Error.
 */
function isErrorLike(value: unknown): value is { name: string; message: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { name?: unknown }).name === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

function describeReason(reason: unknown): string {
  if (reason === undefined) return '';
  if (isErrorLike(reason)) {
    // An AbortSignal's default reason is a DOMException "This operation was aborted".
    return reason.name === 'AbortError' ? '' : reason.message;
  }
  return String(reason);
}

const errnoKinds: Record<string, FlowErrorKind> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  ECONNRESET: 'reset',
  ECONNABORTED: 'reset',
  ENETRESET: 'reset',
  EPIPE: 'closed',
  ENOTCONN: 'closed',
  ESHUTDOWN: 'closed',
  EBADF: 'closed',
  ERR_SOCKET_CLOSED: 'closed',
  ERR_STREAM_DESTROYED: 'closed',
  ERR_STREAM_WRITE_AFTER_END: 'closed',
  ERR_STREAM_PREMATURE_CLOSE: 'reset',
  ERR_SOCKET_CONNECTION_TIMEOUT: 'timeout',
  EMFILE: 'limit',
  ENFILE: 'limit',
  EAI_AGAIN: 'unreachable',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ENOENT: 'not-found',
  ENOTFOUND: 'not-found',
  EAI_NONAME: 'not-found',
  EADDRINUSE: 'in-use',
  EEXIST: 'in-use',
  EACCES: 'permission',
  EPERM: 'permission',
  ENOTSUP: 'unsupported',
  EOPNOTSUPP: 'unsupported',
  ENOSYS: 'unsupported',
  EAFNOSUPPORT: 'unsupported',
  ABORT_ERR: 'aborted',
  ECANCELED: 'aborted',
};

interface ErrnoLike {
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
  message?: unknown;
  name?: unknown;
}

/** Maps a Node.js error (errno or `ERR_*` code) to a `FlowError`, keeping it as the cause. */
export function fromNodeError(error: unknown, context?: string): FlowError {
  if (error instanceof FlowError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrnoLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const syscall = typeof e.syscall === 'string' ? e.syscall : undefined;
  // Node gives errno negated (-104); the OS number is positive.
  const errno = typeof e.errno === 'number' && Number.isInteger(e.errno) && e.errno !== 0 ? Math.abs(e.errno) : undefined;
  const kind: FlowErrorKind =
    (code !== undefined ? errnoKinds[code] : undefined) ?? (e.name === 'AbortError' ? 'aborted' : 'io');
  const base = typeof e.message === 'string' && e.message !== '' ? e.message : String(error);
  const message = context ? `${context}: ${base}` : base;
  return new FlowError(kind, message, { code, syscall, errno, cause: error });
}

/** The readable form of an error (mirage's `pp_error` / `pp_write_error`). */
export function formatError(error: FlowError): string {
  // The kind once: a message that starts with it already ("aborted: the server stopped") keeps its own.
  const saysKind = error.message === error.kind || error.message.startsWith(`${error.kind}: `);
  const parts = [saysKind ? error.message : `${error.kind}: ${error.message}`];
  const details: string[] = [];
  if (error.code && !mentions(error.message, error.code)) details.push(error.code);
  // Whole words only: "connection attempt" does not name the syscall "connect".
  if (error.syscall && !mentions(error.message, error.syscall)) details.push(`syscall ${error.syscall}`);
  if (error.bytesAccepted !== undefined && error.bytesAccepted > 0) {
    details.push(`${error.bytesAccepted} bytes accepted before the failure`);
  }
  if (details.length > 0) parts.push(`(${details.join(', ')})`);
  return parts.join(' ');
}

/** Whether `word` occurs in `text` as a whole word (not inside a longer one). */
function mentions(text: string, word: string): boolean {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_])${escaped}($|[^A-Za-z0-9_])`).test(text);
}
