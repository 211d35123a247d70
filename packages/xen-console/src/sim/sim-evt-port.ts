import type { EvtPort } from '../platform/types';
import type { EventArea } from './event-area';
import { EventDispatcher } from './event-dispatcher';

/** How a port reaches the hypervisor: directly in its thread, or through a doorbell from a worker. */
export interface PortChannel {
  /** EVTCHNOP_send. */
  send(): void;
  /** EVTCHNOP_close (once). */
  close(): void;
}

/**
 * A bound port as `/dev/xen/evtchn` presents it: a delivered event leaves the port masked until
 * `unmask()` (writing the port number back), so the rate limiter above decides when the next one
 * may come. An event delivered while no listener is subscribed is kept for the first one that
 * subscribes (events that fire while nobody waits are remembered, as in mirage's Activations).
 */
export class SimEvtPort implements EvtPort {
  readonly local: number;
  readonly #area: EventArea;
  readonly #channel: PortChannel;
  readonly #listeners = new Set<() => void>();
  readonly #unregister: () => void;
  #undelivered = false;
  #closed = false;
  #delivered = 0;

  /** @internal Made by a domain's `bindInterdomain` or `bindUnbound`. */
  constructor(local: number, area: EventArea, channel: PortChannel) {
    this.local = local;
    this.#area = area;
    this.#channel = channel;
    this.#unregister = EventDispatcher.for(area).register(local, () => this.#deliver());
  }

  /** Events delivered to this port so far. */
  get delivered(): number {
    return this.#delivered;
  }

  /** True once the port was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the port is masked now (a delivered event not yet unmasked). */
  get masked(): boolean {
    return !this.#closed && this.#area.isMasked(this.local);
  }

  /** Sends an event to the other end; nothing after `close()`. */
  notify(): void {
    if (this.#closed) return;
    this.#channel.send();
  }

  onEvent(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (this.#undelivered) {
      this.#undelivered = false;
      queueMicrotask(() => {
        if (this.#listeners.has(listener)) call(listener);
      });
    }
    return () => {
      this.#listeners.delete(listener);
    };
  }

  unmask(): void {
    if (this.#closed) return;
    this.#area.unmask(this.local);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#unregister();
    this.#channel.close();
  }

  #deliver(): void {
    if (this.#closed) return;
    this.#delivered++;
    if (this.#listeners.size === 0) {
      this.#undelivered = true;
      return;
    }
    for (const listener of [...this.#listeners]) call(listener);
  }
}

/** A listener that throws is a bug in the caller: report it as uncaught, keep delivering. */
function call(listener: () => void): void {
  try {
    listener();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
