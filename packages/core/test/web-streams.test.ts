import { createHash } from 'node:crypto';
import { ReadableStream, TransformStream, WritableStream } from 'node:stream/web';
import { EOF, FlowError, fromWebStreams, pair, toWebStreams, type Flow } from '../src';
import { readAll } from './support/read-all';

async function readStream(readable: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  const reader = readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(parts);
    parts.push(value);
  }
}

async function writeAll(flow: Flow, data: Buffer, size: number): Promise<void> {
  for (let i = 0; i < data.length; i += size) {
    const r = await flow.write(data.subarray(i, i + size));
    if (!r.ok) throw r.error;
  }
  const s = await flow.shutdownWrite();
  if (!s.ok) throw s.error;
}

function sha(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function pattern(size: number, seed: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) data[i] = (i * seed + (i >> 9)) & 0xff;
  return data;
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('toWebStreams', () => {
  test('the readable yields what the peer wrote and closes at EOF (2 MiB, hash-checked)', async () => {
    const [a, b] = pair({ capacity: 16 * 1024, chunkSize: 7000 });
    const { readable } = toWebStreams(a);
    const data = pattern(2 * 1024 * 1024, 13);
    const writing = writeAll(b, data, 100_000);
    const got = await readStream(readable);
    await writing;
    expect(sha(got)).toBe(sha(data));
  });

  test('the writable sends to the peer and close() shuts down the write side only', async () => {
    const [a, b] = pair();
    const { writable, readable } = toWebStreams(a);
    const writer = writable.getWriter();
    await writer.write(new TextEncoder().encode('hello'));
    await writer.close();
    expect((await readAll(b)).toString()).toBe('hello');
    expect(a.writeState).toBe('shut');
    // Half-closed: the peer can still answer and the readable side gets it.
    await writeAll(b, Buffer.from('answer'), 100);
    expect((await readStream(readable)).toString()).toBe('answer');
  });

  test('once the readable reached EOF and the writable closed, the flow is closed', async () => {
    const [a, b] = pair();
    const { writable, readable } = toWebStreams(a);
    await b.shutdownWrite();
    await readStream(readable);
    await writable.close();
    await readAll(b);
    expect((await b.close()).ok).toBe(true);
    expect(await a.closed).toBeUndefined();
    expect(a.state).toBe('closed');
  });

  test('readable backpressure: nothing is read from the flow beyond what the consumer pulls', async () => {
    const [a, b] = pair({ capacity: 4096, chunkSize: 1024 });
    const { readable } = toWebStreams(a);
    const data = pattern(256 * 1024, 7);
    let written = false;
    const writing = writeAll(b, data, 8192).then(() => {
      written = true;
    });
    const reader = readable.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    for (let i = 0; i < 20; i += 1) await tick();
    // With a high-water mark of 0, only the chunk the consumer asked for left the flow.
    expect(a.stats.bytesRead).toBe(1024);
    // And the peer's writer is held back by the pair's capacity meanwhile.
    expect(written).toBe(false);
    const rest: Uint8Array[] = [first.value ?? new Uint8Array(0)];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest.push(value);
    }
    await writing;
    expect(sha(Buffer.concat(rest))).toBe(sha(data));
  });

  test('writable backpressure: desiredSize drops to 0 while the flow cannot accept more', async () => {
    const [a, b] = pair({ capacity: 1024 });
    const { writable } = toWebStreams(a, { writableHighWaterMark: 2048 });
    const writer = writable.getWriter();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 8; i += 1) writes.push(writer.write(new Uint8Array(1024).fill(i)));
    for (let i = 0; i < 20; i += 1) await tick();
    expect(writer.desiredSize).toBeLessThanOrEqual(0);
    // The flow accepted no more than the pair holds: memory stays bounded.
    expect(a.stats.bytesAccepted).toBeLessThanOrEqual(1024);
    const reading = readAll(b);
    await Promise.all(writes);
    await writer.close();
    const got = await reading;
    expect(got.length).toBe(8 * 1024);
    expect(got[7 * 1024]).toBe(7);
  });

  test('cancelling the readable shuts down the read side of the flow', async () => {
    const [a, b] = pair();
    const { readable } = toWebStreams(a);
    await readable.cancel();
    expect(a.readState).toBe('shut');
    // The write side is untouched.
    expect((await a.write(Buffer.from('still'))).ok).toBe(true);
    expect(b.state).toBe('open');
  });

  test('aborting the writable aborts the flow and the peer sees a reset', async () => {
    const [a, b] = pair();
    const { writable } = toWebStreams(a);
    await writable.abort(new Error('stop'));
    expect(a.state).toBe('aborted');
    const r = await b.read();
    expect(!r.ok && r.error.kind).toBe('reset');
  });

  test('a read error errors the readable with the FlowError', async () => {
    const [a, b] = pair({ faults: { bToA: { afterBytes: 2 } } });
    const { readable } = toWebStreams(a);
    void b.write(Buffer.from('abcd'));
    const reader = readable.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value ?? []).toString()).toBe('ab');
    const failure = await reader.read().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(FlowError);
    expect((failure as FlowError).kind).toBe('reset');
  });
});

describe('fromWebStreams', () => {
  test('a TransformStream becomes a loopback flow: 1 MiB out comes back in, hash-checked', async () => {
    const flow = fromWebStreams(new TransformStream<Uint8Array, Uint8Array>());
    const data = pattern(1024 * 1024, 29);
    const writing = writeAll(flow, data, 65_536);
    const got = await readAll(flow);
    await writing;
    expect(sha(got)).toBe(sha(data));
    expect((await flow.close()).ok).toBe(true);
  });

  test('round trip: fromWebStreams(toWebStreams(flow)) over a pair carries MiBs both ways', async () => {
    const [a, b] = pair({ capacity: 32 * 1024, chunkSize: 5000 });
    const wrapped = fromWebStreams(toWebStreams(a), { copyChunks: false });
    const up = pattern(1536 * 1024, 3);
    const down = pattern(1024 * 1024 + 17, 5);
    const [gotAtB, gotAtWrapped] = await Promise.all([
      readAll(b),
      readAll(wrapped),
      writeAll(wrapped, up, 40_000),
      writeAll(b, down, 33_333),
    ]);
    expect(sha(gotAtB)).toBe(sha(up));
    expect(sha(gotAtWrapped)).toBe(sha(down));
    const [c1, c2] = await Promise.all([wrapped.close(), b.close()]);
    expect(c1.ok && c2.ok).toBe(true);
    expect(a.state).toBe('closed');
  });

  test('round trip the other way: toWebStreams(fromWebStreams(transform)) with pipeTo, 1 MiB hash-checked', async () => {
    const { readable, writable } = toWebStreams(fromWebStreams(new TransformStream<Uint8Array, Uint8Array>()));
    const data = pattern(1024 * 1024, 11);
    let offset = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= data.length) {
          controller.close();
          return;
        }
        controller.enqueue(data.subarray(offset, offset + 30_000));
        offset += 30_000;
      },
    });
    const [got] = await Promise.all([readStream(readable), source.pipeTo(writable)]);
    expect(sha(got)).toBe(sha(data));
  });

  test('the readable is pulled only while the flow buffer has room', async () => {
    let pulled = 0;
    const readable = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulled += 1;
          controller.enqueue(new Uint8Array(1000));
        },
      },
      { highWaterMark: 0 },
    );
    const flow = fromWebStreams({ readable, writable: new WritableStream() }, { highWaterMark: 10_000 });
    for (let i = 0; i < 50; i += 1) await tick();
    // Paused at the high-water mark: at most one more chunk is in flight.
    expect(pulled).toBeGreaterThanOrEqual(10);
    expect(pulled).toBeLessThanOrEqual(12);
    const r = await flow.read();
    expect(r.ok && r.value !== EOF && r.value.length).toBe(1000);
    flow.abort();
  });

  test('shutdownWrite closes the writable; a write afterwards returns closed', async () => {
    const chunks: Uint8Array[] = [];
    let closed = false;
    const writable = new WritableStream<Uint8Array>({
      write(chunk) {
        chunks.push(chunk);
      },
      close() {
        closed = true;
      },
    });
    const flow = fromWebStreams({ readable: new ReadableStream(), writable });
    expect((await flow.write(Buffer.from('xy'))).ok).toBe(true);
    expect((await flow.shutdownWrite()).ok).toBe(true);
    expect(closed).toBe(true);
    expect(Buffer.concat(chunks).toString()).toBe('xy');
    const late = await flow.write(Buffer.from('z'));
    expect(!late.ok && late.error.kind).toBe('closed');
    flow.abort();
  });

  test('a writable with a zero high-water mark still takes writes, one at a time', async () => {
    const chunks: Uint8Array[] = [];
    const writable = new WritableStream<Uint8Array>(
      {
        write(chunk) {
          chunks.push(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    const flow = fromWebStreams({ readable: new ReadableStream(), writable });
    expect((await flow.write(Buffer.from('ab'))).ok).toBe(true);
    expect((await flow.writev([Buffer.from('c'), Buffer.from('d')])).ok).toBe(true);
    expect(Buffer.concat(chunks).toString()).toBe('abcd');
    flow.abort();
  });

  test('a failing writable gives a write error value, not a rejection', async () => {
    const writable = new WritableStream<Uint8Array>({
      write() {
        throw new Error('disk full');
      },
    });
    const flow = fromWebStreams({ readable: new ReadableStream(), writable });
    const r = await flow.write(Buffer.from('x'));
    expect(!r.ok && r.error.message).toMatch(/disk full/);
    flow.abort();
  });

  test('an erroring readable fails reads after the data that arrived', async () => {
    let pulls = 0;
    const readable = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulls += 1;
          if (pulls === 1) controller.enqueue(new Uint8Array([1, 2]));
          else controller.error(new Error('source broke'));
        },
      },
      { highWaterMark: 0 },
    );
    const flow = fromWebStreams({ readable, writable: new WritableStream() });
    const first = await flow.read();
    expect(first.ok && first.value !== EOF && [...first.value]).toEqual([1, 2]);
    const second = await flow.read();
    expect(!second.ok && second.error.message).toMatch(/source broke/);
    flow.abort();
  });

  test('a non-byte chunk fails the flow with a protocol error', async () => {
    const readable = new ReadableStream({
      start(controller) {
        controller.enqueue('not bytes');
      },
    }) as unknown as ReadableStream<Uint8Array>;
    const flow = fromWebStreams({ readable, writable: new WritableStream() });
    const r = await flow.read();
    expect(!r.ok && r.error.kind).toBe('protocol');
    flow.abort();
  });

  test('abort cancels the readable and aborts the writable', async () => {
    let cancelled: unknown;
    let aborted: unknown;
    const readable = new ReadableStream<Uint8Array>({
      cancel(reason) {
        cancelled = reason;
      },
    });
    const writable = new WritableStream<Uint8Array>({
      abort(reason) {
        aborted = reason;
      },
    });
    const flow = fromWebStreams({ readable, writable });
    flow.abort(new Error('bye'));
    for (let i = 0; i < 5; i += 1) await tick();
    expect(cancelled).toBeInstanceOf(FlowError);
    expect(aborted).toBeInstanceOf(FlowError);
    const r = await flow.read();
    expect(!r.ok && r.error.kind).toBe('aborted');
  });

  test('streams that are not Web streams are a programmer error', () => {
    expect(() => fromWebStreams({} as never)).toThrow(TypeError);
  });
});
