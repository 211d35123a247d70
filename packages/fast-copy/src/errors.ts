import { constants } from 'node:os';
import { FlowError, fromNodeError } from '@flow/core';

/** errno number → name (104 → ECONNRESET), from Node's own table of this system's values. */
const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** The name of an errno number, positive or negative. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return ERRNO_NAMES.get(n) ?? `errno ${n}`;
}

/** A failed system call of the engine as a FlowError: the kind from core's errno vocabulary. */
export function errnoError(errno: number, syscall: string, context: string): FlowError {
  const n = Math.abs(errno);
  const code = errnoName(n);
  const message = `${context}: ${syscall} ${code}`;
  if (code === 'EPIPE') {
    // The engine never writes after a shutdown of its own: a broken pipe is the peer gone.
    return new FlowError('reset', `${message} (the peer closed or reset the connection)`, { code, errno: n, syscall });
  }
  return fromNodeError({ code, errno: n, syscall, message });
}

/** The typed error for an engine this platform or install cannot provide. */
export function unsupportedError(message: string, cause?: unknown): FlowError {
  return new FlowError('unsupported', message, { code: 'ENOTSUP', cause });
}
