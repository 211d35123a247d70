import type { FlowError, Result } from '@flow/core';
import type { HybridVsockAddress } from '../address/types';
import { AddressedFlow } from '../flow';
import { listenUnixSocket, type UnixListenOptions, type UnixSocketListener } from '../unix/listener';
import { wrapUnixSocket } from '../unix/socket-flow';
import { HYBRID_VSOCK_CAPABILITIES } from './capabilities';
import { checkVsockPort } from './connect-line';
import { hybridListenPath } from './paths';

/** Options of `listenHybrid`: those of every Unix-socket listener. */
export type HybridListenOptions = UnixListenOptions;

/**
 * Guest → host connections on one port. `address` is the listener's own address; `path` is the
 * socket file it bound, `<address.path>_<port>`.
 */
export type HybridVsockListener = UnixSocketListener<HybridVsockAddress>;

/**
 * Accepts guest → host connections for `address.port`: the VMM connects to `<path>_<port>` for
 * every guest that dials host port `port`, and relays bytes 1:1 with no handshake. The VMM must
 * find the listener already there (Firecracker answers the guest with a reset otherwise).
 *
 * A stale socket file at that path is removed first; a live one gives `in-use`. Accepted flows
 * have `local` = `remote` = `address`: a Unix socket says nothing about the guest's port.
 */
export function listenHybrid(address: HybridVsockAddress, options: HybridListenOptions = {}): Promise<Result<HybridVsockListener, FlowError>> {
  if (typeof address !== 'object' || address === null || address.kind !== 'hybrid-vsock') {
    throw new TypeError("listenHybrid needs a HybridVsockAddress ({ kind: 'hybrid-vsock', path, port })");
  }
  if (typeof address.path !== 'string' || address.path === '') throw new TypeError('path must be a non-empty string');
  checkVsockPort(address.port);
  const path = hybridListenPath(address.path, address.port);
  return listenUnixSocket(
    {
      path,
      address,
      what: `the hybrid-vsock listener for port ${address.port}`,
      wrap: (socket) =>
        new AddressedFlow(
          wrapUnixSocket(socket, {
            label: `hybrid-vsock ${path} (guest to host port ${address.port})`,
            capabilities: HYBRID_VSOCK_CAPABILITIES,
            bufferSize: options.bufferSize,
            peer: 'the VMM',
          }),
          address,
          address,
        ),
    },
    options,
  );
}
