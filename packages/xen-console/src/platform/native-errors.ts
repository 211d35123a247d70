import { constants } from 'node:os';
import { FlowError, fromNodeError } from '@flow/core';

/** errno number → name on this system (the addon exists only on Linux, so these are Linux's). */
const ERRNO_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(constants.errno)
    // Aliases of EAGAIN and EOPNOTSUPP: keep the names the kernel's own headers use first.
    .filter(([name]) => name !== 'EWOULDBLOCK' && name !== 'ENOTSUP')
    .map(([name, n]) => [n, name]),
);

/** The name of an errno number, positive or negative (`-2` → `ENOENT`). */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return ERRNO_NAMES.get(n) ?? `errno ${n}`;
}

/**
 * A failed call into the addon as a FlowError: the kind from core's errno vocabulary, the
 * message `<context>: <CODE>`, and the OS error kept whole.
 */
export function errnoError(errno: number, syscall: string | undefined, context: string): FlowError {
  const n = Math.abs(errno);
  const code = errnoName(n);
  return fromNodeError({ code, errno: n, syscall, message: `${context}: ${code}` });
}

/** The typed error for what this system or build cannot provide. */
export function unsupportedError(message: string, options: { readonly code?: string; readonly cause?: unknown } = {}): FlowError {
  return new FlowError('unsupported', message, { code: options.code ?? 'ENOTSUP', cause: options.cause });
}

/**
 * Why a Xen device did not open, said so that a user knows what to do: absent means no Xen here
 * (or its modules are not loaded), a permission error means this process is not privileged.
 */
export function deviceError(errno: number, device: string): FlowError {
  const code = errnoName(errno);
  const options = { code, errno: Math.abs(errno), syscall: 'open' };
  if (code === 'ENOENT') {
    return new FlowError(
      'unsupported',
      `no Xen: ${device} does not exist (this machine is not a Xen dom0 or driver domain, or the xen-gntdev and ` +
        'xen-evtchn modules are not loaded)',
      options,
    );
  }
  if (code === 'ENODEV' || code === 'ENXIO') {
    return new FlowError('unsupported', `no Xen: ${device} has no driver behind it (${code}; is this a Xen domain?)`, options);
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new FlowError('permission', `cannot open ${device}: ${code} (the Xen devices need root or a udev rule granting access)`, options);
  }
  return fromNodeError({ ...options, message: `cannot open ${device}: ${code}` });
}
