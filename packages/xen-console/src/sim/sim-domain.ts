import { err, FlowError, ok, type Result } from '@flow/core';
import type { MappedPage, RingMemory } from '../ring/memory';
import type { EventArea } from './event-area';
import { DomainLedger, type HypervisorServices } from './domain-ledger';
import { SabPage } from './sab-page';
import { SimEvtPort } from './sim-evt-port';

/** A grant made by a domain: the ref to publish, and how to end it. */
export interface SimGrant {
  /** The grant reference to publish (e.g. as `ring-ref`). */
  readonly ref: number;
  /** Ends the grant now, or as soon as the peer unmaps it (as Linux defers a busy grant). */
  revoke(): void;
}

/**
 * What one simulated domain can ask of the hypervisor: the grant and event-channel half of
 * `XenPlatform`, with the same signatures, in the domain's own thread. `LocalSimDomain` runs in
 * the hypervisor's thread; `attachSimDomain` gives the same interface inside a worker.
 */
export interface SimDomain {
  /** This domain's id. */
  readonly domid: number;
  /** Maps `ref`, which domain `domid` granted to us. */
  mapGrant(domid: number, ref: number, options: { readonly writable: boolean }): Promise<Result<MappedPage, FlowError>>;
  /** Binds to `remotePort`, an unbound port that domain `domid` allocated for us. */
  bindInterdomain(domid: number, remotePort: number): Promise<Result<SimEvtPort, FlowError>>;
  /** Grants `page` (a `SabPage`) to `toDomid`. */
  grantPage(page: RingMemory, toDomid: number, options: { readonly writable: boolean }): Promise<Result<SimGrant, FlowError>>;
  /** Allocates an unbound port for `remoteDomid` to bind. */
  bindUnbound(remoteDomid: number): Promise<Result<SimEvtPort, FlowError>>;
  /** Closes every port, unmaps every page and ends every grant of this handle; idempotent. */
  close(): void;
}

/** The error every call on a closed handle returns. */
export function closedDomainError(domid: number): FlowError {
  return new FlowError('closed', `the simulated domain handle of ${domid} was closed`);
}

/** The error for a page the simulator cannot share with another domain. */
export function unshareablePageError(): FlowError {
  return new FlowError('unsupported', 'the simulator can only grant a SabPage (shared memory that another thread can map)');
}

/** A domain handle in the hypervisor's own thread: every call is a direct hypercall. */
export class LocalSimDomain implements SimDomain {
  /** This domain's id. */
  readonly domid: number;
  readonly #ledger: DomainLedger;
  readonly #area: EventArea;
  readonly #ports = new Set<SimEvtPort>();
  readonly #onClose: (() => void) | undefined;

  /** @internal Made by `SimHypervisor.domain()`. */
  constructor(services: HypervisorServices, domid: number, area: EventArea, onClose?: () => void) {
    this.domid = domid;
    this.#ledger = new DomainLedger(services, domid);
    this.#area = area;
    this.#onClose = onClose;
  }

  /** True once this handle was closed: its ports are closed and its grants ended. */
  get closed(): boolean {
    return this.#ledger.released;
  }

  async mapGrant(domid: number, ref: number, options: { readonly writable: boolean }): Promise<Result<MappedPage, FlowError>> {
    if (this.closed) return err(closedDomainError(this.domid));
    return this.#ledger.map(domid, ref, options.writable);
  }

  async bindInterdomain(domid: number, remotePort: number): Promise<Result<SimEvtPort, FlowError>> {
    if (this.closed) return err(closedDomainError(this.domid));
    const port = this.#ledger.bindInterdomain(domid, remotePort);
    return port.ok ? ok(this.#port(port.value)) : port;
  }

  async grantPage(page: RingMemory, toDomid: number, options: { readonly writable: boolean }): Promise<Result<SimGrant, FlowError>> {
    if (this.closed) return err(closedDomainError(this.domid));
    if (!(page instanceof SabPage)) return err(unshareablePageError());
    const ref = this.#ledger.grant(page.buffer, toDomid, options.writable);
    if (!ref.ok) return ref;
    const ledger = this.#ledger;
    return ok({ ref: ref.value, revoke: () => ledger.revoke(ref.value) });
  }

  async bindUnbound(remoteDomid: number): Promise<Result<SimEvtPort, FlowError>> {
    if (this.closed) return err(closedDomainError(this.domid));
    const port = this.#ledger.allocUnbound(remoteDomid);
    return port.ok ? ok(this.#port(port.value)) : port;
  }

  close(): void {
    if (this.closed) return;
    for (const port of [...this.#ports]) port.close();
    this.#ledger.release();
    this.#onClose?.();
  }

  #port(local: number): SimEvtPort {
    const ledger = this.#ledger;
    const port: SimEvtPort = new SimEvtPort(local, this.#area, {
      send: () => ledger.send(local),
      close: () => {
        this.#ports.delete(port);
        ledger.closePort(local);
      },
    });
    this.#ports.add(port);
    return port;
  }
}
