import { type FlowError, type Result } from '@flow/core';
import type { SimEventChannels } from './event-channels';
import type { SimGrantTable } from './grant-table';
import type { SabPage } from './sab-page';

/** The two hypervisor services a domain calls. */
export interface HypervisorServices {
  readonly grants: SimGrantTable;
  readonly events: SimEventChannels;
}

/**
 * What one domain handle holds in the hypervisor (ports, mappings, grants), so that closing the
 * handle, or the death of the worker behind it, gives all of it back: the leak accounting then
 * shows what a component forgot, not what the test harness dropped.
 */
export class DomainLedger {
  readonly domid: number;
  readonly #services: HypervisorServices;
  readonly #ports = new Set<number>();
  readonly #mappings = new Set<SabPage>();
  readonly #grants = new Set<number>();
  #released = false;

  constructor(services: HypervisorServices, domid: number) {
    this.#services = services;
    this.domid = domid;
  }

  get released(): boolean {
    return this.#released;
  }

  allocUnbound(remoteDomid: number): Result<number, FlowError> {
    this.#checkLive();
    const port = this.#services.events.allocUnbound(this.domid, remoteDomid);
    if (port.ok) this.#ports.add(port.value);
    return port;
  }

  bindInterdomain(remoteDomid: number, remotePort: number): Result<number, FlowError> {
    this.#checkLive();
    const port = this.#services.events.bindInterdomain(this.domid, remoteDomid, remotePort);
    if (port.ok) this.#ports.add(port.value);
    return port;
  }

  /** Sends on one of our ports; other ports are ignored (a worker may ask for any number). */
  send(port: number): void {
    if (this.#released || !this.#ports.has(port)) return;
    this.#services.events.send(this.domid, port);
  }

  closePort(port: number): void {
    if (!this.#ports.delete(port)) return;
    this.#services.events.close(this.domid, port);
  }

  grant(page: SharedArrayBuffer, grantee: number, writable: boolean): Result<number, FlowError> {
    this.#checkLive();
    const ref = this.#services.grants.grant(this.domid, page, grantee, { writable });
    if (ref.ok) this.#grants.add(ref.value);
    return ref;
  }

  /** Ends a grant of ours now, or after its last unmap. */
  revoke(ref: number): void {
    if (!this.#grants.delete(ref)) return;
    this.#services.grants.revokeWhenUnmapped(this.domid, ref);
  }

  map(granter: number, ref: number, writable: boolean): Result<SabPage, FlowError> {
    this.#checkLive();
    const page = this.#services.grants.map(this.domid, granter, ref, { writable });
    if (page.ok) {
      for (const old of this.#mappings) if (!old.mapped) this.#mappings.delete(old);
      this.#mappings.add(page.value);
    }
    return page;
  }

  /** Gives everything back; idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const port of [...this.#ports]) this.closePort(port);
    for (const page of this.#mappings) page.unmap();
    this.#mappings.clear();
    for (const ref of [...this.#grants]) this.revoke(ref);
  }

  #checkLive(): void {
    if (this.#released) throw new Error(`the handle of domain ${this.domid} was closed`);
  }
}
