import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EOF, proxy, type Flow, type FlowError } from '@flow/core';
import { connect, listen, type TcpFlow } from '../src';
import { expectOk } from './support';

const SIXTY_FOUR_MIB = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;

/** Reads to the end; what ended it: EOF, or the error. */
async function readToEnd(flow: Flow): Promise<{ bytes: number; end: 'eof' | FlowError }> {
  let bytes = 0;
  for (;;) {
    const r = await flow.read();
    if (!r.ok) return { bytes, end: r.error };
    if (r.value === EOF) return { bytes, end: 'eof' };
    bytes += r.value.length;
  }
}

/** Resolves once `ready()` holds, checking on every turn of the event loop. */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 10));
}

/** Settles with `what` or with 'still waiting' after `ms`, so that a hang fails the test instead of timing it out. */
function within<T>(what: Promise<T>, ms: number): Promise<T | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still waiting'>((r) => (timer = setTimeout(() => r('still waiting'), ms)));
  return Promise.race([what, late]).finally(() => clearTimeout(timer));
}

/** Resolves once Node's queue for `socket` stopped shrinking: the peer's buffers are full. */
async function stuck(socket: Socket): Promise<void> {
  let last = -1;
  await until(() => {
    const same = socket.writableLength === last;
    last = socket.writableLength;
    return same && last > 0;
  });
}

/** Queues 64 MiB for `socket` without waiting. */
function flood(socket: Socket): void {
  for (let sent = 0; sent < SIXTY_FOUR_MIB; sent += CHUNK) socket.write(Buffer.alloc(CHUNK, 7));
}

describe('a TCP peer that resets while our flow is paused', () => {
  test('reads the buffered bytes and then reset, never a clean EOF', async () => {
    const listener = expectOk(await listen('tcp://127.0.0.1:0'));
    const port = listener.address.port;
    const peer = createConnection({ host: '127.0.0.1', port });
    peer.on('error', () => undefined);
    const b = expectOk(await listener.accept());
    flood(peer);
    // The flow stops reading at its high-water mark; the kernel queues the rest until both
    // socket buffers are full, and then the writer is stuck.
    await stuck(peer);
    peer.resetAndDestroy();
    const { bytes, end } = await readToEnd(b);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(SIXTY_FOUR_MIB);
    expect(end).not.toBe('eof');
    expect((end as FlowError).kind).toBe('reset');
    b.abort();
    await listener.close();
  });

  test('after our own FIN too: the buffered bytes, then reset', async () => {
    // A request-reply exchange where the client half-closed and the server aborts mid-reply.
    const listener = expectOk(await listen('tcp://127.0.0.1:0'));
    const port = listener.address.port;
    const peer = createConnection({ host: '127.0.0.1', port, allowHalfOpen: true });
    peer.on('error', () => undefined);
    const b = expectOk(await listener.accept());
    expectOk(await b.shutdownWrite());
    flood(peer);
    await stuck(peer);
    peer.resetAndDestroy();
    const { bytes, end } = await readToEnd(b);
    expect(bytes).toBeGreaterThan(0);
    expect(end).not.toBe('eof');
    expect((end as FlowError).kind).toBe('reset');
    b.abort();
    await listener.close();
  });

  test('a clean end after the same flood still reads as EOF with every byte', async () => {
    const listener = expectOk(await listen('tcp://127.0.0.1:0'));
    const port = listener.address.port;
    const peer = createConnection({ host: '127.0.0.1', port, allowHalfOpen: true });
    peer.on('error', () => undefined);
    const b = expectOk(await listener.accept());
    flood(peer);
    peer.end();
    await stuck(peer);
    // Paused well past a probe or two: a peer that only waits is not taken for a dead one.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await readToEnd(b)).toEqual({ bytes: SIXTY_FOUR_MIB, end: 'eof' });
    expectOk(await b.close());
    await listener.close();
  });

  test('through proxy: a client that resets while the backend reads nothing ends both sides at once', async () => {
    // A backend that accepts and never reads: the proxy's flow from the client fills and pauses.
    const backendSockets: Socket[] = [];
    const backend: Server = createServer({ pauseOnConnect: true }, (s) => {
      s.on('error', () => undefined);
      backendSockets.push(s);
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const backendPort = (backend.address() as AddressInfo).port;
    const front = expectOk(await listen('tcp://127.0.0.1:0'));
    const frontPort = front.address.port;

    const client = createConnection({ host: '127.0.0.1', port: frontPort });
    client.on('error', () => undefined);
    const accepted = expectOk(await front.accept());
    const upstream = expectOk(await connect({ host: '127.0.0.1', port: backendPort }));
    const running = proxy(accepted, upstream);
    await until(() => backendSockets.length === 1);
    const backendClosed = new Promise<void>((r) => backendSockets[0].once('close', () => r()));
    backendSockets[0].on('end', () => backendSockets[0].destroy());
    flood(client);
    // Everything the kernels and the proxy hold is full: the client's writes are stuck.
    await stuck(client);
    client.resetAndDestroy();

    try {
      const result = await within(running, 20_000);
      expect(result).not.toBe('still waiting');
      if (result === 'still waiting') return;
      expect(result.aToB.outcome).toBe('error');
      expect(result.aToB.error?.kind).toBe('reset');
      expect(result.aToB.failedSide).toBe('read');
      expect(result.bToA.outcome).toBe('aborted');
      // The backend's connection is reset too, not left open for a client that is gone.
      backendSockets[0].resume();
      expect(await within(backendClosed, 20_000)).toBeUndefined();
    } finally {
      accepted.abort();
      upstream.abort();
      for (const s of backendSockets) s.destroy();
      await front.close();
      await new Promise((r) => backend.close(r));
    }
  });
});

describe('a Unix-domain peer that closes with our bytes unread (the kernel reports ECONNRESET)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flow-reset-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('the paused flow reads the queued bytes and then reset, not a clean EOF', async () => {
    const path = join(dir, 'r.sock');
    const listener = expectOk(await listen({ path }));
    const peer = createConnection({ path });
    peer.on('error', () => undefined);
    // The peer takes a little of what we send and leaves the rest unread in its kernel queue.
    peer.pause();
    const b: TcpFlow = expectOk(await listener.accept());
    expectOk(await b.write(Buffer.alloc(150 * 1024, 1)));
    flood(peer);
    await stuck(peer);
    peer.destroy();
    const { bytes, end } = await readToEnd(b);
    expect(bytes).toBeGreaterThan(0);
    expect(end).not.toBe('eof');
    expect((end as FlowError).kind).toBe('reset');
    b.abort();
    await listener.close();
  });
});
