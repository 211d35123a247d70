import { FlowError, type FlowErrorKind } from '@flow/core';

/**
 * The errors the simulated hypervisor returns. Codes follow what Xen itself returns where it
 * is clear (EINVAL for a bad event-channel port, ESRCH for an unknown domain, EBUSY for ending a
 * grant still mapped); the kinds are what callers branch on. A real gntdev/evtchn may report
 * other codes: the simulator cannot claim them (spec §11.3).
 */
const errnos: Record<string, number> = { EPERM: 1, ENOENT: 2, ESRCH: 3, EACCES: 13, EBUSY: 16, EEXIST: 17, EINVAL: 22, ENOSPC: 28 };

export function simError(kind: FlowErrorKind, code: string, message: string, syscall: string): FlowError {
  return new FlowError(kind, message, { code, errno: errnos[code], syscall });
}
