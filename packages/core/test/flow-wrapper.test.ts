import { copy, EOF, FlowWrapper, pair, type ReadOptions, type ReadResult, type WriteOptions, type WriteResult } from '../src';
import { syncIoOf } from '../src/sync-io';
import { readAll } from './support/read-all';

class CountingReads extends FlowWrapper {
  reads = 0;
  override read(options?: ReadOptions): Promise<ReadResult> {
    this.reads += 1;
    return this.inner.read(options);
  }
}

class CountingWrites extends FlowWrapper {
  writes = 0;
  override write(buffer: Uint8Array, options?: WriteOptions): Promise<WriteResult> {
    this.writes += 1;
    return this.inner.write(buffer, options);
  }
}

async function feed(flow: ReturnType<typeof pair>[0], chunks: readonly string[]): Promise<void> {
  for (const c of chunks) expect((await flow.write(Buffer.from(c))).ok).toBe(true);
  expect((await flow.shutdownWrite()).ok).toBe(true);
}


describe('FlowWrapper', () => {
  test('a plain wrapper lends copy the fast path of its inner flow', () => {
    const [inner] = pair();
    expect(syncIoOf(new FlowWrapper(inner))).toBe(syncIoOf(inner));
    expect(syncIoOf(inner)).toBeDefined();
  });

  test('a wrapper that changes read or write has no fast path, so copy goes through the override', async () => {
    const [srcW, srcR] = pair();
    const [dstW, dstR] = pair();
    const reading = new CountingReads(srcR);
    const writing = new CountingWrites(dstW);
    expect(syncIoOf(reading)).toBeUndefined();
    expect(syncIoOf(writing)).toBeUndefined();
    const [, copied, text] = await Promise.all([feed(srcW, ['a', 'bb', 'ccc']), copy(reading, writing), readAll(dstR)]);
    expect(copied.outcome).toBe('eof');
    expect(text.toString()).toBe('abbccc');
    expect(reading.reads).toBe(4); // three chunks and the EOF
    expect(writing.writes).toBe(3);
  });

  test('forwards every operation and state to the inner flow, overriding only what a subclass changes', async () => {
    const [inner, peer] = pair();
    const wrapped = new CountingReads(inner);
    expect(wrapped.label).toBe(inner.label);
    expect(wrapped.capabilities).toBe(inner.capabilities);
    expect((await wrapped.write(Buffer.from('out'))).ok).toBe(true);
    const seen = await peer.read();
    expect(seen.ok && seen.value !== EOF && Buffer.from(seen.value).toString()).toBe('out');
    await peer.write(Buffer.from('in'));
    const got = await wrapped.read();
    expect(got.ok && got.value !== EOF && Buffer.from(got.value).toString()).toBe('in');
    expect(wrapped.reads).toBe(1);
    expect(wrapped.stats.bytesAccepted).toBe(3);
    expect(wrapped.stats.bytesRead).toBe(2);
    expect((await wrapped.shutdownWrite()).ok).toBe(true);
    expect(wrapped.writeState).toBe('shut');
  });

  test('abort on the wrapper aborts the inner flow and the peer sees a reset', async () => {
    const [inner, peer] = pair();
    const wrapped = new FlowWrapper(inner);
    wrapped.abort();
    expect(inner.state).toBe('aborted');
    expect(await wrapped.closed).toBeDefined();
    const r = await peer.read();
    expect(!r.ok && r.error.kind).toBe('reset');
  });
});
