import { err, ok, OK, type FlowError, type Result } from '@flow/core';
import { EventArea } from './event-area';
import { simError } from './sim-errors';

/** A port as the hypervisor sees it. */
export type PortStatus =
  | {
      /** Allocated for `remoteDomid` to bind, not bound yet. */
      readonly state: 'unbound';
      /** The domain allowed to bind it. */
      readonly remoteDomid: number;
    }
  | {
      /** Connected to a port of another domain. */
      readonly state: 'interdomain';
      /** The other end's domain. */
      readonly remoteDomid: number;
      /** The other end's port. */
      readonly remotePort: number;
    };

/** What fault injection decides for one send. */
export type EventFault = 'deliver' | 'drop' | 'duplicate';

/** One send through an interdomain channel. */
export interface EventSend {
  /** The sending domain. */
  readonly fromDomid: number;
  /** The port it sent on. */
  readonly fromPort: number;
  /** The receiving domain. */
  readonly toDomid: number;
  /** The port that becomes pending there. */
  readonly toPort: number;
}

/** Hooks for the adversary and for robustness tests. */
export interface EventFaults {
  /** Drop the event, deliver it, or deliver it and owe one more delivery after the next unmask. */
  onSend?(send: EventSend): EventFault;
}

/** Counters over the hypervisor's life. */
export interface EventCounters {
  /** Sends on interdomain channels (after dropped ones are removed: see `dropped`). */
  readonly sent: number;
  /** Sends that found the peer already pending (they merge, as in Xen). */
  readonly coalesced: number;
  /** Sends that fault injection dropped. */
  readonly dropped: number;
  /** Sends that fault injection delivered twice. */
  readonly duplicated: number;
  /** Sends on unbound ports: silently discarded, as Xen does. */
  readonly unbound: number;
}

/** Options of the {@link SimEventChannels} constructor. */
export interface SimEventChannelsOptions {
  /** Ports per domain (a multiple of 32); default 1024, the 2-level ABI's limit for 32-bit. */
  readonly maxPorts?: number;
}

interface DomainPorts {
  readonly area: EventArea;
  readonly ports: Map<number, PortStatus>;
}

/**
 * The hypervisor's event channels: a port table per domain (EVTCHNOP_alloc_unbound,
 * bind_interdomain, send, close) and, per domain, a shared `EventArea` with the pending and
 * mask bits that the domain's thread consumes. Validation follows Xen's
 * `xen/common/event_channel.c`: binding needs an unbound port whose remote is the caller;
 * closing one end of an interdomain channel leaves the other end unbound; a send on an unbound
 * port is discarded without error.
 */
export class SimEventChannels {
  /** Ports per domain. */
  readonly maxPorts: number;
  readonly #domains = new Map<number, DomainPorts>();
  #faults: EventFaults | undefined;
  #counters = { sent: 0, coalesced: 0, dropped: 0, duplicated: 0, unbound: 0 };

  constructor(options: SimEventChannelsOptions = {}) {
    this.maxPorts = options.maxPorts ?? 1024;
    EventArea.create(this.maxPorts); // validates maxPorts now rather than at the first domain
  }

  /** Creates `domid`'s port table and event area; a second call returns the same area. */
  createDomain(domid: number): EventArea {
    checkDomid(domid);
    let domain = this.#domains.get(domid);
    if (!domain) {
      domain = { area: EventArea.create(this.maxPorts), ports: new Map() };
      this.#domains.set(domid, domain);
    }
    return domain.area;
  }

  /** Whether `domid` has a port table. */
  hasDomain(domid: number): boolean {
    return this.#domains.has(domid);
  }

  /** `domid`'s event area (for its dispatcher, maybe in another thread). */
  area(domid: number): EventArea | undefined {
    return this.#domains.get(domid)?.area;
  }

  /** Closes every port of `domid` (peers' ends become unbound) and wakes its waiters for good. */
  destroyDomain(domid: number): void {
    const domain = this.#domains.get(domid);
    if (!domain) return;
    for (const port of [...domain.ports.keys()]) this.close(domid, port);
    this.#domains.delete(domid);
    domain.area.close();
  }

  /** EVTCHNOP_alloc_unbound: a fresh port of `domid` that `remoteDomid` may bind. */
  allocUnbound(domid: number, remoteDomid: number): Result<number, FlowError> {
    checkDomid(remoteDomid);
    const domain = this.#domain(domid, 'alloc_unbound');
    if (!domain.ok) return domain;
    const port = this.#freePort(domid, domain.value, 'alloc_unbound');
    if (!port.ok) return port;
    domain.value.ports.set(port.value, { state: 'unbound', remoteDomid });
    return port;
  }

  /** EVTCHNOP_bind_interdomain: binds a fresh port of `domid` to `remotePort` of `remoteDomid`. */
  bindInterdomain(domid: number, remoteDomid: number, remotePort: number): Result<number, FlowError> {
    const syscall = 'bind_interdomain';
    const local = this.#domain(domid, syscall);
    if (!local.ok) return local;
    const remote = this.#domains.get(remoteDomid);
    if (!remote) return err(simError('not-found', 'ESRCH', `domain ${remoteDomid} does not exist`, syscall));
    const target = remote.ports.get(remotePort);
    if (target === undefined) {
      return err(simError('not-found', 'EINVAL', `port ${remotePort} of domain ${remoteDomid} is not allocated`, syscall));
    }
    if (target.state !== 'unbound') {
      return err(simError('in-use', 'EINVAL', `port ${remotePort} of domain ${remoteDomid} is already bound`, syscall));
    }
    if (target.remoteDomid !== domid) {
      return err(
        simError(
          'permission',
          'EINVAL',
          `port ${remotePort} of domain ${remoteDomid} was allocated for domain ${target.remoteDomid}, not ${domid}`,
          syscall,
        ),
      );
    }
    const port = this.#freePort(domid, local.value, syscall);
    if (!port.ok) return port;
    local.value.ports.set(port.value, { state: 'interdomain', remoteDomid, remotePort });
    remote.ports.set(remotePort, { state: 'interdomain', remoteDomid: domid, remotePort: port.value });
    return port;
  }

  /** EVTCHNOP_send from `port` of `domid`: sets the peer's port pending. */
  send(domid: number, port: number): Result<void, FlowError> {
    const domain = this.#domain(domid, 'send');
    if (!domain.ok) return domain;
    const status = domain.value.ports.get(port);
    if (status === undefined) return err(simError('not-found', 'EINVAL', `port ${port} of domain ${domid} is not allocated`, 'send'));
    if (status.state === 'unbound') {
      this.#counters.unbound++;
      return OK;
    }
    const peer = this.#domains.get(status.remoteDomid);
    if (!peer) return OK;
    const fault = this.#faults?.onSend?.({ fromDomid: domid, fromPort: port, toDomid: status.remoteDomid, toPort: status.remotePort }) ?? 'deliver';
    if (fault === 'drop') {
      this.#counters.dropped++;
      return OK;
    }
    this.#counters.sent++;
    if (fault === 'duplicate') {
      this.#counters.duplicated++;
      peer.area.owe(status.remotePort);
    }
    if (peer.area.raise(status.remotePort).coalesced) this.#counters.coalesced++;
    return OK;
  }

  /** EVTCHNOP_close: frees `port`; an interdomain peer's end becomes unbound (for `domid`). */
  close(domid: number, port: number): Result<void, FlowError> {
    const domain = this.#domain(domid, 'close');
    if (!domain.ok) return domain;
    const status = domain.value.ports.get(port);
    if (status === undefined) return err(simError('not-found', 'EINVAL', `port ${port} of domain ${domid} is not allocated`, 'close'));
    domain.value.ports.delete(port);
    domain.value.area.resetPort(port);
    if (status.state === 'interdomain') {
      const peer = this.#domains.get(status.remoteDomid);
      if (peer?.ports.has(status.remotePort)) peer.ports.set(status.remotePort, { state: 'unbound', remoteDomid: domid });
    }
    return OK;
  }

  /** EVTCHNOP_status. */
  status(domid: number, port: number): PortStatus | undefined {
    return this.#domains.get(domid)?.ports.get(port);
  }

  /** Ports allocated by `domid`, or by every domain. */
  openPorts(domid?: number): number {
    if (domid !== undefined) return this.#domains.get(domid)?.ports.size ?? 0;
    let total = 0;
    for (const domain of this.#domains.values()) total += domain.ports.size;
    return total;
  }

  /** Installs (or with `undefined` removes) the fault-injection hooks. */
  setFaults(faults: EventFaults | undefined): void {
    this.#faults = faults;
  }

  /** A snapshot of the counters. */
  get counters(): EventCounters {
    return { ...this.#counters };
  }

  /**
   * An event storm: `count` sends from `port` of `domid`, yielding to the event loop every
   * `perTurn` sends so that the receiver runs in between. Resolves with the sends that did not
   * merge into an already pending event.
   */
  async storm(domid: number, port: number, count: number, perTurn = 1000): Promise<Result<number, FlowError>> {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`storm: bad count ${count}`);
    if (!Number.isInteger(perTurn) || perTurn < 1) throw new RangeError(`storm: bad perTurn ${perTurn}`);
    const before = this.#counters.sent - this.#counters.coalesced;
    for (let i = 0; i < count; i++) {
      const sent = this.send(domid, port);
      if (!sent.ok) return sent;
      if ((i + 1) % perTurn === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return ok(this.#counters.sent - this.#counters.coalesced - before);
  }

  /**
   * What an evtchn ring overflow leaves behind on Linux: the reader must reset and re-scan
   * every port. Modelled as a spurious event on every bound port of `domid`.
   */
  injectOverflow(domid: number): void {
    const domain = this.#domains.get(domid);
    if (!domain) return;
    for (const port of domain.ports.keys()) domain.area.raise(port);
  }

  #domain(domid: number, syscall: string): Result<DomainPorts, FlowError> {
    const domain = this.#domains.get(domid);
    if (!domain) return err(simError('not-found', 'ESRCH', `domain ${domid} does not exist`, syscall));
    return ok(domain);
  }

  /** The lowest free port, as Xen's get_free_port picks. */
  #freePort(domid: number, domain: DomainPorts, syscall: string): Result<number, FlowError> {
    for (let port = 1; port < this.maxPorts; port++) {
      if (!domain.ports.has(port)) {
        domain.area.resetPort(port);
        return ok(port);
      }
    }
    return err(simError('limit', 'ENOSPC', `domain ${domid} has no free event-channel port (${this.maxPorts - 1} in use)`, syscall));
  }
}

function checkDomid(domid: number): void {
  if (!Number.isInteger(domid) || domid < 0 || domid > 0x7fef) throw new RangeError(`${domid} is not a domain id`);
}
