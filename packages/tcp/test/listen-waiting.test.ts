import { createConnection, type Socket } from 'node:net';
import type { Endpoint } from '../src';
import { listen } from '../src';
import { expectOk, readAll } from './support';

function connectRaw(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port, allowHalfOpen: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves once `socket` closed: with its error code, or 'clean'. */
function closedHow(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let code = 'clean';
    socket.on('error', (e: NodeJS.ErrnoException) => (code = e.code ?? 'error'));
    socket.once('close', () => resolve(code));
  });
}

test('connections beyond the accept queue wait unread and are accepted in order; only those beyond maxConnections are reset and reported', async () => {
  const refusals: Array<[Endpoint, string]> = [];
  const listener = expectOk(
    await listen('tcp://127.0.0.1:0', { backlog: 2, maxConnections: 5, onRefused: (peer, reason) => refusals.push([peer, reason.kind]) }),
  );
  const port = listener.address.port;
  const clients: Socket[] = [];
  for (let i = 0; i < 5; i += 1) {
    const s = await connectRaw(port);
    s.end(`client ${i}`);
    clients.push(s);
  }
  // Two flows queued and three waiting: all five held, none reset.
  while (listener.connections < 5) await new Promise((r) => setTimeout(r, 5));
  // The reset may come before or after the client saw its connect complete.
  const sixth = createConnection({ host: '127.0.0.1', port });
  expect(await closedHow(sixth)).toBe('ECONNRESET');
  expect(listener.refused).toBe(1);
  expect(refusals).toEqual([[expect.objectContaining({ family: 'IPv4', address: '127.0.0.1' }), 'limit']]);

  for (let i = 0; i < 5; i += 1) {
    const flow = expectOk(await listener.accept());
    expect((await readAll(flow)).toString()).toBe(`client ${i}`);
    expectOk(await flow.close());
  }
  await listener.close();
  for (const c of clients) c.destroy();
});

test('closing the listener resets connections still waiting for room', async () => {
  const listener = expectOk(await listen('tcp://127.0.0.1:0', { backlog: 1 }));
  const port = listener.address.port;
  const first = await connectRaw(port);
  const second = await connectRaw(port);
  const how = [closedHow(first), closedHow(second)];
  while (listener.connections < 2) await new Promise((r) => setTimeout(r, 5));
  await listener.close();
  expect(await Promise.all(how)).toEqual(['ECONNRESET', 'ECONNRESET']);
  expect(listener.connections).toBe(0);
});
