import type { MessagePort } from 'node:worker_threads';
import { err, type FlowError, type Result } from '@flow/core';
import { CONSOLE_LAYOUT } from '../ring/layout';
import type { EventArea } from './event-area';
import { DomainLedger, type HypervisorServices } from './domain-ledger';
import { parseDomainRequest, serializeError, type DomainReply, type DomainReplyValue, type DomainRequest } from './domain-rpc';
import type { SabPage } from './sab-page';
import { simError } from './sim-errors';

/**
 * The hypervisor's end of a domain that runs in a worker: answers its calls (one message each)
 * and forwards its sends (the worker rings a doorbell in the `EventArea`; repeated sends
 * coalesce into one, as they would in the peer's pending bit anyway). When the worker closes its
 * end or dies, everything the domain held is given back.
 *
 * Mappings are named by small numbers in messages; the `SabPage` objects stay here so that the
 * grant table's counts follow the worker's unmaps.
 */
export class DomainBridge {
  readonly domid: number;
  readonly #ledger: DomainLedger;
  readonly #area: EventArea;
  readonly #port: MessagePort;
  readonly #mappings = new Map<number, SabPage>();
  readonly #onClose: () => void;
  #nextMapping = 1;
  #closed = false;
  /** Messages from the worker that were not valid calls (they get no answer: there is no id). */
  malformed = 0;

  constructor(services: HypervisorServices, domid: number, area: EventArea, port: MessagePort, onClose: () => void) {
    this.domid = domid;
    this.#ledger = new DomainLedger(services, domid);
    this.#area = area;
    this.#port = port;
    this.#onClose = onClose;
    port.on('message', (data: unknown) => this.#handle(data));
    port.on('close', () => this.close());
    // The worker keeps the process alive while it runs; the bridge must not keep it alive after.
    port.unref();
    void this.#forwardSends();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Gives back everything the domain held and closes the channel; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ledger.release();
    this.#mappings.clear();
    this.#port.close();
    this.#area.nudgeSend();
    this.#onClose();
  }

  /** Forwards the sends the worker has asked for so far, now (a deterministic step for tests). */
  forwardSends(): void {
    if (this.#closed) return;
    for (const port of this.#area.takeSendRequests()) this.#ledger.send(port);
  }

  async #forwardSends(): Promise<void> {
    while (!this.#closed && !this.#area.closed) {
      const seen = this.#area.sendSeq();
      this.forwardSends();
      // One batch per turn of the event loop, whatever the worker does meanwhile.
      await (this.#area.waitSend(seen) ?? new Promise<void>((resolve) => setImmediate(resolve)));
    }
  }

  #handle(data: unknown): void {
    if (this.#closed) return;
    const request = parseDomainRequest(data);
    if (!request) {
      this.malformed++;
      return;
    }
    this.#reply(request.id, this.#execute(request));
  }

  #execute(request: DomainRequest): Result<DomainReplyValue, FlowError> {
    const ledger = this.#ledger;
    switch (request.op) {
      case 'allocUnbound':
        return ledger.allocUnbound(request.remoteDomid);
      case 'bindInterdomain':
        return ledger.bindInterdomain(request.remoteDomid, request.remotePort);
      case 'closePort':
        ledger.closePort(request.port);
        return { ok: true, value: null };
      case 'grant':
        if (request.page.byteLength !== CONSOLE_LAYOUT.PAGE_SIZE) {
          return err(simError('invalid', 'EINVAL', `a granted page is ${CONSOLE_LAYOUT.PAGE_SIZE} bytes, not ${request.page.byteLength}`, 'grant'));
        }
        return ledger.grant(request.page, request.grantee, request.writable);
      case 'revoke':
        ledger.revoke(request.ref);
        return { ok: true, value: null };
      case 'map': {
        const page = ledger.map(request.granter, request.ref, request.writable);
        if (!page.ok) return page;
        const mapping = this.#nextMapping++;
        this.#mappings.set(mapping, page.value);
        return { ok: true, value: { mapping, page: page.value.buffer } };
      }
      case 'unmap':
        this.#mappings.get(request.mapping)?.unmap();
        this.#mappings.delete(request.mapping);
        return { ok: true, value: null };
      case 'sync':
        return { ok: true, value: null };
      case 'release':
        this.close();
        return { ok: true, value: null };
    }
  }

  #reply(id: number, result: Result<DomainReplyValue, FlowError>): void {
    if (this.#closed) return;
    const reply: DomainReply = result.ok ? { id, ok: true, value: result.value } : { id, ok: false, error: serializeError(result.error) };
    this.#port.postMessage(reply);
  }
}
