import { err, FlowError, fromNodeError, ok, type Result } from '@flow/core';
import type { HyperkitAddress } from '../address/types';
import { AddressedFlow, type HvsockFlow } from '../flow';
import { checkVsockPort } from '../hybrid/connect-line';
import { dialUnix } from '../unix/dial';
import { checkSocketPath } from '../unix/path-limit';
import { checkBufferSize, checkTimeout, wrapUnixSocket } from '../unix/socket-flow';
import { HYPERKIT_CAPABILITIES } from './capabilities';
import { DEFAULT_HYPERKIT_GUEST_CID, encodeHyperkitHeader } from './header';
import { hyperkitConnectPath } from './paths';

/** Connect deadline when the options give none. */
export const DEFAULT_HYPERKIT_TIMEOUT_MS = 5000;

/** Options of `connectHyperkit`: buffering, cancellation and the connect deadline. */
export interface HyperkitConnectOptions {
  /** Bytes buffered for readers before the socket is paused. Default 256 KiB. */
  readonly bufferSize?: number;
  /** Abandon the attempt when this aborts; the result is an `aborted` error. */
  readonly signal?: AbortSignal;
  /** Deadline for the connect, in ms; default 5000, Infinity for none. */
  readonly timeoutMs?: number;
}

function checkAddress(address: HyperkitAddress): void {
  if (typeof address !== 'object' || address === null || address.kind !== 'hyperkit') {
    throw new TypeError("connectHyperkit needs a HyperkitAddress ({ kind: 'hyperkit', dir, port })");
  }
  if (typeof address.dir !== 'string' || address.dir === '') throw new TypeError('dir must be a non-empty string');
  checkVsockPort(address.port);
  if (address.cid !== undefined) checkVsockPort(address.cid, 'cid');
}

/**
 * Opens a host → guest connection through Hyperkit's virtio-sock: connects to `<dir>/connect`
 * and sends the 18-byte header `%08x.%08x\n` (guest CID, default 3, and port) in one write.
 * Hyperkit sends no acknowledgement, so this resolves once the header is on its way; when the
 * guest has no listener (or the CID is not the VM's), Hyperkit closes the connection and the
 * first read returns EOF.
 *
 * Errors: `not-found` (no `connect` socket in `dir`), `refused` (nobody listens on it),
 * `timeout`, `aborted`, `invalid` (the path does not fit in a Unix-socket address). Throws only
 * for bad arguments.
 */
export function connectHyperkit(address: HyperkitAddress, options: HyperkitConnectOptions = {}): Promise<Result<HvsockFlow, FlowError>> {
  checkAddress(address);
  checkBufferSize(options.bufferSize);
  checkTimeout('timeoutMs', options.timeoutMs);
  const cid = address.cid ?? DEFAULT_HYPERKIT_GUEST_CID;
  const header = encodeHyperkitHeader(cid, address.port);
  const path = hyperkitConnectPath(address.dir);
  const tooLong = checkSocketPath(path, "Hyperkit's connect socket");
  if (tooLong) return Promise.resolve(err(tooLong));
  const timeoutMs = options.timeoutMs ?? DEFAULT_HYPERKIT_TIMEOUT_MS;
  return dialUnix(
    {
      path,
      timeoutMs,
      signal: options.signal,
      connectError: (e) => hyperkitSocketError(e, path),
      timeoutError: (_connected, ms) =>
        new FlowError('timeout', `connecting to Hyperkit's socket ${path} timed out after ${ms} ms`, { code: 'ETIMEDOUT', syscall: 'connect' }),
    },
    {
      start(socket, finish) {
        // No reply comes, so nothing is read here: the flow takes the socket over at once, and
        // its first write queues behind the header.
        socket.write(header);
        finish(
          ok(
            new AddressedFlow(
              wrapUnixSocket(socket, {
                label: `hyperkit ${address.dir} cid ${cid} port ${address.port}`,
                capabilities: HYPERKIT_CAPABILITIES,
                bufferSize: options.bufferSize,
                peer: 'Hyperkit',
              }),
              address,
              undefined,
            ),
          ),
        );
      },
      socketError: (e) => fromNodeError(e, `hyperkit connect to ${path}`),
      stop: () => undefined,
    },
  );
}

function hyperkitSocketError(error: unknown, path: string): FlowError {
  const base = fromNodeError(error);
  const opts = { code: base.code, syscall: base.syscall ?? 'connect', errno: base.errno, cause: error };
  switch (base.code) {
    case 'ENOENT':
      return new FlowError('not-found', `Hyperkit's connect socket ${path} does not exist (is the VM running with virtio-sock path= this directory?)`, opts);
    case 'ECONNREFUSED':
      return new FlowError('refused', `no Hyperkit listens on ${path} (a socket file left by a VM that exited?)`, opts);
    case 'EACCES':
    case 'EPERM':
      return new FlowError('permission', `permission denied connecting to Hyperkit's socket ${path}`, opts);
    default:
      return new FlowError(base.kind, `cannot connect to Hyperkit's socket ${path}: ${base.message}`, opts);
  }
}
