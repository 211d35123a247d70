import { MessageChannel } from 'node:worker_threads';
import { DomainBridge } from './domain-bridge';
import type { SimDomainDescriptor } from './domain-rpc';
import { SimEventChannels, type SimEventChannelsOptions } from './event-channels';
import { SimGrantTable, type SimGrantTableOptions } from './grant-table';
import { LocalSimDomain } from './sim-domain';

/** Options of the {@link SimHypervisor} constructor: those of its event channels and grant table. */
export interface SimHypervisorOptions extends SimEventChannelsOptions, SimGrantTableOptions {}

/** What the hypervisor holds, for asserting that nothing leaked. */
export interface SimAccounting {
  /** Grant mappings not yet unmapped. */
  readonly mappings: number;
  /** Event-channel ports allocated (unbound or bound). */
  readonly ports: number;
  /** Grants still in a grant table (including ones whose end waits for an unmap). */
  readonly grants: number;
  /** Grants ended by their granter while still mapped. */
  readonly pendingRevokes: number;
  /** Domains handed to workers whose channel is still open. */
  readonly exportedDomains: number;
}

/**
 * The simulated hypervisor: grant tables and event channels, with real shared memory behind
 * every page and every pending bit, so that a domain can run in this thread (`domain()`) or in a
 * `worker_thread` (`exportDomain()` here, `attachSimDomain()` there). Xenstore is not part of it:
 * in Xen, too, xenstored is a daemon beside the hypervisor.
 */
export class SimHypervisor {
  /** Every domain's grants. */
  readonly grants: SimGrantTable;
  /** Every domain's event channels. */
  readonly events: SimEventChannels;
  readonly #locals = new Map<number, Set<LocalSimDomain>>();
  readonly #bridges = new Map<number, DomainBridge>();

  constructor(options: SimHypervisorOptions = {}) {
    this.grants = new SimGrantTable(options);
    this.events = new SimEventChannels(options);
  }

  /** Creates `domid` (idempotent). */
  createDomain(domid: number): void {
    this.events.createDomain(domid);
  }

  /** Whether `domid` exists (has been created by `domain()` or `exportDomain()`). */
  hasDomain(domid: number): boolean {
    return this.events.hasDomain(domid);
  }

  /** A handle for `domid` in this thread (the domain is created if needed). */
  domain(domid: number): LocalSimDomain {
    if (this.#bridges.has(domid)) throw new Error(`domain ${domid} runs in a worker; it cannot also run here`);
    const area = this.events.createDomain(domid);
    const handles = this.#locals.get(domid) ?? new Set<LocalSimDomain>();
    this.#locals.set(domid, handles);
    const handle: LocalSimDomain = new LocalSimDomain(this, domid, area, () => handles.delete(handle));
    handles.add(handle);
    return handle;
  }

  /**
   * Hands `domid` to a worker: post `descriptor` to it with `transferList` and call
   * `attachSimDomain(descriptor)` there. One worker per domain; events for the domain are then
   * delivered in that worker only.
   */
  exportDomain(domid: number): {
    /** What to post to the worker, for `attachSimDomain`. */
    readonly descriptor: SimDomainDescriptor;
    /** The port to pass as `postMessage`'s transfer list. */
    readonly transferList: [SimDomainDescriptor['port']];
  } {
    if (this.#bridges.has(domid)) throw new Error(`domain ${domid} is already exported to a worker`);
    if ((this.#locals.get(domid)?.size ?? 0) > 0) throw new Error(`domain ${domid} has handles in this thread; it cannot move to a worker`);
    const area = this.events.createDomain(domid);
    const { port1, port2 } = new MessageChannel();
    const bridge = new DomainBridge(this, domid, area, port1, () => {
      if (this.#bridges.get(domid) === bridge) this.#bridges.delete(domid);
    });
    this.#bridges.set(domid, bridge);
    return { descriptor: { domid, events: area.buffer, port: port2 }, transferList: [port2] };
  }

  /**
   * The domain dies: its handles and worker channel close (ports closed, pages it mapped
   * unmapped, its grants ended as soon as nobody maps them), then its port table goes.
   */
  destroyDomain(domid: number): void {
    for (const handle of [...(this.#locals.get(domid) ?? [])]) handle.close();
    this.#locals.delete(domid);
    this.#bridges.get(domid)?.close();
    this.grants.unmapAllOf(domid);
    this.grants.revokeAllOf(domid);
    this.events.destroyDomain(domid);
  }

  /**
   * Forwards now every send that workers have requested so far (they are otherwise forwarded
   * on the next turn of this thread's event loop): lets a test reach a known state.
   */
  flushWorkerSends(): void {
    for (const bridge of this.#bridges.values()) bridge.forwardSends();
  }

  /** Messages from `domid`'s worker that were not valid calls (a hostile guest's garbage). */
  malformedCalls(domid: number): number {
    return this.#bridges.get(domid)?.malformed ?? 0;
  }

  /** What is still held, overall. */
  accounting(): SimAccounting {
    return {
      mappings: this.grants.openMappings(),
      ports: this.events.openPorts(),
      grants: this.grants.activeGrants(),
      pendingRevokes: this.grants.pendingRevokes(),
      exportedDomains: this.#bridges.size,
    };
  }

  /** Closes every handle and worker channel. */
  close(): void {
    for (const handles of this.#locals.values()) for (const handle of [...handles]) handle.close();
    for (const bridge of [...this.#bridges.values()]) bridge.close();
  }
}
