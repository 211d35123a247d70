import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { fromChunks, fromDuplex, pair, readChunks } from '../src';
import { readAll } from './support/read-all';

describe('readChunks', () => {
  test('iterates every chunk until EOF and result says eof', async () => {
    const chunks = readChunks(fromChunks(['a', 'bc', 'def']));
    const seen: string[] = [];
    for await (const c of chunks) seen.push(Buffer.from(c).toString());
    expect(seen).toEqual(['a', 'bc', 'def']);
    expect(await chunks.result).toEqual({ ok: true, value: 'eof' });
  });

  test('request/response: the server drains the request to EOF and still writes its reply', async () => {
    const [client, server] = pair({ chunkSize: 3 });
    const serving = (async () => {
      let size = 0;
      const request = readChunks(server);
      for await (const c of request) size += c.length;
      expect((await request.result).ok).toBe(true);
      expect(server.writeState).toBe('open');
      const w = await server.write(Buffer.from(`received ${size}`));
      expect(w.ok).toBe(true);
      await server.shutdownWrite();
    })();
    await client.write(Buffer.from('a request of some bytes'));
    await client.shutdownWrite();
    expect((await readAll(client)).toString()).toBe('received 23');
    await serving;
  });

  test('the same over a real loopback TCP socket, where for-await on the socket would destroy it', async () => {
    const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
      const flow = fromDuplex(socket);
      void (async () => {
        let size = 0;
        for await (const c of readChunks(flow)) size += c.length;
        await flow.write(Buffer.from(`received ${size}`));
        await flow.close();
      })();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await once(socket, 'connect');
    const client = fromDuplex(socket);
    await client.write(Buffer.alloc(100_000, 1));
    await client.shutdownWrite();
    expect((await readAll(client)).toString()).toBe('received 100000');
    expect((await client.close()).ok).toBe(true);
    server.close();
    await once(server, 'close');
  });

  test('breaking out of the loop destroys nothing: the rest stays readable and writes work', async () => {
    const [a, b] = pair();
    await a.write(Buffer.from('first'));
    const chunks = readChunks(b);
    for await (const c of chunks) {
      expect(Buffer.from(c).toString()).toBe('first');
      break;
    }
    expect(await chunks.result).toEqual({ ok: true, value: 'stopped' });
    await a.write(Buffer.from('second'));
    await a.shutdownWrite();
    expect((await readAll(b)).toString()).toBe('second');
    expect((await b.write(Buffer.from('reply'))).ok).toBe(true);
    expect(b.state).toBe('open');
  });

  test('a read error ends the iteration without throwing and result carries the error', async () => {
    const [a, b] = pair({ faults: { aToB: { afterBytes: 4 } } });
    void a.write(Buffer.from('abcdefgh'));
    const chunks = readChunks(b);
    const seen: Uint8Array[] = [];
    for await (const c of chunks) seen.push(c);
    expect(Buffer.concat(seen).toString()).toBe('abcd');
    const r = await chunks.result;
    expect(!r.ok && r.error.kind).toBe('reset');
  });

  test('an aborted signal ends the iteration with aborted and consumes nothing', async () => {
    const [a, b] = pair();
    const controller = new AbortController();
    const chunks = readChunks(b, { signal: controller.signal });
    const iterating = (async () => {
      for await (const c of chunks) void c;
    })();
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await iterating;
    const r = await chunks.result;
    expect(!r.ok && r.error.kind).toBe('aborted');
    await a.write(Buffer.from('later'));
    await a.shutdownWrite();
    expect((await readAll(b)).toString()).toBe('later');
  });

  test('overlapping next() calls keep chunk order', async () => {
    const it = readChunks(fromChunks(['1', '2', '3']))[Symbol.asyncIterator]();
    const results = await Promise.all([it.next(), it.next(), it.next(), it.next()]);
    expect(results.map((r) => (r.done ? 'done' : Buffer.from(r.value).toString()))).toEqual(['1', '2', '3', 'done']);
  });
});
