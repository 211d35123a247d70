import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { BufferedWriter, fromDuplex, pair, sink } from '../src';
import { readAll } from './support/read-all';

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('BufferedWriter', () => {
  test('write copies the bytes: mutating the source afterwards does not change the output', async () => {
    const out = sink();
    const writer = new BufferedWriter(out.flow);
    const source = Buffer.from('abc');
    expect((await writer.write(source)).ok).toBe(true);
    source.fill(0x78);
    expect((await writer.flush()).ok).toBe(true);
    expect(out.bytes().toString()).toBe('abc');
  });

  test('small writes stay buffered until flush, which sends them in one write', async () => {
    const out = sink();
    const writer = new BufferedWriter(out.flow);
    await writer.write('one ');
    await writer.write(Buffer.from('two '));
    await writer.write('three');
    expect(out.chunks.length).toBe(0);
    expect(writer.buffered).toBe(13);
    expect((await writer.flush()).ok).toBe(true);
    expect(out.bytes().toString()).toBe('one two three');
    expect(out.flow.stats.writeOps).toBe(1);
    expect(writer.buffered).toBe(0);
  });

  test('a full buffer flushes and waits out backpressure; memory stays bounded', async () => {
    const [a, b] = pair({ capacity: 1024 });
    const writer = new BufferedWriter(a, { maxBuffered: 256 });
    const data = Buffer.alloc(64 * 1024);
    for (let i = 0; i < data.length; i += 1) data[i] = (i * 7) % 251;
    const producing = (async () => {
      for (let i = 0; i < data.length; i += 100) {
        const r = await writer.write(data.subarray(i, i + 100));
        if (!r.ok) throw r.error;
        expect(writer.buffered).toBeLessThanOrEqual(256);
        // What the flow accepted but the reader did not take yet is bounded by the pair.
        expect(a.stats.bytesAccepted - b.stats.bytesRead).toBeLessThanOrEqual(1024);
      }
      expect((await writer.shutdownWrite()).ok).toBe(true);
    })();
    const got = await readAll(b);
    await producing;
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });

  test('a write of at least maxBuffered bytes goes straight to the flow after the buffered bytes', async () => {
    const out = sink();
    const writer = new BufferedWriter(out.flow, { maxBuffered: 8 });
    await writer.write('ab');
    await writer.write(Buffer.from('0123456789'));
    await writer.write('cd');
    await writer.flush();
    expect(out.chunks.map((c) => Buffer.from(c).toString())).toEqual(['ab', '0123456789', 'cd']);
  });

  test('writeLine appends LF by default and CRLF when asked', async () => {
    const lf = sink();
    const w1 = new BufferedWriter(lf.flow);
    await w1.writeLine('a');
    await w1.writeLine(Buffer.from('b'));
    await w1.writeLine();
    await w1.flush();
    expect(lf.bytes().toString()).toBe('a\nb\n\n');
    const crlf = sink();
    const w2 = new BufferedWriter(crlf.flow, { newline: '\r\n' });
    await w2.writeLine('GET / HTTP/1.1');
    await w2.flush();
    expect(crlf.bytes().toString()).toBe('GET / HTTP/1.1\r\n');
  });

  test('a failed flush keeps the unsent bytes and reports how many were accepted', async () => {
    const out = sink({ limit: 10 });
    const writer = new BufferedWriter(out.flow);
    await writer.write('0123456789abcdefghijklmno');
    const r = await writer.flush();
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('closed');
    expect(r.error.bytesAccepted).toBe(10);
    expect(out.bytes().toString()).toBe('0123456789');
    expect(writer.buffered).toBe(15);
    const unsent = await writer.takeUnsent();
    expect(Buffer.from(unsent).toString()).toBe('abcdefghijklmno');
    expect(writer.buffered).toBe(0);
  });

  test('a flush retried after an aborted signal sends exactly the rest, once, in order', async () => {
    const [a, b] = pair({ capacity: 8 });
    const writer = new BufferedWriter(a);
    await writer.write('0123456789ABCDEFGHIJ');
    const controller = new AbortController();
    const flushing = writer.flush({ signal: controller.signal });
    // The pair takes 8 bytes at once, then the write waits for room.
    await tick();
    controller.abort();
    const r = await flushing;
    expect(!r.ok && r.error.kind).toBe('aborted');
    expect(!r.ok && r.error.bytesAccepted).toBe(8);
    expect(writer.buffered).toBe(12);
    const reading = readAll(b);
    expect((await writer.flush()).ok).toBe(true);
    expect((await writer.shutdownWrite()).ok).toBe(true);
    expect((await reading).toString()).toBe('0123456789ABCDEFGHIJ');
  });

  test('writeBuffer enqueues the caller buffer without copying it', async () => {
    const out = sink();
    const writer = new BufferedWriter(out.flow);
    const shared = Buffer.from('before');
    await writer.write('<');
    await writer.writeBuffer(shared);
    await writer.write('>');
    // Zero-copy: a change before the flush shows in the output (the documented hazard).
    shared.write('after!');
    await writer.flush();
    expect(out.bytes().toString()).toBe('<after!>');
  });

  test('writeBuffer flushes once maxBuffered is reached', async () => {
    const out = sink();
    const writer = new BufferedWriter(out.flow, { maxBuffered: 4 });
    await writer.writeBuffer(Buffer.from('ab'));
    expect(out.chunks.length).toBe(0);
    await writer.writeBuffer(Buffer.from('cd'));
    expect(out.bytes().toString()).toBe('abcd');
  });

  test('operations called without awaiting run in call order', async () => {
    const out = sink();
    const writer = new BufferedWriter(out.flow, { maxBuffered: 4 });
    const results = await Promise.all([
      writer.write('abc'),
      writer.write('defgh'),
      writer.write('ij'),
      writer.writeBuffer(Buffer.from('kl')),
      writer.write('m'),
      writer.flush(),
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(out.bytes().toString()).toBe('abcdefghijklm');
  });

  test('close flushes, then closes the flow with the handshake, and reports both', async () => {
    const [a, b] = pair();
    const writer = new BufferedWriter(a);
    await writer.write('bye');
    const closing = writer.close();
    expect((await readAll(b)).toString()).toBe('bye');
    expect((await b.close()).ok).toBe(true);
    const r = await closing;
    expect(r.ok).toBe(true);
    expect(r.flush.ok && r.close.ok).toBe(true);
    expect(a.state).toBe('closed');
    const late = await writer.write('x');
    expect(!late.ok && late.error.kind).toBe('closed');
  });

  test('close after a failed flush aborts the flow instead of ending it cleanly', async () => {
    const out = sink({ limit: 2 });
    const writer = new BufferedWriter(out.flow);
    await writer.write('abcdef');
    const r = await writer.close();
    expect(r.ok).toBe(false);
    expect(!r.flush.ok && r.flush.error.bytesAccepted).toBe(2);
    expect(!r.close.ok && r.close.error.kind).toBe('aborted');
    expect(out.flow.state).toBe('aborted');
    expect(Buffer.from(await writer.takeUnsent()).toString()).toBe('cdef');
  });

  test('close with timeoutMs bounds the final flush when the peer never reads', async () => {
    const [a, b] = pair({ capacity: 16 });
    const writer = new BufferedWriter(a);
    await writer.write(Buffer.alloc(100, 1));
    const r = await writer.close({ timeoutMs: 20 });
    expect(r.ok).toBe(false);
    expect(!r.flush.ok && r.flush.error.kind).toBe('timeout');
    expect(!r.flush.ok && r.flush.error.bytesAccepted).toBe(16);
    expect(a.state).toBe('aborted');
    expect(writer.buffered).toBe(84);
    const seen = await b.read();
    expect(seen.ok).toBe(true);
  });

  test('shutdownWrite flushes, then the peer reads the data and EOF, and can still reply', async () => {
    const [a, b] = pair();
    const writer = new BufferedWriter(a);
    await writer.write('request');
    expect((await writer.shutdownWrite()).ok).toBe(true);
    expect((await readAll(b)).toString()).toBe('request');
    expect((await b.write(Buffer.from('reply'))).ok).toBe(true);
    expect((await b.shutdownWrite()).ok).toBe(true);
    expect((await readAll(a)).toString()).toBe('reply');
    const late = await writer.write('more');
    expect(!late.ok && late.error.kind).toBe('closed');
  });

  test('shutdownWrite after a failed flush does not shut the flow down', async () => {
    const out = sink({ limit: 1 });
    let ended = false;
    void out.ended.then(() => (ended = true));
    const writer = new BufferedWriter(out.flow);
    await writer.write('xyz');
    const r = await writer.shutdownWrite();
    expect(!r.ok && r.error.kind).toBe('closed');
    await tick();
    expect(ended).toBe(false);
    expect(writer.buffered).toBe(2);
    out.flow.abort();
  });

  test('maxBuffered defaults to 64 KiB: 64 KiB minus one byte stays buffered', async () => {
    const out = sink();
    const writer = new BufferedWriter(out.flow);
    expect(writer.maxBuffered).toBe(64 * 1024);
    await writer.write(Buffer.alloc(64 * 1024 - 1));
    expect(out.chunks.length).toBe(0);
    await writer.write('x');
    await writer.write('y');
    // The buffer was full: the second write had to flush it first.
    expect(out.bytes().length).toBe(64 * 1024);
    expect(writer.buffered).toBe(1);
  });

  test('flushed bytes are never overwritten while the transport still holds them after its write resolved', async () => {
    // A Node stream keeps written buffers by reference after write() returned true; a flow over
    // it resolves at that point. Nobody reads yet, so the PassThrough holds every flushed piece.
    const flow = fromDuplex(new PassThrough(), { highWaterMark: 1024 });
    const writer = new BufferedWriter(flow, { maxBuffered: 4096 });
    const expected: Buffer[] = [];
    for (let i = 0; i < 12; i += 1) {
      const piece = Buffer.alloc(1000, i + 1);
      expected.push(piece);
      expect((await writer.write(piece)).ok).toBe(true);
      expect((await writer.flush()).ok).toBe(true);
    }
    const reading = readAll(flow);
    expect((await writer.shutdownWrite()).ok).toBe(true);
    expect((await reading).equals(Buffer.concat(expected))).toBe(true);
    flow.abort();
  });

  test('bad arguments throw', () => {
    const out = sink();
    expect(() => new BufferedWriter(out.flow, { maxBuffered: 0 })).toThrow(RangeError);
    const writer = new BufferedWriter(out.flow);
    expect(() => writer.write(42 as unknown as string)).toThrow(TypeError);
    expect(() => writer.writeBuffer('x' as unknown as Uint8Array)).toThrow(TypeError);
  });
});
