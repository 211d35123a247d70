import { createHash } from 'node:crypto';
import { pair, type Flow, type FlowError, type PairOptions } from '@flow/core';
import { pieces, randomBytes, receive } from '../src/support/transfer';

interface WriterOutcome {
  /** Bytes accepted: the ok writes plus the failed write's `bytesAccepted`. */
  accepted: number;
  error: FlowError | undefined;
  /** sha256 of the first `accepted` bytes of the stream the writer produced. */
  acceptedSha256: string;
}

/** Writes `total` bytes in odd sizes until a write fails; hashes what was accepted. */
async function writeUntilFailure(flow: Flow, total: number, sizes?: readonly number[]): Promise<WriterOutcome> {
  const hash = createHash('sha256');
  let accepted = 0;
  for (const size of pieces(total, sizes)) {
    const buffer = randomBytes(size);
    const r = await flow.write(buffer);
    if (!r.ok) {
      const partial = r.error.bytesAccepted ?? 0;
      hash.update(buffer.subarray(0, partial));
      return { accepted: accepted + partial, error: r.error, acceptedSha256: hash.digest('hex') };
    }
    hash.update(buffer);
    accepted += size;
  }
  return { accepted, error: undefined, acceptedSha256: hash.digest('hex') };
}

async function faultAfter(afterBytes: number, options: Omit<PairOptions, 'faults'> = {}, sizes?: readonly number[]) {
  const [a, b] = pair({ ...options, faults: { aToB: { afterBytes } } });
  const reading = receive(b);
  const writer = await writeUntilFailure(a, afterBytes + 300000, sizes);
  const reader = await reading;
  return { a, b, writer, reader };
}

describe('pair fault injection', () => {
  test.each([1, 7, 4093, 65536, 200003])(
    'a fault after %i bytes: those bytes arrive intact, then reader and writer both get reset',
    async (afterBytes) => {
      const { a, b, writer, reader } = await faultAfter(afterBytes);
      expect(writer.error?.kind).toBe('reset');
      expect(writer.accepted).toBe(afterBytes);
      expect(a.stats.bytesAccepted).toBe(afterBytes);
      expect(reader.bytes).toBe(afterBytes);
      expect(reader.sha256).toBe(writer.acceptedSha256);
      expect(typeof reader.end === 'object' && reader.end.kind).toBe('reset');
      expect(b.stats.bytesRead).toBe(afterBytes);
      a.abort();
      b.abort();
    },
  );

  test('a fault in the middle of one large write reports the bytes of that write accepted before it', async () => {
    const [a, b] = pair({ faults: { aToB: { afterBytes: 300001 } } });
    const reading = receive(b);
    expect((await a.write(randomBytes(100000))).ok).toBe(true);
    const r = await a.write(randomBytes(1024 * 1024));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('reset');
    expect(r.error.bytesAccepted).toBe(200001);
    expect(a.stats.bytesAccepted).toBe(300001);
    const got = await reading;
    expect(got.bytes).toBe(300001);
    a.abort();
    b.abort();
  });

  test('the fault holds with 1-byte chunks, a small capacity and latency', async () => {
    const { a, b, writer, reader } = await faultAfter(5000, { chunkSize: 1, capacity: 512, latencyMs: 1 }, [1, 7, 333]);
    expect(writer.error?.kind).toBe('reset');
    expect(writer.accepted).toBe(5000);
    expect(reader.bytes).toBe(5000);
    expect(reader.sha256).toBe(writer.acceptedSha256);
    expect(typeof reader.end === 'object' && reader.end.kind).toBe('reset');
    a.abort();
    b.abort();
  });

  test('after the fault, later writes and reads keep failing with the same kind', async () => {
    const { a, b } = await faultAfter(10);
    for (let i = 0; i < 3; i += 1) {
      const w = await a.write(Buffer.from('more'));
      expect(!w.ok && w.error.kind).toBe('reset');
      const r = await b.read();
      expect(!r.ok && r.error.kind).toBe('reset');
    }
    expect(a.stats.bytesAccepted).toBe(10);
    a.abort();
    b.abort();
  });

  test("an 'io' fault is reported as io to both ends", async () => {
    const [a, b] = pair({ faults: { aToB: { afterBytes: 4096, kind: 'io' } } });
    const reading = receive(b);
    const writer = await writeUntilFailure(a, 100000);
    const reader = await reading;
    expect(writer.error?.kind).toBe('io');
    expect(writer.accepted).toBe(4096);
    expect(reader.bytes).toBe(4096);
    expect(typeof reader.end === 'object' && reader.end.kind).toBe('io');
    a.abort();
    b.abort();
  });

  test('a fault on b→a leaves bytes before it intact for a', async () => {
    const [a, b] = pair({ faults: { bToA: { afterBytes: 70001 } } });
    const reading = receive(a);
    const writer = await writeUntilFailure(b, 200000);
    const reader = await reading;
    expect(writer.error?.kind).toBe('reset');
    expect(writer.accepted).toBe(70001);
    expect(b.stats.bytesAccepted).toBe(70001);
    expect(reader.sha256).toBe(writer.acceptedSha256);
    a.abort();
    b.abort();
  });
});
