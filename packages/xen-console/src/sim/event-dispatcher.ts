import { EventArea } from './event-area';

/**
 * Delivers a domain's events in the thread that holds its ports: waits on the area's delivery
 * sequence with `Atomics.waitAsync` (so it works the same whether the hypervisor runs in this
 * thread or another), then claims every pending unmasked port it knows and calls its handler.
 * Handlers run one at a time, never re-entrantly, always from a fresh task: delivery is
 * asynchronous, like an interrupt, and at most one scan runs per turn of the event loop.
 *
 * One dispatcher per area per thread (a second one would steal the first one's events); the
 * loop runs only while some port is registered, and a pending `waitAsync` does not keep Node
 * alive.
 */
export class EventDispatcher {
  static readonly #byArea = new WeakMap<SharedArrayBuffer, EventDispatcher>();

  /** This thread's dispatcher for `area`. */
  static for(area: EventArea): EventDispatcher {
    let dispatcher = EventDispatcher.#byArea.get(area.buffer);
    if (!dispatcher) {
      dispatcher = new EventDispatcher(area);
      EventDispatcher.#byArea.set(area.buffer, dispatcher);
    }
    return dispatcher;
  }

  readonly area: EventArea;
  readonly #handlers = new Map<number, () => void>();
  #running = false;

  private constructor(area: EventArea) {
    this.area = area;
  }

  /** Routes `port`'s deliveries to `handler`; returns the unregistration. */
  register(port: number, handler: () => void): () => void {
    if (this.#handlers.has(port)) throw new Error(`port ${port} already has a handler in this thread`);
    this.#handlers.set(port, handler);
    this.#start();
    return () => {
      if (this.#handlers.get(port) !== handler) return;
      this.#handlers.delete(port);
      // Let an idle loop see that it has nothing left to wait for.
      if (this.#handlers.size === 0) this.area.nudge();
    };
  }

  #start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    // Start from a fresh task so that a registration never delivers synchronously.
    await Promise.resolve();
    try {
      while (this.#handlers.size > 0 && !this.area.closed) {
        const seen = this.area.deliverySeq();
        this.#scan();
        if (this.#handlers.size === 0) break;
        // Events raised during the scan (a handler that unmasks, a peer in another thread that
        // keeps sending) are taken on a later turn of the event loop, never in a synchronous
        // loop: a storm must not starve everything else in this thread.
        await (this.area.waitDelivery(seen) ?? nextTurn());
      }
    } finally {
      this.#running = false;
      // A registration that came while the loop was ending must not be left without one.
      if (this.#handlers.size > 0 && !this.area.closed) this.#start();
    }
  }

  #scan(): void {
    for (const [port, handler] of [...this.#handlers]) {
      if (this.#handlers.get(port) !== handler) continue;
      if (this.area.claim(port)) handler();
    }
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
