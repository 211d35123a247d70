import { fromNodeError, FlowError } from '@flow/core';
import { LINUX_ERRNO_NAMES } from './errno-names';

/** The name of a Linux errno number, positive or negative (`104` or `-104` → `ECONNRESET`). */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return LINUX_ERRNO_NAMES.get(n) ?? `errno ${n}`;
}

/**
 * A failed system call as a FlowError: the kind from core's errno vocabulary, and the OS
 * error kept whole (`code` ECONNRESET, `errno` 104, `syscall` read).
 */
export function errnoError(errno: number, syscall: string, context?: string): FlowError {
  const n = Math.abs(errno);
  const code = errnoName(n);
  const what = `${syscall} ${code}`;
  const message = context ? `${context}: ${what}` : what;
  if (code === 'EPIPE' && syscall !== 'shutdown') {
    // The flow never writes after its own shutdown (it refuses with `closed` first), so a
    // broken pipe means the peer went away: a reset, not a write to a closed flow.
    return new FlowError('reset', `${message} (the peer closed or reset the connection)`, { code, errno: n, syscall });
  }
  return fromNodeError({ code, errno: n, syscall, message });
}

/** The typed error for a feature this platform or build cannot provide. */
export function unsupportedError(message: string, cause?: unknown): FlowError {
  return new FlowError('unsupported', message, { code: 'ENOTSUP', cause });
}
