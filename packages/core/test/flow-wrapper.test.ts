import { EOF, FlowWrapper, pair, type ReadOptions, type ReadResult } from '../src';

class CountingReads extends FlowWrapper {
  reads = 0;
  override read(options?: ReadOptions): Promise<ReadResult> {
    this.reads += 1;
    return this.inner.read(options);
  }
}

describe('FlowWrapper', () => {
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
