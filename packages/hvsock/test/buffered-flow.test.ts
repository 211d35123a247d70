// The buffered flow (upstream's lwt/buffering.ml, ported with its bugs fixed) against the
// in-memory socket double: upstream's size matrix, a write-size x buffer-size grid, seeded
// fuzzing, and one regression test per upstream bug listed in the package README.
import { createHash } from 'node:crypto';
import { EOF, type Flow } from '@flow/core';
import { bufferedFlow, type BufferedFlowOptions } from '../src/buffered-flow';
import { bufferedSocketCapabilities } from '../src/capabilities';
import { readExactlyInto } from '../src/flow';
import { ECONNRESET, EPIPE, memorySocketPair, type MemorySocketOptions } from './support/memory-socket';
import { patternBytes, prng } from './support/bytes';

type FlowOptions = Omit<BufferedFlowOptions, 'capabilities'>;

function connected(flowOptions: FlowOptions = {}, socketOptions: MemorySocketOptions = {}) {
  const [x, y] = memorySocketPair(socketOptions);
  const options = { ...flowOptions, capabilities: bufferedSocketCapabilities };
  return { a: bufferedFlow(x, options), b: bufferedFlow(y, options), x, y };
}

/** Writes `total` bytes in pieces of at most `piece`; returns their sha256. */
async function send(flow: Flow, total: number, piece = 64 * 1024, seed = total): Promise<string> {
  const data = patternBytes(total, seed);
  for (let at = 0; at < total; at += piece) {
    const r = await flow.write(data.subarray(at, Math.min(total, at + piece)));
    if (!r.ok) throw r.error;
  }
  return createHash('sha256').update(data).digest('hex');
}

/** Reads to EOF; fails on an empty chunk or an error. */
async function receive(flow: Flow): Promise<{ bytes: number; sha256: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  for (;;) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) return { bytes, sha256: h.digest('hex') };
    if (r.value.length === 0) throw new Error(`an empty chunk after ${bytes} bytes`);
    h.update(r.value);
    bytes += r.value.length;
  }
}

/** Upstream's cross product: both ends write at once, shut down, and count what they read. */
async function exchange(a: Flow, b: Flow, n: number, m: number): Promise<void> {
  const [sentA, sentB, gotB, gotA] = await Promise.all([
    send(a, n, 64 * 1024, 1).then(async (h) => {
      expect((await a.shutdownWrite()).ok).toBe(true);
      return h;
    }),
    send(b, m, 64 * 1024, 2).then(async (h) => {
      expect((await b.shutdownWrite()).ok).toBe(true);
      return h;
    }),
    receive(b),
    receive(a),
  ]);
  expect(gotB).toEqual({ bytes: n, sha256: sentA });
  expect(gotA).toEqual({ bytes: m, sha256: sentB });
  expect((await a.close()).ok).toBe(true);
  expect((await b.close()).ok).toBe(true);
}

// lib_test/test.ml @6b90ba4
const UPSTREAM_SIZES = [0, 1, 4, 4095, 4096, 4097, 4098, 4099, 5000, 5001, 5002, 1048575, 1048576, 1048577];

describe("upstream's 14x14 size matrix: both ends write at once, then shut down (defaults)", () => {
  test.each(UPSTREAM_SIZES.flatMap((n) => UPSTREAM_SIZES.map((m) => [n, m])))('a writes %i bytes, b writes %i bytes', async (n, m) => {
    const { a, b } = connected();
    await exchange(a, b, n, m);
  });
});

describe('write size x buffer size x message size: every byte arrives and no call exceeds messageSize', () => {
  const writeSizes = [1, 4095, 4097, 65536, 300_001];
  const bufferSizes = [16, 4096, 65536, 262144];
  const messageSizes = [100, 8192, 65536];
  const cases = writeSizes.flatMap((w) => bufferSizes.flatMap((bs) => messageSizes.map((ms) => [w, bs, ms])));
  test.each(cases)('one write of %i bytes, bufferSize %i, messageSize %i', async (w, bufferSize, messageSize) => {
    const { a, b, x, y } = connected({ bufferSize, messageSize }, { capacity: 8192 });
    const data = patternBytes(w, 7);
    const writing = a.write(data).then(async (r) => {
      expect(r.ok).toBe(true);
      expect((await a.shutdownWrite()).ok).toBe(true);
    });
    const got = await receive(b);
    await writing;
    expect(got).toEqual({ bytes: w, sha256: createHash('sha256').update(data).digest('hex') });
    for (const s of [x, y]) {
      expect(Math.max(0, ...s.reads, ...s.writes)).toBeLessThanOrEqual(messageSize);
    }
    // The reader never held more than bufferSize: no read asked for more than the room left.
    expect(Math.max(0, ...y.reads)).toBeLessThanOrEqual(bufferSize);
    a.abort();
    b.abort();
  });
});

describe('seeded fuzzing of chunkings, buffer sizes and kernel capacities', () => {
  const ITERATIONS = 60;
  const DEADLINE_MS = 20_000;
  test(`${ITERATIONS} random exchanges (or as many as fit in ${DEADLINE_MS} ms), each hash-checked`, async () => {
    const random = prng(0x5eed);
    const started = Date.now();
    let runs = 0;
    for (; runs < ITERATIONS && Date.now() - started < DEADLINE_MS; runs++) {
      const pick = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
      const { a, b } = connected(
        { messageSize: pick(1, 70_000), bufferSize: pick(1, 300_000) },
        { capacity: pick(1, 100_000), maxRead: pick(1, 70_000), maxWrite: pick(1, 70_000) },
      );
      const n = pick(0, 600_000);
      const m = pick(0, 600_000);
      const piece = pick(1, 100_000);
      const intoSize = pick(1, 70_000);
      const sending = (f: Flow, total: number, seed: number) =>
        send(f, total, piece, seed).then(async (h) => {
          expect((await f.shutdownWrite()).ok).toBe(true);
          return h;
        });
      // b reads with readInto into a reused buffer of a random size; a with read.
      const receiveInto = async (f: Flow) => {
        const h = createHash('sha256');
        const buffer = new Uint8Array(intoSize);
        let bytes = 0;
        for (;;) {
          const r = await f.readInto(buffer);
          if (!r.ok) throw r.error;
          if (r.value === EOF) return { bytes, sha256: h.digest('hex') };
          h.update(buffer.subarray(0, r.value));
          bytes += r.value;
        }
      };
      const [ha, hb, gotB, gotA] = await Promise.all([sending(a, n, runs * 2), sending(b, m, runs * 2 + 1), receiveInto(b), receive(a)]);
      expect(gotB).toEqual({ bytes: n, sha256: ha });
      expect(gotA).toEqual({ bytes: m, sha256: hb });
      a.abort();
      b.abort();
    }
    expect(runs).toBeGreaterThanOrEqual(10);
  }, 60_000);
});

describe('regressions: the bugs of upstream lwt/buffering.ml @6b90ba4 (spec 1.6) stay fixed', () => {
  test('1. close() with an idle write queue and no shutdownWrite returns (upstream waited forever)', async () => {
    const { a, b } = connected();
    const [ra, rb] = await Promise.all([a.close(), b.close()]);
    expect(ra.ok && rb.ok).toBe(true);
    expect(a.state).toBe('closed');
  });

  test('1. close() after writes, with the peer closing later, flushes and returns', async () => {
    const { a, b } = connected();
    expect((await a.write(patternBytes(100_000, 3))).ok).toBe(true);
    const closing = a.close();
    const got = await receive(b);
    expect(got.bytes).toBe(100_000);
    expect((await b.close()).ok).toBe(true);
    expect((await closing).ok).toBe(true);
  });

  test('2. one write larger than bufferSize completes instead of deadlocking', async () => {
    const { a, b } = connected({ bufferSize: 4096 }, { capacity: 1024 });
    const writing = a.write(patternBytes(1_000_000, 4));
    const reading = receive(b);
    expect((await writing).ok).toBe(true);
    expect((await a.shutdownWrite()).ok).toBe(true);
    expect((await reading).bytes).toBe(1_000_000);
  });

  test('2. a writev whose buffers together exceed bufferSize completes', async () => {
    const { a, b } = connected({ bufferSize: 1000 }, { capacity: 500 });
    const parts = [patternBytes(700, 1), patternBytes(900, 2), patternBytes(1, 3), patternBytes(5000, 4)];
    const reading = receive(b);
    expect((await a.writev(parts)).ok).toBe(true);
    expect((await a.shutdownWrite()).ok).toBe(true);
    const expected = createHash('sha256').update(Buffer.concat(parts)).digest('hex');
    expect(await reading).toEqual({ bytes: 6601, sha256: expected });
  });

  test('3. no empty chunk arrives before EOF, even when EOF follows the data at once', async () => {
    const { a, b, y } = connected();
    expect((await a.write(Buffer.from('last words'))).ok).toBe(true);
    expect((await a.shutdownWrite()).ok).toBe(true);
    // Wait until both the data and the EOF sit in the "kernel" before the first read.
    while (y.unread < 10) await new Promise((r) => setImmediate(r));
    const first = await b.read();
    expect(first.ok && first.value !== EOF && Buffer.from(first.value).toString()).toBe('last words');
    const second = await b.read();
    expect(second.ok && second.value).toBe(EOF);
  });

  test('4. several concurrent writers and readers: writes stay whole and in call order, nothing is lost', async () => {
    const { a, b } = connected({ bufferSize: 3000, messageSize: 1000 }, { capacity: 2000 });
    const writes = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1 + ((i * 997) % 5000), i));
    const writing = Promise.all(writes.map((w) => a.write(w))).then(() => a.shutdownWrite());
    const readers = Array.from({ length: 4 }, () => receive(b).catch((e: unknown) => e));
    // Concurrent readers split the stream between them; together they saw everything once.
    const results = await Promise.all(readers);
    expect((await writing).ok).toBe(true);
    const total = results.reduce<number>((s, r) => s + (r as { bytes: number }).bytes, 0);
    expect(total).toBe(writes.reduce((s, w) => s + w.length, 0));
  });

  test('4. concurrent writes arrive in call order (one reader)', async () => {
    const { a, b } = connected({ bufferSize: 3000, messageSize: 1000 }, { capacity: 2000 });
    const writes = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1 + ((i * 997) % 5000), i));
    const writing = Promise.all(writes.map((w) => a.write(w))).then(() => a.shutdownWrite());
    const got = await receive(b);
    expect((await writing).ok).toBe(true);
    expect(got.sha256).toBe(createHash('sha256').update(Buffer.concat(writes)).digest('hex'));
  });

  test('6. a read error is an error with the OS code, errno and syscall, after the data before it', async () => {
    const { a, b, y } = connected();
    y.faults.readErrorAfter = { bytes: 5000, errno: ECONNRESET };
    expect((await a.write(patternBytes(20_000, 5))).ok).toBe(true);
    let bytes = 0;
    for (;;) {
      const r = await b.read();
      if (!r.ok) {
        expect(r.error).toMatchObject({ kind: 'reset', code: 'ECONNRESET', errno: 104, syscall: 'read' });
        break;
      }
      if (r.value === EOF) throw new Error('EOF instead of the read error (upstream turned errors into EOF)');
      bytes += r.value.length;
    }
    expect(bytes).toBe(5000);
    const again = await b.read();
    expect(!again.ok && again.error.code).toBe('ECONNRESET');
  });

  test('6. a write error reaches the writer with the OS code, not as a plain closed', async () => {
    const { a, b, x } = connected({ bufferSize: 1000 }, { capacity: 1000 });
    x.faults.writeErrorAfter = { bytes: 3000, errno: EPIPE };
    const reading = receive(b).catch(() => undefined);
    let failure: unknown;
    for (let i = 0; i < 20 && failure === undefined; i++) {
      const r = await a.write(patternBytes(1000, i));
      if (!r.ok) failure = r.error;
    }
    if (failure === undefined) {
      const r = await a.shutdownWrite();
      failure = r.ok ? undefined : r.error;
    }
    expect(failure).toMatchObject({ kind: 'reset', code: 'EPIPE', errno: 32, syscall: 'writev' });
    b.abort();
    await reading;
    a.abort();
  });

  test('a peer whose machine vanished: reads fail with reset and close() returns instead of hanging', async () => {
    const { a, x } = connected();
    x.peer.vanish();
    const r = await a.read();
    expect(!r.ok && r.error.kind).toBe('reset');
    const closed = await a.close();
    expect(closed.ok).toBe(false);
    expect(a.state).toBe('aborted');
  });
});

describe('readExactlyInto (upstream read_into)', () => {
  test('fills the whole buffer across many small chunks', async () => {
    const { a, b } = connected({ messageSize: 7 }, { maxWrite: 3 });
    const data = patternBytes(10_000, 9);
    const writing = a.write(data);
    const buffer = new Uint8Array(10_000);
    const r = await readExactlyInto(b, buffer);
    expect(r.ok && r.value).toEqual({ bytes: 10_000, eof: false });
    expect(Buffer.compare(buffer, data)).toBe(0);
    expect((await writing).ok).toBe(true);
  });

  test('reports EOF with the count of bytes filled, and loses none of them', async () => {
    const { a, b } = connected();
    expect((await a.write(Buffer.from('12345'))).ok).toBe(true);
    expect((await a.shutdownWrite()).ok).toBe(true);
    const buffer = new Uint8Array(8);
    const r = await readExactlyInto(b, buffer);
    expect(r.ok && r.value).toEqual({ bytes: 5, eof: true });
    expect(Buffer.from(buffer.subarray(0, 5)).toString()).toBe('12345');
    const after = await readExactlyInto(b, buffer);
    expect(after.ok && after.value).toEqual({ bytes: 0, eof: true });
  });
});

describe('bounds', () => {
  test('messageSize caps every read and write call on the socket', async () => {
    const { a, b, x, y } = connected({ messageSize: 1500 });
    const writing = send(a, 200_000, 50_000).then(() => a.shutdownWrite());
    await receive(b);
    await writing;
    expect(x.writes.length).toBeGreaterThan(100);
    expect(Math.max(...x.writes, ...y.reads)).toBe(1500);
  });

  test('the reader stops reading the socket at bufferSize, which holds the peer back', async () => {
    const { a, b, x, y } = connected({ bufferSize: 10_000, messageSize: 4096 }, { capacity: 20_000 });
    const writing = a.write(patternBytes(1_000_000, 10));
    let pending = true;
    void writing.then(() => (pending = false));
    // Let the loop run until nothing moves any more.
    for (let i = 0, last = -1; i < 1000 && x.bytesWritten !== last; i++) {
      last = x.bytesWritten;
      for (let j = 0; j < 10; j++) await new Promise((r) => setImmediate(r));
    }
    expect(y.bytesRead).toBe(10_000); // b's flow queue is full...
    expect(y.unread).toBe(20_000); // ...the "kernel" buffer too...
    expect(pending).toBe(true); // ...and a's writer waits, with at most bufferSize queued in a.
    expect(x.bytesWritten).toBe(30_000);
    const finishing = writing.then(() => a.shutdownWrite());
    expect((await receive(b)).bytes).toBe(1_000_000);
    expect((await finishing).ok).toBe(true);
  });

  test('without transfer, the caller may reuse its buffer as soon as the write resolves', async () => {
    const { a, b } = connected({ bufferSize: 100_000 }, { capacity: 10 });
    const buffer = Buffer.alloc(50_000, 1);
    expect((await a.write(buffer)).ok).toBe(true); // queued, mostly not yet sent
    buffer.fill(2);
    expect((await a.shutdownWrite()).ok).toBe(true);
    const all: number[] = [];
    for (;;) {
      const r = await b.read();
      if (!r.ok || r.value === EOF) break;
      for (const v of r.value) all.push(v);
    }
    expect(all.length).toBe(50_000);
    expect(all.every((v) => v === 1)).toBe(true);
  });

  test('bad sizes are programmer errors', () => {
    const [x] = memorySocketPair();
    expect(() => bufferedFlow(x, { capabilities: bufferedSocketCapabilities, messageSize: 0 })).toThrow(RangeError);
    expect(() => bufferedFlow(x, { capabilities: bufferedSocketCapabilities, bufferSize: 1.5 })).toThrow(RangeError);
  });
});

