import type { MessagePort } from 'node:worker_threads';
import { err, FlowError, ok, type Result } from '@flow/core';
import type { MappedPage, RingMemory } from '../ring/memory';
import { EventArea } from './event-area';
import { deserializeError, type DomainReply, type DomainReplyValue, type DomainRequest, type SimDomainDescriptor } from './domain-rpc';
import { SabPage } from './sab-page';
import { closedDomainError, unshareablePageError, type SimDomain, type SimGrant } from './sim-domain';
import { SimEvtPort } from './sim-evt-port';

/** A request without its id (the id is added when it is sent). */
type Call = DomainRequest extends infer R ? (R extends DomainRequest ? Omit<R, 'id'> : never) : never;

/**
 * A domain inside a `worker_thread`: the same `SimDomain` interface, with each call a message to
 * the hypervisor's thread, pages mapped over the shared memory that comes back, and events read
 * from the domain's `EventArea` by this thread's dispatcher. `close()` ends the domain's channel
 * (the worker stays alive until then).
 */
export class RemoteSimDomain implements SimDomain {
  /** This domain's id. */
  readonly domid: number;
  readonly #area: EventArea;
  readonly #port: MessagePort;
  readonly #waiting = new Map<number, (reply: DomainReply) => void>();
  readonly #ports = new Set<SimEvtPort>();
  readonly #pages = new Set<SabPage>();
  #nextId = 1;
  #closed = false;

  constructor(descriptor: SimDomainDescriptor) {
    this.domid = descriptor.domid;
    this.#area = new EventArea(descriptor.events);
    this.#port = descriptor.port;
    this.#port.on('message', (data: unknown) => this.#settle(data));
    this.#port.on('close', () => this.#lost());
  }

  /** True once this handle was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  async mapGrant(domid: number, ref: number, options: { readonly writable: boolean }): Promise<Result<MappedPage, FlowError>> {
    const reply = await this.#call({ op: 'map', granter: domid, ref, writable: options.writable });
    if (!reply.ok) return reply;
    const value = reply.value;
    if (typeof value !== 'object' || value === null) return err(protocolError('map'));
    const mapping = value.mapping;
    const page: SabPage = new SabPage(value.page, {
      writable: options.writable,
      onUnmap: () => {
        this.#pages.delete(page);
        this.#post({ op: 'unmap', mapping });
      },
    });
    this.#pages.add(page);
    return ok(page);
  }

  async bindInterdomain(domid: number, remotePort: number): Promise<Result<SimEvtPort, FlowError>> {
    const reply = await this.#call({ op: 'bindInterdomain', remoteDomid: domid, remotePort });
    if (!reply.ok) return reply;
    return typeof reply.value === 'number' ? ok(this.#evtPort(reply.value)) : err(protocolError('bindInterdomain'));
  }

  async grantPage(page: RingMemory, toDomid: number, options: { readonly writable: boolean }): Promise<Result<SimGrant, FlowError>> {
    if (!(page instanceof SabPage)) return err(unshareablePageError());
    const reply = await this.#call({ op: 'grant', page: page.buffer, grantee: toDomid, writable: options.writable });
    if (!reply.ok) return reply;
    const ref = reply.value;
    if (typeof ref !== 'number') return err(protocolError('grant'));
    return ok({ ref, revoke: () => this.#post({ op: 'revoke', ref }) });
  }

  async bindUnbound(remoteDomid: number): Promise<Result<SimEvtPort, FlowError>> {
    const reply = await this.#call({ op: 'allocUnbound', remoteDomid });
    if (!reply.ok) return reply;
    return typeof reply.value === 'number' ? ok(this.#evtPort(reply.value)) : err(protocolError('allocUnbound'));
  }

  /** Resolves once the hypervisor has handled every message sent before (unmaps, revokes, closes). */
  async sync(): Promise<Result<void, FlowError>> {
    const reply = await this.#call({ op: 'sync' });
    return reply.ok ? ok(undefined) : reply;
  }

  close(): void {
    if (this.#closed) return;
    for (const port of [...this.#ports]) port.close();
    for (const page of [...this.#pages]) page.unmap();
    this.#post({ op: 'release' });
    this.#end();
  }

  #evtPort(local: number): SimEvtPort {
    const area = this.#area;
    const port: SimEvtPort = new SimEvtPort(local, area, {
      send: () => area.requestSend(local),
      close: () => {
        this.#ports.delete(port);
        this.#post({ op: 'closePort', port: local });
      },
    });
    this.#ports.add(port);
    return port;
  }

  #call(call: Call): Promise<Result<DomainReplyValue, FlowError>> {
    if (this.#closed) return Promise.resolve(err(closedDomainError(this.domid)));
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, (reply) => resolve(reply.ok ? ok(reply.value) : err(deserializeError(reply.error))));
      this.#port.postMessage({ ...call, id });
    });
  }

  #post(call: Call): void {
    if (this.#closed) return;
    this.#port.postMessage({ ...call, id: this.#nextId++ });
  }

  #settle(data: unknown): void {
    const reply = data as DomainReply;
    const settle = this.#waiting.get(reply.id);
    if (!settle) return;
    this.#waiting.delete(reply.id);
    settle(reply);
  }

  /** The hypervisor's end went away: every call still waiting fails, every later one too. */
  #lost(): void {
    if (this.#closed) return;
    for (const port of [...this.#ports]) port.close();
    for (const page of [...this.#pages]) page.unmap();
    this.#end();
  }

  #end(): void {
    this.#closed = true;
    this.#port.close();
    const error = closedDomainError(this.domid);
    for (const settle of this.#waiting.values()) settle({ id: 0, ok: false, error: { kind: error.kind, message: error.message } });
    this.#waiting.clear();
  }
}

/** In a worker: the domain that the hypervisor exported with `exportDomain`. */
export function attachSimDomain(descriptor: SimDomainDescriptor): RemoteSimDomain {
  return new RemoteSimDomain(descriptor);
}

function protocolError(op: string): FlowError {
  return new FlowError('protocol', `the hypervisor's reply to ${op} has the wrong shape`);
}
