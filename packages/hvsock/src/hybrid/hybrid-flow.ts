import type { Flow } from '@flow/core';
import type { HybridVsockAddress } from '../address/types';
import { AddressedFlow, type HvsockFlow } from '../flow';

/** A host → guest hybrid-vsock connection. */
export interface HybridVsockFlow extends HvsockFlow {
  readonly remote: HybridVsockAddress;
  /**
   * The number in the VMM's `OK <n>` acknowledgement, undefined with `ack: 'none'`. Opaque:
   * Firecracker and Cloud Hypervisor send the host-side port they assigned to this connection
   * (in [2^30, 2^31)), vhost-device-vsock sends the guest port.
   */
  readonly ackPort: number | undefined;
}

/** The hybrid-vsock face on top of a Unix-socket flow. */
export class HybridFlow extends AddressedFlow implements HybridVsockFlow {
  declare readonly remote: HybridVsockAddress;

  constructor(
    inner: Flow,
    remote: HybridVsockAddress,
    readonly ackPort: number | undefined,
  ) {
    super(inner, remote, undefined);
  }
}
