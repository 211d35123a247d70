import {
  copy as copyFlows,
  createFlow,
  EOF,
  FlowWrapper,
  fromChunks,
  OK,
  pair,
  sink,
  type CopyOptions,
  type Flow,
  type InboundPort,
  type ReadOptions,
  type ReadResult,
} from '../src';
import { syncIoOf } from '../src/sync-io';
import { readAll } from './support/read-all';

/** A view of a flow with only the promises of the Flow interface: copy takes its general loop. */
class PromisesOnly extends FlowWrapper {
  override read(options?: ReadOptions): Promise<ReadResult> {
    return this.inner.read(options);
  }
}

// Every behaviour holds both where copy moves chunks synchronously (flows made by createFlow)
// and where it goes through promises (any other flow).
const paths: [string, (flow: Flow) => Flow][] = [
  ['synchronous path', (flow) => flow],
  ['promise path', (flow) => new PromisesOnly(flow)],
];

describe.each(paths)('copy, %s', (path, view) => {
  const copy = (src: Flow, dst: Flow, options?: CopyOptions): ReturnType<typeof copyFlows> =>
    copyFlows(view(src), view(dst), options);

  test('takes the path it is named after', () => {
    const [a] = pair();
    expect(syncIoOf(view(a)) !== undefined).toBe(path === 'synchronous path');
  });

  test('on success the result has outcome eof, exact bytes and ops, and ordered times', async () => {
    const out = sink();
    const r = await copy(fromChunks(['ab', 'cde', 'f']), out.flow);
    expect(r.outcome).toBe('eof');
    expect(r.bytes).toBe(6);
    expect(r.ops).toBe(3);
    expect(r.error).toBeUndefined();
    expect(r.failedSide).toBeUndefined();
    expect(r.endedAt).toBeGreaterThanOrEqual(r.startedAt);
    expect(out.bytes().toString()).toBe('abcdef');
  });

  test('EOF is propagated as dst.shutdownWrite by default: the reader of dst sees EOF', async () => {
    const [a, b] = pair();
    const r = await copy(fromChunks(['hello']), a);
    expect(r.outcome).toBe('eof');
    expect(a.writeState).toBe('shut');
    expect((await readAll(b)).toString()).toBe('hello');
  });

  test('with propagateEof false the destination stays open for writing', async () => {
    const [a, b] = pair();
    const r = await copy(fromChunks(['one']), a, { propagateEof: false });
    expect(r.outcome).toBe('eof');
    expect(a.writeState).toBe('open');
    expect((await a.write(Buffer.from(' two'))).ok).toBe(true);
    await a.shutdownWrite();
    expect((await readAll(b)).toString()).toBe('one two');
  });

  test('a read error ends the copy with outcome error, failedSide read and the stats so far', async () => {
    const [w, src] = pair({ faults: { aToB: { afterBytes: 7 } } });
    const out = sink();
    void w.write(Buffer.from('0123456789'));
    const r = await copy(src, out.flow);
    expect(r.outcome).toBe('error');
    expect(r.failedSide).toBe('read');
    expect(r.error?.kind).toBe('reset');
    expect(r.bytes).toBe(7);
    expect(r.ops).toBeGreaterThanOrEqual(1);
    expect(out.bytes().toString()).toBe('0123456');
    // The error is not passed on as a clean end.
    expect(out.flow.writeState).toBe('open');
  });

  test('a write error ends the copy with outcome error, failedSide write and the bytes the destination accepted', async () => {
    const out = sink({ limit: 4 });
    const r = await copy(fromChunks(['ab', 'cde', 'fg']), out.flow);
    expect(r.outcome).toBe('error');
    expect(r.failedSide).toBe('write');
    expect(r.error?.kind).toBe('closed');
    expect(r.bytes).toBe(4);
    expect(r.ops).toBe(1);
  });

  test('a failing shutdownWrite at EOF is reported as a write failure', async () => {
    const [a, b] = pair();
    b.abort();
    const r = await copy(fromChunks([]), a);
    expect(r.outcome).toBe('error');
    expect(r.failedSide).toBe('write');
    expect(r.error?.kind).toBe('reset');
  });

  test('an idle timeout ends the copy with outcome timeout and leaves both flows usable', async () => {
    const [w, src] = pair();
    const [dst, reader] = pair();
    void w.write(Buffer.from('first'));
    const r = await copy(src, dst, { idleTimeoutMs: 30 });
    expect(r.outcome).toBe('timeout');
    expect(r.error?.kind).toBe('timeout');
    expect(r.bytes).toBe(5);
    expect(src.state).toBe('open');
    expect(dst.state).toBe('open');
    // The read the timeout interrupted consumed nothing.
    await w.write(Buffer.from('second'));
    const next = await src.read();
    expect(next.ok && next.value !== EOF && Buffer.from(next.value).toString()).toBe('second');
    const got = await reader.read();
    expect(got.ok && got.value !== EOF && Buffer.from(got.value).toString()).toBe('first');
  });

  test('aborting the signal ends the copy with outcome aborted; the interrupted read consumed nothing', async () => {
    const [w, src] = pair();
    const out = sink();
    const controller = new AbortController();
    const running = copy(src, out.flow, { signal: controller.signal });
    await w.write(Buffer.from('abc'));
    while (out.bytes().length < 3) await new Promise((r) => setImmediate(r));
    controller.abort();
    const r = await running;
    expect(r.outcome).toBe('aborted');
    expect(r.error?.kind).toBe('aborted');
    expect(r.bytes).toBe(3);
    await w.write(Buffer.from('later'));
    const next = await src.read();
    expect(next.ok && next.value !== EOF && Buffer.from(next.value).toString()).toBe('later');
  });

  test('an already aborted signal copies nothing', async () => {
    const out = sink();
    const controller = new AbortController();
    controller.abort('not now');
    const r = await copy(fromChunks(['x']), out.flow, { signal: controller.signal });
    expect(r.outcome).toBe('aborted');
    expect(r.bytes).toBe(0);
    expect(r.error?.message).toContain('not now');
    expect(out.chunks.length).toBe(0);
  });

  test('aborting while the destination applies backpressure reports the bytes it accepted', async () => {
    const [dst, reader] = pair({ capacity: 4 });
    const controller = new AbortController();
    const running = copy(fromChunks(['0123456789']), dst, { signal: controller.signal });
    const first = await reader.read();
    expect(first.ok && first.value !== EOF && first.value.length).toBe(4);
    controller.abort();
    const r = await running;
    expect(r.outcome).toBe('aborted');
    expect(r.failedSide).toBe('write');
    expect(r.bytes).toBeGreaterThanOrEqual(4);
    expect(r.bytes).toBe(dst.stats.bytesAccepted);
    // What was read but never accepted is handed back, not lost.
    expect(Buffer.from(r.unwritten ?? new Uint8Array(0)).toString()).toBe('0123456789'.slice(r.bytes));
  });

  test('a write that fails part-way hands back the bytes it did not accept', async () => {
    const out = sink({ limit: 3 });
    const r = await copy(fromChunks(['abcdef']), out.flow);
    expect(r.outcome).toBe('error');
    expect(r.bytes).toBe(3);
    expect(Buffer.from(r.unwritten ?? new Uint8Array(0)).toString()).toBe('def');
  });

  test('a clean copy and a read failure have nothing unwritten', async () => {
    expect((await copy(fromChunks(['x']), sink().flow)).unwritten).toBeUndefined();
    const [w, src] = pair({ faults: { aToB: { afterBytes: 1 } } });
    void w.write(Buffer.from('xy'));
    expect((await copy(src, sink().flow)).unwritten).toBeUndefined();
  });

  test('onProgress sees the running byte count after every chunk', async () => {
    const seen: number[] = [];
    await copy(fromChunks(['a', 'bb', 'ccc']), sink().flow, { onProgress: (n) => seen.push(n) });
    expect(seen).toEqual([1, 3, 6]);
  });

  test('a read already waiting on the source is served before the copy takes anything', async () => {
    const [srcW, srcR] = pair();
    const [dstW, dstR] = pair();
    const waiting = srcR.read();
    const copying = copy(srcR, dstW);
    const received = readAll(dstR);
    expect((await srcW.write(Buffer.from('first'))).ok).toBe(true);
    expect((await srcW.write(Buffer.from('second'))).ok).toBe(true);
    expect((await srcW.shutdownWrite()).ok).toBe(true);
    const w = await waiting;
    expect(w.ok && w.value !== EOF && Buffer.from(w.value).toString()).toBe('first');
    expect((await copying).bytes).toBe(6);
    expect((await received).toString()).toBe('second');
  });

  test('a destination whose writes feed the source in the same call gets every chunk, in order', async () => {
    let feed: InboundPort | undefined;
    const capabilities = { halfCloseWrite: 'native', halfCloseRead: 'emulated', abort: 'close' } as const;
    const src = createFlow((port) => {
      feed = port;
      return { write: () => OK, shutdownWrite: async () => OK, abort: () => undefined, release: () => undefined };
    }, { capabilities });
    const received: string[] = [];
    const dst = createFlow(
      () => ({
        write: (chunks: readonly Uint8Array[]) => {
          for (const c of chunks) received.push(Buffer.from(c).toString());
          // Answer from inside the write, as an echoing peer in the same process would.
          if (received.length < 5) feed?.push(Buffer.from(`echo${received.length}`));
          else feed?.end();
          return OK;
        },
        shutdownWrite: async () => OK,
        abort: () => undefined,
        release: () => undefined,
      }),
      { capabilities },
    );
    feed?.push(Buffer.from('start'));
    const r = await copy(src, dst);
    expect(r.outcome).toBe('eof');
    expect(received).toEqual(['start', 'echo1', 'echo2', 'echo3', 'echo4']);
    expect(r.ops).toBe(5);
  });

  test('an onProgress that throws rejects the copy with its exception', async () => {
    const [w, src] = pair();
    const [dst] = pair();
    const running = copy(src, dst, {
      onProgress: () => {
        throw new Error('progress bar broke');
      },
    });
    await w.write(Buffer.from('x'));
    await expect(running).rejects.toThrow('progress bar broke');
  });

  test('after a copy is stopped, the source serves its own reads again', async () => {
    const [w, src] = pair();
    const controller = new AbortController();
    const running = copy(src, sink().flow, { signal: controller.signal });
    // Let the copy park on the empty source, then stop it.
    await new Promise((r) => setImmediate(r));
    controller.abort();
    expect((await running).outcome).toBe('aborted');
    const reading = src.read();
    await w.write(Buffer.from('mine'));
    const r = await reading;
    expect(r.ok && r.value !== EOF && Buffer.from(r.value).toString()).toBe('mine');
  });

  test('a chain of 2000 copies through in-memory pairs carries every byte without overflowing the stack', async () => {
    const pairs = Array.from({ length: 2001 }, () => pair());
    const copies = pairs.slice(0, -1).map(([, out], i) => copy(out, pairs[i + 1][0]));
    const received = readAll(pairs[2000][1]);
    const data = Buffer.alloc(50_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    for (let at = 0; at < data.length; at += 1000) {
      expect((await pairs[0][0].write(data.subarray(at, at + 1000))).ok).toBe(true);
    }
    expect((await pairs[0][0].shutdownWrite()).ok).toBe(true);
    expect((await received).equals(data)).toBe(true);
    for (const r of await Promise.all(copies)) expect(r.outcome).toBe('eof');
  }, 10_000);

  test('a non-positive idle timeout is a programmer error', async () => {
    await expect(copy(fromChunks([]), sink().flow, { idleTimeoutMs: 0 })).rejects.toThrow(RangeError);
  });

  test('a large transfer through small capacities is intact', async () => {
    const [w, src] = pair({ capacity: 1000, chunkSize: 333 });
    const [dst, reader] = pair({ capacity: 777 });
    const data = Buffer.alloc(200_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const writer = w.write(data).then(() => w.shutdownWrite());
    const [r, got] = await Promise.all([copy(src, dst), readAll(reader)]);
    await writer;
    expect(r.outcome).toBe('eof');
    expect(r.bytes).toBe(data.length);
    expect(got.equals(data)).toBe(true);
  });
});
