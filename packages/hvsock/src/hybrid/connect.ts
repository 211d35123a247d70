import type { Socket } from 'node:net';
import { err, FlowError, fromNodeError, type Result } from '@flow/core';
import type { HybridVsockAddress } from '../address/types';
import { dialUnix } from '../unix/dial';
import { checkSocketPath } from '../unix/path-limit';
import { checkBufferSize, checkTimeout, wrapUnixSocket } from '../unix/socket-flow';
import { HYBRID_VSOCK_CAPABILITIES } from './capabilities';
import { checkVsockPort } from './connect-line';
import { hybridHandshake } from './handshake';
import { HybridFlow, type HybridVsockFlow } from './hybrid-flow';

/** Handshake deadline when neither the address nor the options give one. Firecracker gives the guest 2 s to accept. */
export const DEFAULT_HYBRID_TIMEOUT_MS = 5000;

/** Options of `connectHybrid`: buffering, cancellation and the handshake deadline. */
export interface HybridConnectOptions {
  /** Bytes buffered for readers before the socket is paused. Default 256 KiB. */
  readonly bufferSize?: number;
  /** Abandon the attempt when this aborts; the result is an `aborted` error. */
  readonly signal?: AbortSignal;
  /**
   * Deadline for connect plus handshake, in ms, used when the address has no `timeoutMs`.
   * Default 5000; Infinity waits as long as the VMM does. When it passes the result is a
   * `timeout` error.
   */
  readonly timeoutMs?: number;
}

function checkAddress(address: HybridVsockAddress): void {
  if (typeof address !== 'object' || address === null || address.kind !== 'hybrid-vsock') {
    throw new TypeError("connectHybrid needs a HybridVsockAddress ({ kind: 'hybrid-vsock', path, port })");
  }
  if (typeof address.path !== 'string' || address.path === '') throw new TypeError('path must be a non-empty string');
  checkVsockPort(address.port);
  if (address.ack !== undefined && address.ack !== 'required' && address.ack !== 'none') {
    throw new RangeError(`ack must be 'required' or 'none', got ${String(address.ack)}`);
  }
  checkTimeout('timeoutMs', address.timeoutMs);
}

/**
 * Opens a host → guest connection through a hybrid-vsock VMM (Firecracker, Cloud Hypervisor,
 * vhost-device-vsock, Kata): connects to the VMM's Unix socket at `address.path`, sends
 * `CONNECT <port>\n` and waits for `OK <n>\n` (unless `address.ack` is `none`).
 *
 * Resolves with the flow or a typed error, never rejects:
 * - `not-found`: the VMM socket does not exist;
 * - `refused`: nobody listens on the socket, or the VMM closed the connection before its
 *   acknowledgement (no guest listener on the port, or the guest refused);
 * - `timeout`: no acknowledgement within the deadline;
 * - `protocol`: the VMM answered something other than `OK <n>\n` (the reply is quoted);
 * - `aborted`: `options.signal` aborted;
 * - `invalid`: the path does not fit in a Unix-socket address.
 * Throws only for bad arguments (a port outside u32, a negative timeout).
 */
export function connectHybrid(address: HybridVsockAddress, options: HybridConnectOptions = {}): Promise<Result<HybridVsockFlow, FlowError>> {
  checkAddress(address);
  checkBufferSize(options.bufferSize);
  checkTimeout('timeoutMs', options.timeoutMs);
  const { path, port } = address;
  const tooLong = checkSocketPath(path, 'the VMM socket');
  if (tooLong) return Promise.resolve(err(tooLong));
  const ack = address.ack ?? 'required';
  const timeoutMs = address.timeoutMs ?? options.timeoutMs ?? DEFAULT_HYBRID_TIMEOUT_MS;
  const wrap = (socket: Socket, ackPort: number | undefined): HybridVsockFlow =>
    new HybridFlow(
      wrapUnixSocket(socket, {
        label: `hybrid-vsock ${path} port ${port}${ackPort === undefined ? '' : ` (host port ${ackPort})`}`,
        capabilities: HYBRID_VSOCK_CAPABILITIES,
        bufferSize: options.bufferSize,
        peer: 'the VMM',
      }),
      address,
      ackPort,
    );
  return dialUnix(
    {
      path,
      timeoutMs,
      signal: options.signal,
      connectError: (e) => vmmSocketError(e, path),
      timeoutError: (connected, ms) =>
        new FlowError(
          'timeout',
          connected
            ? `the VMM at ${path} did not acknowledge CONNECT ${port} within ${ms} ms (is the guest listening on port ${port}?)`
            : `connecting to the VMM socket ${path} timed out after ${ms} ms`,
          { code: 'ETIMEDOUT', syscall: 'connect' },
        ),
    },
    hybridHandshake({ path, port, ack, wrap }),
  );
}

/** A failed connect(2) on the VMM's socket, worded for someone setting up a VM. */
export function vmmSocketError(error: unknown, path: string): FlowError {
  const base = fromNodeError(error);
  const opts = { code: base.code, syscall: base.syscall ?? 'connect', errno: base.errno, cause: error };
  switch (base.code) {
    case 'ENOENT':
      return new FlowError('not-found', `the VMM socket ${path} does not exist (is the VM running, with its vsock device on this path?)`, opts);
    case 'ECONNREFUSED':
      return new FlowError('refused', `no VMM listens on ${path} (a socket file left by a VMM that exited?)`, opts);
    case 'ENOTSOCK':
      return new FlowError('invalid', `${path} is not a Unix socket`, opts);
    case 'EACCES':
    case 'EPERM':
      return new FlowError('permission', `permission denied connecting to the VMM socket ${path}`, opts);
    default:
      return new FlowError(base.kind, `cannot connect to the VMM socket ${path}: ${base.message}`, opts);
  }
}
