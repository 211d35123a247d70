import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromDuplex } from '@flow/core';
import type { FlowPair } from '../src';

function listen(server: Server, target: { port: number; host: string } | string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (typeof target === 'string') server.listen(target, done);
    else server.listen(target.port, target.host, done);
  });
}

/** Connects a client to `server` and resolves with both sockets once the server accepted. */
function connectPair(server: Server, connectTo: () => Socket): Promise<[Socket, Socket]> {
  return new Promise((resolve, reject) => {
    let accepted: Socket | undefined;
    let connected: Socket | undefined;
    const settle = (): void => {
      if (accepted && connected) resolve([connected, accepted]);
    };
    server.once('connection', (socket: Socket) => {
      accepted = socket;
      settle();
    });
    const client = connectTo();
    client.once('error', reject);
    client.once('connect', () => {
      client.off('error', reject);
      connected = client;
      settle();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A real loopback TCP connection: `a` is the client end, `b` the accepted one. */
export async function tcpPair(): Promise<FlowPair> {
  const server = createServer({ allowHalfOpen: true });
  await listen(server, { port: 0, host: '127.0.0.1' });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const [client, accepted] = await connectPair(server, () =>
    connect({ port: address.port, host: '127.0.0.1', allowHalfOpen: true }),
  );
  return { a: fromDuplex(client), b: fromDuplex(accepted), cleanup: () => closeServer(server) };
}

/**
 * What a Unix-domain socket really does on abort: it has no reset, so the peer sees an ordinary
 * end of stream. fromDuplex's default claims 'rst' for every net.Socket (see
 * unix-socket-abort.test.ts), so the run declares the truth explicitly.
 */
export const UNIX_SOCKET_CAPABILITIES = { halfCloseWrite: 'native', halfCloseRead: 'emulated', abort: 'close' } as const;

/** A real Unix-domain stream socket in a fresh temporary directory. */
export async function unixPair(options: { trustDefaults?: boolean } = {}): Promise<FlowPair> {
  const dir = mkdtempSync(join(tmpdir(), 'flow-conformance-'));
  const path = join(dir, 's.sock');
  const server = createServer({ allowHalfOpen: true });
  await listen(server, path);
  const [client, accepted] = await connectPair(server, () => connect({ path, allowHalfOpen: true }));
  const wrap = options.trustDefaults ? {} : { capabilities: UNIX_SOCKET_CAPABILITIES };
  return {
    a: fromDuplex(client, wrap),
    b: fromDuplex(accepted, wrap),
    cleanup: async () => {
      await closeServer(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
