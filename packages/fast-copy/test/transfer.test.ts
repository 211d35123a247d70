// Hash-checked transfers through the engine between real sockets, both directions at once, as
// a proxy runs them: A <-> a | engine | b <-> B.
import { collect, connection, destroyAll, digestUntilEnd, sendRandom, type SocketKind } from './support/sockets';
import { lend, pipeThrough, start } from './support/copy';
import type { CopyMode } from '../src/start-copy';

afterEach(destroyAll);

const MiB = 1024 * 1024;

describe.each<[SocketKind, CopyMode, number]>([
  ['tcp', 'readwrite', 64 * MiB],
  ['tcp', 'splice', 64 * MiB],
  ['unix', 'readwrite', 16 * MiB],
  ['unix', 'splice', 16 * MiB],
])('%s sockets, %s mode', (kind, mode, size) => {
  test(`${size / MiB} MiB each way at once arrive intact, with exact byte counts, and EOF becomes a half-close`, async () => {
    const a = await connection(kind);
    const b = await connection(kind);
    const atB = digestUntilEnd(b.far);
    const atA = digestUntilEnd(a.far);
    const forward = pipeThrough(a.near, b.near, { mode });
    const backward = pipeThrough(b.near, a.near, { mode });
    const [sentByA, sentByB] = await Promise.all([sendRandom(a.far, size), sendRandom(b.far, size)]);
    const [there, back] = await Promise.all([forward, backward]);
    for (const result of [there, back]) {
      expect(result).toMatchObject({ outcome: 'eof', bytes: size, unwritten: Buffer.alloc(0) });
      expect(result.error).toBeUndefined();
      // Every read is written out whole, in one write or more.
      expect(result.reads).toBeGreaterThan(0);
      expect(result.writes).toBeGreaterThanOrEqual(result.reads);
    }
    expect(await atB).toEqual({ sha256: sentByA, bytes: size });
    expect(await atA).toEqual({ sha256: sentByB, bytes: size });
  });
});

test('bufferSize bounds every read', async () => {
  const a = await connection('unix');
  const b = await connection('unix');
  const atB = collect(b.far);
  const copy = pipeThrough(a.near, b.near, { bufferSize: 4096 });
  a.far.end(Buffer.alloc(100_000, 1));
  const result = await copy;
  expect(result.outcome).toBe('eof');
  // No read can take more than the buffer: 100 000 bytes need at least 25 reads of 4 KiB.
  expect(result.reads).toBeGreaterThanOrEqual(Math.ceil(100_000 / 4096));
  expect(await atB).toEqual(Buffer.alloc(100_000, 1));
});

test('many concurrent copies on one loop each deliver their own bytes', async () => {
  const count = 40;
  const size = 1 * MiB;
  const runs = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const a = await connection(i % 2 ? 'tcp' : 'unix');
      const b = await connection(i % 2 ? 'unix' : 'tcp');
      const atB = digestUntilEnd(b.far);
      const copy = pipeThrough(a.near, b.near, { mode: i % 4 < 2 ? 'readwrite' : 'splice' });
      const sent = await sendRandom(a.far, size);
      return { sent, result: await copy, received: await atB };
    }),
  );
  for (const { sent, result, received } of runs) {
    expect(result).toMatchObject({ outcome: 'eof', bytes: size });
    expect(received).toEqual({ sha256: sent, bytes: size });
  }
});

test('a copy of a socket onto itself (an echo) ends at the EOF with everything echoed', async () => {
  const c = await connection('tcp');
  const fd = lend(c.near);
  const echoed = collect(c.far);
  const copy = start(fd, fd);
  c.far.end(Buffer.from('echo me'));
  expect(await copy.done).toMatchObject({ outcome: 'eof', bytes: 7 });
  c.near.end();
  expect((await echoed).toString()).toBe('echo me');
});
