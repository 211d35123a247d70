import { err, FlowError, ok, type Result } from '@flow/core';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { XenPlatform } from '../platform/types';
import type { XsClient } from '../xenstore/client-types';
import type { SimDomainDescriptor } from './domain-rpc';
import { SimHypervisor, type SimAccounting, type SimHypervisorOptions } from './hypervisor';
import { portDuplex } from './port-duplex';
import type { SimDomain } from './sim-domain';
import { attachSimDomain } from './remote-domain';
import { xenstoreOverDuplex } from '../xenstore/connect';
import { SimXenstored, type SimXenstoredOptions } from './xenstored';

/** Options of the {@link SimXen} constructor. */
export interface SimXenOptions {
  /** Limits of the simulated hypervisor (grants, ports, fault injection). */
  readonly hypervisor?: SimHypervisorOptions;
  /** Limits of the simulated xenstored. */
  readonly xenstored?: SimXenstoredOptions;
}

/** A domain handed to a worker: post it with `transferList`, then `attachSimPlatform(exported)` there. */
export interface ExportedSimPlatform {
  /** The domain's grant table and event channels, as shared memory and a port. */
  readonly domain: SimDomainDescriptor;
  /** The domain's xenstore connection. */
  readonly xenstore: MessagePort;
}

/**
 * A simulated Xen machine: the hypervisor (grants, event channels on shared memory) and its
 * xenstored, with dom0 and guests as XenPlatforms, in this thread or in worker threads.
 */
export class SimXen {
  /** The grant tables and event channels of every domain. */
  readonly hypervisor: SimHypervisor;
  /** The xenstore server every domain talks to. */
  readonly xenstored: SimXenstored;

  constructor(options: SimXenOptions = {}) {
    this.hypervisor = new SimHypervisor(options.hypervisor);
    this.xenstored = new SimXenstored(options.xenstored);
    this.hypervisor.createDomain(0);
  }

  /**
   * Starts a guest: the domain, its xenstore introduction, and `/local/domain/D` with `domid`
   * and `device` as libxl makes them (`libxl__domain_make`: owned by dom0, readable by the
   * guest). So nothing dom0 writes under `device/` is the guest's to write until dom0 gives it
   * away, which is what makes the permission race of a non-transactional create visible.
   */
  async createGuest(domid: number): Promise<Result<void, FlowError>> {
    this.hypervisor.createDomain(domid);
    this.xenstored.introduceDomain(domid);
    const xs = this.xenstored.connect(0);
    if (!xs.ok) return xs;
    try {
      const base = `/local/domain/${domid}`;
      const made = await xs.value.transaction(async (tx) => {
        for (const [path, value] of [[base, ''], [`${base}/domid`, String(domid)], [`${base}/device`, '']] as const) {
          const w = await tx.write(path, value);
          if (!w.ok) return w;
          const p = await tx.setPerms(path, [{ access: 'n', domid: 0 }, { access: 'r', domid }]);
          if (!p.ok) return p;
        }
        return ok(undefined);
      });
      return made;
    } finally {
      await xs.value.close();
    }
  }

  /** The guest dies: its mappings, ports and grants go, and xenstored fires @releaseDomain. */
  destroyGuest(domid: number): void {
    this.hypervisor.destroyDomain(domid);
    this.xenstored.releaseDomain(domid);
  }

  /** A platform for `domid` in this thread (dom0 for a backend, a guest for a frontend). */
  platform(domid: number): XenPlatform {
    return simPlatform(domid, this.hypervisor.domain(domid), async () => this.xenstored.connect(domid));
  }

  /** Hands `domid` to a worker; see `attachSimPlatform`. */
  exportPlatform(domid: number): {
    /** What to post to the worker. */
    readonly exported: ExportedSimPlatform;
    /** The ports to pass as `postMessage`'s transfer list. */
    readonly transferList: MessagePort[];
  } {
    const { descriptor, transferList } = this.hypervisor.exportDomain(domid);
    const { port1, port2 } = new MessageChannel();
    const served = this.xenstored.connectDuplex(domid);
    if (!served.ok) throw new Error(`cannot connect domain ${domid} to xenstored: ${served.error.message}`);
    // Bytes both ways between the worker's port and the domain's xenstored connection.
    const here = portDuplex(port1);
    here.pipe(served.value);
    served.value.pipe(here);
    // The domain dying (or its worker going) ends the relay: never an unhandled 'error'.
    const end = (): void => {
      here.destroy();
      served.value.destroy();
    };
    here.on('error', end);
    served.value.on('error', end);
    here.on('close', end);
    served.value.on('close', end);
    return { exported: { domain: descriptor, xenstore: port2 }, transferList: [...transferList, port2] };
  }

  /** Grants, mappings, ports and xenstore connections still held. */
  accounting(): SimAccounting {
    return this.hypervisor.accounting();
  }

  /** Shuts the simulator down: every domain, port and xenstore connection. */
  async close(): Promise<void> {
    this.hypervisor.close();
    await this.xenstored.close();
  }
}

/** A XenPlatform from a simulated domain and a way to open its xenstore connection. */
export function simPlatform(domid: number, domain: SimDomain, xenstore: () => Promise<Result<XsClient, FlowError>>): XenPlatform {
  return {
    selfDomid: domid,
    xenstore,
    mapGrant: (d, ref, o) => domain.mapGrant(d, ref, o),
    bindInterdomain: (d, port) => domain.bindInterdomain(d, port),
    grantPage: (page, to, o) => domain.grantPage(page, to, o),
    bindUnbound: (d) => domain.bindUnbound(d),
    close: () => domain.close(),
  };
}

/** In a worker: the platform of the domain `exportPlatform` handed over. */
export function attachSimPlatform(exported: ExportedSimPlatform): XenPlatform {
  const domain = attachSimDomain(exported.domain);
  let used = false;
  return simPlatform(exported.domain.domid, domain, async () => {
    // One xenstore connection crosses the thread boundary per exported domain.
    if (used) return err(new FlowError('in-use', 'the exported xenstore connection is already open'));
    used = true;
    return ok(xenstoreOverDuplex(portDuplex(exported.xenstore)));
  });
}
