import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { Readable, Writable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EOF, FlowError, fromDuplex, pair, sink, toDuplex, type Flow } from '../src';
import { readAll } from './support/read-all';

/** Echoes everything `flow` reads back to its peer, then shuts down its write side at EOF. */
async function echo(flow: Flow): Promise<void> {
  for (;;) {
    const r = await flow.read();
    if (!r.ok) return;
    if (r.value === EOF) {
      await flow.shutdownWrite();
      return;
    }
    const w = await flow.write(r.value);
    if (!w.ok) return;
  }
}

function collector(): { writable: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const writable = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
  return { writable, bytes: () => Buffer.concat(parts) };
}

function sha(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function pattern(size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) data[i] = (i * 31 + (i >> 11)) & 0xff;
  return data;
}

function* slices(data: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

describe('toDuplex', () => {
  test('stream.pipeline through the duplex carries 2 MiB intact, both ways', async () => {
    const [a, b] = pair({ capacity: 32 * 1024 });
    const echoing = echo(b);
    const data = pattern(2 * 1024 * 1024);
    const out = collector();
    await pipeline(Readable.from(slices(data, 50_000)), toDuplex(a), out.writable);
    await echoing;
    expect(out.bytes().length).toBe(data.length);
    expect(sha(out.bytes())).toBe(sha(data));
  });

  test('end() shuts down the write side while the readable side goes on (half-close)', async () => {
    const [a, b] = pair();
    const duplex = toDuplex(a);
    duplex.end('request');
    expect((await readAll(b)).toString()).toBe('request');
    expect(a.writeState).toBe('shut');
    // The peer answers after our FIN: the duplex still reads it.
    const chunks: Buffer[] = [];
    duplex.on('data', (c: Buffer) => chunks.push(c));
    await b.write(Buffer.from('reply'));
    await b.shutdownWrite();
    await once(duplex, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('reply');
  });

  test('after both sides finished, autoDestroy closes the flow with the handshake', async () => {
    const [a, b] = pair();
    const duplex = toDuplex(a);
    duplex.resume();
    duplex.end();
    await readAll(b);
    expect((await b.close()).ok).toBe(true);
    await once(duplex, 'close');
    expect(await a.closed).toBeUndefined();
    expect(a.state).toBe('closed');
  });

  test('a read error surfaces as the duplex error event with the FlowError', async () => {
    const [a, b] = pair({ faults: { bToA: { afterBytes: 3 } } });
    const duplex = toDuplex(a);
    const chunks: Buffer[] = [];
    duplex.on('data', (c: Buffer) => chunks.push(c));
    void b.write(Buffer.from('abcdef'));
    const [error] = (await once(duplex, 'error')) as [FlowError];
    expect(error).toBeInstanceOf(FlowError);
    expect(error.kind).toBe('reset');
    expect(Buffer.concat(chunks).toString()).toBe('abc');
    expect(duplex.destroyed).toBe(true);
  });

  test('a failed write calls back with the error, and pipeline rejects with it', async () => {
    const out = sink({ limit: 4 });
    const duplex = toDuplex(out.flow);
    const failure = pipeline(Readable.from([Buffer.from('ab'), Buffer.from('cdef')]), duplex);
    await expect(failure).rejects.toMatchObject({ kind: 'closed' });
    expect(out.bytes().toString()).toBe('abcd');
  });

  test('writev sends corked writes in one flow writev', async () => {
    const out = sink();
    const duplex = toDuplex(out.flow);
    duplex.cork();
    duplex.write('a');
    duplex.write('b');
    duplex.write('c');
    process.nextTick(() => duplex.uncork());
    duplex.end();
    await once(duplex, 'finish');
    expect(out.bytes().toString()).toBe('abc');
    expect(out.flow.stats.writeOps).toBeLessThan(3);
    duplex.destroy();
  });

  test('destroy(error) aborts the flow and the peer sees a reset', async () => {
    const [a, b] = pair();
    const duplex = toDuplex(a);
    const errors: Error[] = [];
    duplex.on('error', (e: Error) => errors.push(e));
    const closed = new Promise((resolve) => duplex.on('close', resolve));
    duplex.destroy(new Error('boom'));
    await closed;
    expect(errors.map((e) => e.message)).toEqual(['boom']);
    expect(a.state).toBe('aborted');
    const r = await b.read();
    expect(!r.ok && r.error.kind).toBe('reset');
  });

  test('destroy() before both sides finished aborts the flow', async () => {
    const [a, b] = pair();
    const duplex = toDuplex(a);
    duplex.destroy();
    await once(duplex, 'close');
    expect(a.state).toBe('aborted');
    const r = await b.read();
    expect(r.ok).toBe(false);
  });

  test('over a real loopback TCP socket: request, half-close, reply', async () => {
    const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
      // The server side speaks flow: drain the request to EOF, then reply on the same flow.
      const flow = fromDuplex(socket);
      void (async () => {
        const request = await readAll(flow);
        await flow.write(Buffer.from(`got ${request.length} bytes`));
        await flow.close();
      })();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await once(socket, 'connect');
    const duplex: Duplex = toDuplex(fromDuplex(socket));
    const out = collector();
    await pipeline(Readable.from(slices(pattern(300_000), 65_536)), duplex, out.writable);
    expect(out.bytes().toString()).toBe('got 300000 bytes');
    server.close();
    await once(server, 'close');
  });
});
