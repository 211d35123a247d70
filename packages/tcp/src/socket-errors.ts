import type { Socket } from 'node:net';
import { FlowError, fromNodeError } from '@flow/core';

/**
 * Refines core's errno mapping for an established socket. EPIPE means two different things:
 * after our own shutdown it is a write to a closed flow (`closed`); otherwise the peer reset or
 * vanished while we were writing (`reset`), which is what the caller needs to know.
 */
export function socketErrorMapper(socket: Socket): (error: unknown, during: 'read' | 'write' | 'shutdown') => FlowError {
  return (error, during) => {
    const base = fromNodeError(error);
    if (base.code === 'EPIPE' && !socket.writableEnded) {
      return new FlowError('reset', `the peer reset the connection while we were writing (${during})`, {
        code: base.code,
        syscall: base.syscall,
        cause: error,
      });
    }
    if (base.code === 'ECONNRESET') {
      return new FlowError('reset', 'the peer reset the connection', { code: base.code, syscall: base.syscall, cause: error });
    }
    if (base.code === 'ETIMEDOUT') {
      // On an established flow only keepalive or retransmission give up with ETIMEDOUT.
      return new FlowError('timeout', 'the peer stopped answering (keepalive or retransmission timeout)', {
        code: base.code,
        syscall: base.syscall,
        cause: error,
      });
    }
    return base;
  };
}

/**
 * A failed connection attempt as a value, with mirage's wording for its two own errors
 * ("connection attempt was refused" / "timed out") and the errno for everything else.
 */
export function connectError(error: unknown, target: string): FlowError {
  const base = fromNodeError(error);
  const opts = { code: base.code, syscall: base.syscall ?? 'connect', cause: error };
  switch (base.kind) {
    case 'refused':
      return new FlowError('refused', `connection attempt to ${target} was refused`, opts);
    case 'timeout':
      return new FlowError('timeout', `connection attempt to ${target} timed out`, opts);
    case 'unreachable':
      return new FlowError('unreachable', `${target} is unreachable (${base.code ?? 'no route'})`, opts);
    case 'not-found':
      return new FlowError('not-found', `connect to ${target}: ${base.code === 'ENOENT' ? 'no such socket file' : 'host not found'}`, opts);
    default:
      return new FlowError(base.kind, `connect to ${target} failed: ${base.message}`, opts);
  }
}
