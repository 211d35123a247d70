import type { FlowError, Result } from '@flow/core';
import type { MappedPage, RingMemory } from '../ring/memory';
import type { XsClient } from '../xenstore/client-types';

/** A bound event channel port. */
export interface EvtPort {
  /** The local port number. */
  readonly local: number;
  /** Sends an event to the other end. */
  notify(): void;
  /**
   * Tells `listener` of each delivered event. A delivered port stays masked until `unmask()`
   * (as /dev/xen/evtchn does): the rate limiter lives above this. Returns a function that stops.
   */
  onEvent(listener: () => void): () => void;
  /** Lets the next event through. */
  unmask(): void;
  /** Unbinds; idempotent. */
  close(): void;
}

/** What a backend (or a frontend) needs from Xen: xenstore, grants and event channels. */
export interface XenPlatform {
  /** The domain this code runs in (0 for dom0). */
  readonly selfDomid: number;
  /** A fresh xenstore connection for this domain. */
  xenstore(): Promise<Result<XsClient, FlowError>>;
  /** Maps the page `ref` that domain `domid` granted to us. */
  mapGrant(domid: number, ref: number, options: { readonly writable: boolean }): Promise<Result<MappedPage, FlowError>>;
  /** Binds to `remotePort`, an unbound port that domain `domid` allocated for us. */
  bindInterdomain(domid: number, remotePort: number): Promise<Result<EvtPort, FlowError>>;
  /** Frontend side: grants `page` to `toDomid`; the ref and a revoke. */
  grantPage?(page: RingMemory, toDomid: number, options: { readonly writable: boolean }): Promise<
    Result<
      {
        /** The grant reference the other domain maps. */
        readonly ref: number;
        /** Ends the grant; call it once the other domain has unmapped the page. */
        revoke(): void;
      },
      FlowError
    >
  >;
  /** Frontend side: allocates an unbound port for `remoteDomid` to bind. */
  bindUnbound?(remoteDomid: number): Promise<Result<EvtPort, FlowError>>;
  /** Releases what the platform holds (devices, connections); idempotent. */
  close(): void;
}
