import type { FlowError } from './errors';
import type { Flow } from './flow';

/**
 * Internal: flows made by `createFlow` tell at once when their inbound side failed (the peer
 * reset), even while nobody reads and bytes are still buffered before the error. `proxy` uses
 * it to end both directions without waiting for a read that comes only once the buffered bytes
 * were written to a destination that may never take them.
 */
export const PEER_FAILURE = Symbol('flow.peerFailure');

/** Calls `listener` once when the inbound side fails (at once if it already has); returns a cancel. */
export type WatchPeerFailure = (listener: (error: FlowError) => void) => () => void;

/** The flow's watch on its peer's failure, if it has one. */
export function peerFailureWatchOf(flow: Flow): WatchPeerFailure | undefined {
  return (flow as { [PEER_FAILURE]?: WatchPeerFailure })[PEER_FAILURE];
}
