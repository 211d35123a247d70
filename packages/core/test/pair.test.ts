import { createHash } from 'node:crypto';
import { EOF, pair, type Flow } from '../src';

async function readAll(flow: Flow): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) return Buffer.concat(parts);
    parts.push(r.value);
  }
}

describe('pair', () => {
  test('bytes written on one end are read on the other, then EOF after shutdownWrite', async () => {
    const [a, b] = pair();
    expect((await a.write(Buffer.from('hello '))).ok).toBe(true);
    expect((await a.writev([Buffer.from('wor'), Buffer.from('ld')])).ok).toBe(true);
    expect((await a.shutdownWrite()).ok).toBe(true);
    expect((await readAll(b)).toString()).toBe('hello world');
    const again = await b.read();
    expect(again.ok && again.value === EOF).toBe(true);
  });

  test('capacity bounds the bytes in flight: a write waits until the reader takes some', async () => {
    const [a, b] = pair({ capacity: 10 });
    let resolved = false;
    const w = a.write(Buffer.alloc(25, 1)).then((r) => {
      resolved = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(resolved).toBe(false);
    const got = await readAllBytes(b, 25);
    expect(got.length).toBe(25);
    expect((await w).ok).toBe(true);
  });

  test('chunkSize splits reads; a 1-byte chunking delivers every byte in order', async () => {
    const [a, b] = pair({ chunkSize: 1 });
    const data = Buffer.from('abcdef');
    void a.write(data).then(() => a.shutdownWrite());
    const r1 = await b.read();
    expect(r1.ok && r1.value !== EOF && r1.value.length).toBe(1);
    const rest = await readAll(b);
    expect(Buffer.concat([r1.ok && r1.value !== EOF ? r1.value : Buffer.alloc(0), rest]).toString()).toBe('abcdef');
  });

  test('close waits for the peer to close and data sent meanwhile is still readable', async () => {
    const [a, b] = pair();
    let closed = false;
    const first = a.close();
    expect(a.close()).toBe(first);
    const closing = first.then((r) => {
      closed = true;
      return r;
    });
    const eof = await b.read();
    expect(eof.ok && eof.value === EOF).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    expect(closed).toBe(false);
    await b.write(Buffer.from('late reply'));
    const reply = await a.read();
    expect(reply.ok && reply.value !== EOF && Buffer.from(reply.value).toString()).toBe('late reply');
    await b.close();
    expect((await closing).ok).toBe(true);
    expect(a.state).toBe('closed');
  });

  test('an injected reset after N bytes delivers the N bytes, then fails reader and writer', async () => {
    const [a, b] = pair({ faults: { aToB: { afterBytes: 5 } } });
    const w = await a.write(Buffer.from('0123456789'));
    expect(w.ok).toBe(false);
    if (!w.ok) {
      expect(w.error.kind).toBe('reset');
      expect(w.error.bytesAccepted).toBe(5);
    }
    const first = await b.read();
    expect(first.ok && first.value !== EOF && Buffer.from(first.value).toString()).toBe('01234');
    const second = await b.read();
    expect(second.ok).toBe(false);
    if (!second.ok) expect(second.error.kind).toBe('reset');
  });

  test('with latency, data and then EOF arrive in order, and close still completes', async () => {
    const [a, b] = pair({ latencyMs: 5 });
    await a.write(Buffer.from('slow '));
    await a.write(Buffer.from('boat'));
    const closing = a.close();
    expect((await readAll(b)).toString()).toBe('slow boat');
    expect((await b.close()).ok).toBe(true);
    expect((await closing).ok).toBe(true);
  });

  test('with latency, bytes accepted before an injected fault still arrive before the error', async () => {
    const [a, b] = pair({ latencyMs: 5, faults: { aToB: { afterBytes: 4, kind: 'io' } } });
    const w = await a.write(Buffer.from('abcdefgh'));
    expect(!w.ok && w.error.bytesAccepted).toBe(4);
    const first = await b.read();
    expect(first.ok && first.value !== EOF && Buffer.from(first.value).toString()).toBe('abcd');
    const second = await b.read();
    expect(!second.ok && second.error.kind).toBe('io');
  });

  test('aborting one end resets the other: its reads fail after the buffered data, its writes fail', async () => {
    const [a, b] = pair();
    await a.write(Buffer.from('buffered'));
    a.abort();
    const first = await b.read();
    expect(first.ok && first.value !== EOF && Buffer.from(first.value).toString()).toBe('buffered');
    const r = await b.read();
    expect(!r.ok && r.error.kind).toBe('reset');
    expect(!r.ok && r.error.code).toBe('ECONNRESET');
    const w = await b.write(Buffer.from('x'));
    expect(!w.ok && w.error.kind).toBe('reset');
  });

  test('bad options are programmer errors', () => {
    expect(() => pair({ capacity: 0 })).toThrow(RangeError);
    expect(() => pair({ chunkSize: 0 })).toThrow(RangeError);
    expect(() => pair({ latencyMs: -1 })).toThrow(RangeError);
  });

  test('a large transfer is intact (hash-checked)', async () => {
    const [a, b] = pair({ capacity: 64 * 1024 });
    const data = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
    const writer = (async () => {
      for (let off = 0; off < data.length; off += 100_000) {
        const r = await a.write(data.subarray(off, Math.min(data.length, off + 100_000)));
        if (!r.ok) throw r.error;
      }
      await a.shutdownWrite();
    })();
    const got = await readAll(b);
    await writer;
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });
});

async function readAllBytes(flow: Flow, n: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let total = 0;
  while (total < n) {
    const r = await flow.read();
    if (!r.ok || r.value === EOF) break;
    parts.push(r.value);
    total += r.value.length;
  }
  return Buffer.concat(parts);
}

describe('pair write ownership', () => {
  test('without transfer the reader gets a copy, so the writer may reuse its buffer after the write', async () => {
    const [a, b] = pair();
    const buf = Buffer.from('first');
    expect((await a.write(buf)).ok).toBe(true);
    buf.write('XXXXX');
    const r = await b.read();
    expect(r.ok && r.value !== EOF && Buffer.from(r.value).toString()).toBe('first');
  });

  test('with transfer the reader gets the very buffer that was handed over, without a copy', async () => {
    const [a, b] = pair();
    const buf = Buffer.from('handed over');
    expect((await a.write(buf, { transfer: true })).ok).toBe(true);
    const r = await b.read();
    expect(r.ok && r.value).toBe(buf);
  });
});
