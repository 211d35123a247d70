import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { EOF } from '@flow/core';
import { connect, listen, type IpEndpoint, type TcpFlow, type TcpListener } from '../src';
import { expectOk, readAll } from './support';

const enc = (s: string): Uint8Array => Buffer.from(s);

async function connectedPair(host: string): Promise<{ listener: TcpListener<IpEndpoint>; client: TcpFlow; server: TcpFlow }> {
  const listener = expectOk(await listen(`tcp://${host.includes(':') ? `[${host}]` : host}:0`));
  const port = listener.address.port;
  const [c, s] = await Promise.all([connect({ host, port }), listener.accept()]);
  return { listener, client: expectOk(c), server: expectOk(s) };
}

describe.each(['127.0.0.1', '::1'])('TCP on %s', (host) => {
  let pair: Awaited<ReturnType<typeof connectedPair>>;
  beforeEach(async () => {
    pair = await connectedPair(host);
  });
  afterEach(async () => {
    await pair.listener.closeAll();
    pair.client.abort();
  });

  test('dst and src of both ends mirror each other', () => {
    const { client, server, listener } = pair;
    const family = host === '::1' ? 'IPv6' : 'IPv4';
    expect(client.dst).toEqual(listener.address);
    expect(client.dst).toEqual({ family, address: host, port: listener.address.port });
    expect(server.src).toEqual(client.dst);
    expect(server.dst).toEqual(client.src);
    expect(client.label).toContain(String((client.src as { port: number }).port));
  });

  test('half-close from the client: the server reads EOF and can still reply', async () => {
    const { client, server } = pair;
    expectOk(await client.write(enc('request')));
    expectOk(await client.shutdownWrite());
    expect((await readAll(server)).toString()).toBe('request');
    expectOk(await server.write(enc('reply after your FIN')));
    expectOk(await server.shutdownWrite());
    expect((await readAll(client)).toString()).toBe('reply after your FIN');
    expectOk(await client.close());
    expectOk(await server.close());
  });

  test('half-close from the server: the client can still send after reading EOF', async () => {
    const { client, server } = pair;
    expectOk(await server.write(enc('greeting')));
    expectOk(await server.shutdownWrite());
    expect((await readAll(client)).toString()).toBe('greeting');
    expectOk(await client.writev([enc('late '), enc('data')]));
    expectOk(await client.shutdownWrite());
    expect((await readAll(server)).toString()).toBe('late data');
    await Promise.all([client.close(), server.close()]);
    expect(client.state).toBe('closed');
    expect(server.state).toBe('closed');
  });

  test('write after shutdownWrite returns closed', async () => {
    const { client } = pair;
    expectOk(await client.shutdownWrite());
    const r = await client.write(enc('too late'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe('closed');
  });

  test('shutdownRead is emulated: later reads see EOF while the peer can keep writing', async () => {
    const { client, server } = pair;
    expect(client.capabilities.halfCloseRead).toBe('emulated');
    expectOk(await client.shutdownRead());
    expectOk(await server.write(Buffer.alloc(64 * 1024, 1)));
    const r = await client.read();
    expect(r).toEqual({ ok: true, value: EOF });
  });

  test('abort sends a RST: the peer reads reset', async () => {
    const { client, server } = pair;
    expect(client.capabilities.abort).toBe('rst');
    client.abort();
    const r = await server.read();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe('reset');
  });

  test('writeNodelay resolves once the bytes reached the kernel and they arrive', async () => {
    const { client, server } = pair;
    expect(client.noDelay).toBe(false);
    expectOk(await client.writeNodelay(enc('ping')));
    expect(client.stats.bytesFlushed).toBe(4);
    expectOk(await client.writevNodelay([enc('po'), enc('ng')]));
    expect(client.stats.bytesFlushed).toBe(8);
    expectOk(await client.shutdownWrite());
    expect((await readAll(server)).toString()).toBe('pingpong');
  });

  test('closing the listener leaves live flows working and refuses new connections', async () => {
    const { client, server, listener } = pair;
    const port = listener.address.port;
    await listener.close();
    expect(listener.closedForAccept).toBe(true);
    expect(listener.connections).toBe(1);
    const again = await connect({ host, port });
    expect(again.ok ? 'connected' : again.error.kind).toBe('refused');
    expectOk(await client.write(enc('still here')));
    expectOk(await client.shutdownWrite());
    expect((await readAll(server)).toString()).toBe('still here');
    const accepted = await listener.accept();
    expect(accepted.ok ? 'flow' : accepted.error.kind).toBe('closed');
  });
});

describe('listeners', () => {
  test('a dual-stack listener gives IPv4 peers back as IPv4 and IPv6 peers as IPv6', async () => {
    const listener = expectOk(await listen({ port: 0 }));
    try {
      expect(listener.address).toMatchObject({ family: 'IPv6', address: '::' });
      const port = listener.address.port;
      const [c4, s4] = await Promise.all([connect(`tcp://127.0.0.1:${port}`), listener.accept()]);
      const server4 = expectOk(s4);
      expect(server4.dst).toMatchObject({ family: 'IPv4', address: '127.0.0.1' });
      expect(server4.src).toEqual({ family: 'IPv4', address: '127.0.0.1', port });
      expect(server4.dst).toEqual(expectOk(c4).src);
      const [c6, s6] = await Promise.all([connect(`tcp://[::1]:${port}`), listener.accept()]);
      expect(expectOk(s6).dst).toMatchObject({ family: 'IPv6', address: '::1' });
      expectOk(c4).abort();
      expectOk(c6).abort();
    } finally {
      await listener.closeAll();
    }
  });

  test('listen on a busy port gives in-use', async () => {
    const first = expectOk(await listen('tcp://127.0.0.1:0'));
    const port = first.address.port;
    const second = await listen({ host: '127.0.0.1', port });
    expect(second.ok ? 'listening' : second.error.kind).toBe('in-use');
    if (!second.ok) expect(second.error.message).toContain(String(port));
    await first.close();
  });

  test('after closeAll the same port can be listened on again, and its flows were reset', async () => {
    const first = expectOk(await listen('tcp://127.0.0.1:0'));
    const port = first.address.port;
    const clients = await Promise.all([1, 2, 3].map(() => connect({ host: '127.0.0.1', port })));
    for (let i = 0; i < 3; i++) expectOk(await first.accept());
    expect(first.connections).toBe(3);
    await first.closeAll();
    expect(first.connections).toBe(0);
    for (const c of clients) {
      const r = await expectOk(c).read();
      expect(r.ok ? 'data' : r.error.kind).toBe('reset');
    }
    const second = expectOk(await listen({ host: '127.0.0.1', port }));
    expect(second.address).toEqual(first.address);
    await second.close();
  });

  test('two connections to one listener are independent (two_connect_tcp)', async () => {
    const listener = expectOk(await listen('tcp://127.0.0.1:0'));
    const port = listener.address.port;
    const a = expectOk(await connect({ host: '127.0.0.1', port }));
    const b = expectOk(await connect({ host: '127.0.0.1', port }));
    const sa = expectOk(await listener.accept());
    const sb = expectOk(await listener.accept());
    expect(sa.dst).toEqual(a.src);
    expect(sb.dst).toEqual(b.src);
    await Promise.all([a.write(enc('A')), b.write(enc('B'))]);
    await Promise.all([a.shutdownWrite(), b.shutdownWrite()]);
    expect((await readAll(sa)).toString()).toBe('A');
    expect((await readAll(sb)).toString()).toBe('B');
    await Promise.all([sa.close(), sb.close(), a.close(), b.close()]);
    await listener.close();
  });

  test('connections beyond maxConnections are reset, the others keep working', async () => {
    const listener = expectOk(await listen('tcp://127.0.0.1:0', { maxConnections: 1 }));
    const port = listener.address.port;
    const first = expectOk(await connect({ host: '127.0.0.1', port }));
    const served = expectOk(await listener.accept());
    // The reset may arrive while the attempt completes or on the first read.
    const attempt = await connect({ host: '127.0.0.1', port });
    const r = attempt.ok ? await attempt.value.read() : attempt;
    expect(r.ok ? 'data' : r.error.kind).toBe('reset');
    expect(listener.connections).toBe(1);
    expectOk(await first.write(enc('ok')));
    expectOk(await first.shutdownWrite());
    expect((await readAll(served)).toString()).toBe('ok');
    if (attempt.ok) attempt.value.abort();
    first.abort();
    await listener.closeAll();
  });
});

describe('a peer that resets mid-transfer', () => {
  let server: Server;
  let port: number;
  const peers = new Set<Socket>();
  beforeAll(async () => {
    // A plain Node peer: after 64 KiB it sends 1000 bytes; at the next byte it resets. (The
    // reset is issued from a 'data' handler: Node 20 sent a FIN instead when resetAndDestroy ran
    // right after its own write completed.)
    server = createServer({ allowHalfOpen: true }, (s) => {
      peers.add(s);
      s.on('error', () => undefined);
      let seen = 0;
      let greeted = -1;
      s.on('data', (d: Buffer) => {
        seen += d.length;
        if (s.destroyed) return;
        if (greeted >= 0 && seen > greeted) s.resetAndDestroy();
        else if (greeted < 0 && seen >= 64 * 1024) {
          greeted = seen;
          s.write(Buffer.alloc(1000, 7));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of peers) s.destroy();
    await new Promise((r) => server.close(r));
  });

  test('gives reset on write', async () => {
    const flow = expectOk(await connect({ host: '127.0.0.1', port }));
    const chunk = Buffer.alloc(64 * 1024, 1);
    let last: Awaited<ReturnType<TcpFlow['write']>> = { ok: true, value: undefined };
    // Bounded: the kernel buffers a few MiB at most before the reset is noticed.
    for (let i = 0; i < 2000 && last.ok; i++) last = await flow.write(chunk);
    expect(last.ok).toBe(false);
    if (!last.ok) expect(last.error.kind).toBe('reset');
    flow.abort();
  });

  test('gives reset on read', async () => {
    const flow = expectOk(await connect({ host: '127.0.0.1', port }));
    expectOk(await flow.write(Buffer.alloc(64 * 1024, 1)));
    let got = 0;
    while (got < 1000) {
      const r = await flow.read();
      got += r.ok && r.value !== EOF ? r.value.length : 1e9;
    }
    expect(got).toBe(1000);
    expectOk(await flow.write(enc('!')));
    const r = await flow.read();
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('reset');
      expect(r.error.code).toBe('ECONNRESET');
    }
    flow.abort();
  });
});

test('a raw Node client sees our FIN after the data, and our close completes when it ends', async () => {
  const listener = expectOk(await listen('tcp://127.0.0.1:0'));
  const port = listener.address.port;
  const raw = createConnection({ host: '127.0.0.1', port, allowHalfOpen: true });
  const received: Buffer[] = [];
  raw.on('data', (d: Buffer) => received.push(d));
  const ended = new Promise<void>((r) => raw.on('end', r));
  const flow = expectOk(await listener.accept());
  const closing = flow.close();
  await ended;
  expect(flow.state).toBe('closing');
  raw.end();
  expectOk(await closing);
  expect(flow.state).toBe('closed');
  expect(Buffer.concat(received).length).toBe(0);
  raw.destroy();
  await listener.close();
});

test('EPIPE is reset while our write side is open, and closed after our shutdown', async () => {
  const { listener, client, server } = await connectedPair('127.0.0.1');
  const { socketErrorMapper } = await import('../src/socket-errors');
  const raw = (client as unknown as { socket: Socket }).socket;
  const map = socketErrorMapper(raw);
  const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE', syscall: 'write' });
  expect(map(epipe, 'write').kind).toBe('reset');
  expectOk(await client.shutdownWrite());
  expect(map(epipe, 'write').kind).toBe('closed');
  server.abort();
  client.abort();
  await listener.closeAll();
});
