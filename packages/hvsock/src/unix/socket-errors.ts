import type { Socket } from 'node:net';
import { FlowError, fromNodeError } from '@flow/core';

/**
 * Refines core's errno mapping for an established Unix socket. EPIPE after our own shutdown is a
 * write to a closed flow (`closed`); otherwise the VMM or the guest dropped the connection while
 * we were writing (`reset`), which is what the caller needs to know.
 */
export function unixSocketErrorMapper(socket: Socket, peer: string): (error: unknown, during: 'read' | 'write' | 'shutdown') => FlowError {
  return (error, during) => {
    const base = fromNodeError(error);
    const opts = { code: base.code, syscall: base.syscall, errno: base.errno, cause: error };
    if (base.code === 'EPIPE' && !socket.writableEnded) {
      return new FlowError('reset', `${peer} dropped the connection while we were writing (${during})`, opts);
    }
    if (base.code === 'ECONNRESET') return new FlowError('reset', `${peer} reset the connection`, opts);
    return base;
  };
}
