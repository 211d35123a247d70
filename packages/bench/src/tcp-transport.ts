import { createRequire } from 'node:module';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { AcceptQueue, FlowError, fromDuplex, fromNodeError, err, ok, type Flow, type Result } from '@flow/core';

/** The part of a TCP transport the proxy benchmark needs. */
export interface TcpTransport {
  /** What actually carries the bytes, printed in the results. */
  readonly implementation: string;
  listen(url: string): Promise<Result<BenchListener, FlowError>>;
  connect(url: string): Promise<Result<Flow, FlowError>>;
}

export interface BenchListener extends AsyncIterable<Flow> {
  readonly port: number;
  close(): Promise<void>;
}

interface TcpModuleShape {
  listen(url: string): Promise<Result<AsyncIterable<Flow> & { address: { port: number }; close(): Promise<void> }, FlowError>>;
  connect(url: string): Promise<Result<Flow, FlowError>>;
}

function isTcpModule(m: unknown): m is TcpModuleShape {
  const o = m as Partial<Record<'listen' | 'connect', unknown>> | null;
  return typeof o === 'object' && o !== null && typeof o.listen === 'function' && typeof o.connect === 'function';
}

/**
 * `@flow/tcp` when it is installed and built; otherwise core's `fromDuplex` over `node:net`
 * sockets, which is what `@flow/tcp` builds on, so that the benchmark runs in either case and
 * says which one it measured.
 */
export function loadTcpTransport(): TcpTransport {
  let loaded: unknown;
  try {
    loaded = createRequire(__filename)('@flow/tcp');
  } catch {
    loaded = undefined;
  }
  if (isTcpModule(loaded)) {
    const m = loaded;
    return {
      implementation: '@flow/tcp',
      async listen(url) {
        const r = await m.listen(url);
        if (!r.ok) return r;
        const l = r.value;
        return ok({ port: l.address.port, close: () => l.close(), [Symbol.asyncIterator]: () => l[Symbol.asyncIterator]() });
      },
      connect: (url) => m.connect(url),
    };
  }
  return duplexTransport;
}

function parseLoopback(url: string): { host: string; port: number } {
  const m = /^tcp:\/\/(127\.[0-9.]+|\[::1\]):([0-9]+)$/.exec(url);
  if (!m) throw new RangeError(`the benchmark only uses loopback tcp:// addresses, not ${url}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

const duplexTransport: TcpTransport = {
  implementation: '@flow/core fromDuplex over node:net (@flow/tcp not built)',
  listen(url) {
    const { host, port } = parseLoopback(url);
    const queue = new AcceptQueue();
    const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
      queue.offer(fromDuplex(socket));
    });
    return new Promise((resolve) => {
      server.once('error', (e) => resolve(err(fromNodeError(e))));
      server.listen({ host, port }, () => {
        const address = server.address();
        const bound = typeof address === 'object' && address !== null ? address.port : 0;
        resolve(
          ok({
            port: bound,
            close: async () => {
              queue.close();
              await new Promise<void>((done) => server.close(() => done()));
            },
            [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
          }),
        );
      });
    });
  },
  connect(url) {
    const { host, port } = parseLoopback(url);
    return new Promise((resolve) => {
      const socket = netConnect({ host, port, allowHalfOpen: true });
      const onError = (e: Error): void => resolve(err(fromNodeError(e)));
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(ok(fromDuplex(socket)));
      });
    });
  },
};

