import { FlowError } from '../errors';
import type { Flow } from '../flow';
import { AcceptQueue, disposeListener, type AcceptOptions, type Listener } from '../listener';
import { err, ok, type Result } from '../result';
import { pair, type PairOptions } from './pair';

/** An in-memory listener and the way to connect to it; see {@link memoryListener}. */
export interface MemoryNetwork {
  /** The listening side. */
  readonly listener: Listener<string>;
  /** Connects to the listener: resolves with the client end, or `refused` once it is closed. */
  connect(): Promise<Result<Flow, FlowError>>;
}

/**
 * An in-memory listener and its `connect`, for testing servers without sockets. Each connection
 * is a `pair()` with the given options.
 */
export function memoryListener(options: PairOptions & { name?: string; backlog?: number } = {}): MemoryNetwork {
  const name = options.name ?? 'memory';
  const queue = new AcceptQueue(options.backlog ?? 128);
  let count = 0;
  const listener: Listener<string> = {
    address: name,
    accept: (o?: AcceptOptions) => queue.accept(o),
    close: async () => queue.close(),
    get closedForAccept() {
      return queue.closed;
    },
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    [Symbol.asyncDispose]: () => disposeListener(listener),
  };
  return {
    listener,
    async connect() {
      if (queue.closed) return err(new FlowError('refused', `nothing listens on ${name}`, { code: 'ECONNREFUSED' }));
      count += 1;
      const [client, server] = pair({ ...options, labels: [`${name}#${count}:client`, `${name}#${count}:server`] });
      if (!queue.offer(server)) {
        client.abort();
        return err(new FlowError('refused', `${name} refused the connection (backlog full)`, { code: 'ECONNREFUSED' }));
      }
      return ok(client);
    },
  };
}
