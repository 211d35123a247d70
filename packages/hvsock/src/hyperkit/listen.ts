import type { FlowError, Result } from '@flow/core';
import type { HyperkitAddress } from '../address/types';
import { AddressedFlow } from '../flow';
import { checkVsockPort } from '../hybrid/connect-line';
import { listenUnixSocket, type UnixListenOptions, type UnixSocketListener } from '../unix/listener';
import { wrapUnixSocket } from '../unix/socket-flow';
import { HYPERKIT_CAPABILITIES } from './capabilities';
import { hyperkitListenPath } from './paths';

/** Options of `listenHyperkit`: those of every Unix-socket listener. */
export type HyperkitListenOptions = UnixListenOptions;

/** Guest → host connections on one port; `path` is `<dir>/00000002.<port %08x>`. */
export type HyperkitListener = UnixSocketListener<HyperkitAddress>;

/**
 * Accepts guest → host connections for `address.port`: Hyperkit connects to
 * `<dir>/00000002.<port %08x>` for every guest that dials the host (CID 2) on that port, with
 * no header. A stale socket file there is removed first; a live one gives `in-use`.
 */
export function listenHyperkit(address: HyperkitAddress, options: HyperkitListenOptions = {}): Promise<Result<HyperkitListener, FlowError>> {
  if (typeof address !== 'object' || address === null || address.kind !== 'hyperkit') {
    throw new TypeError("listenHyperkit needs a HyperkitAddress ({ kind: 'hyperkit', dir, port })");
  }
  if (typeof address.dir !== 'string' || address.dir === '') throw new TypeError('dir must be a non-empty string');
  checkVsockPort(address.port);
  const path = hyperkitListenPath(address.dir, address.port);
  return listenUnixSocket(
    {
      path,
      address,
      what: `the Hyperkit listener for port ${address.port}`,
      wrap: (socket) =>
        new AddressedFlow(
          wrapUnixSocket(socket, {
            label: `hyperkit ${path} (guest to host port ${address.port})`,
            capabilities: HYPERKIT_CAPABILITIES,
            bufferSize: options.bufferSize,
            peer: 'Hyperkit',
          }),
          address,
          address,
        ),
    },
    options,
  );
}
