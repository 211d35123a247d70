// stop(), the signal, a slow receiver, and the sockets afterwards: nothing read is lost, the
// engine holds at most its buffer, and Node can use the sockets again.
import { collect, connection, destroyAll, digestUntilEnd, nextLoopTurn, openDescriptors, sendRandom, sha256 } from './support/sockets';
import { giveBack, lend, pipeThrough, start } from './support/copy';
import type { CopyMode, FastCopyResult } from '../src/start-copy';

afterEach(destroyAll);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('stop() on an idle copy: outcome stopped at once, onDone and done get the same result once, a second stop() is undefined', async () => {
  const a = await connection('unix');
  const b = await connection('unix');
  const seen: FastCopyResult[] = [];
  const copy = start(lend(a.near), lend(b.near), {}, (r) => seen.push(r));
  const result = copy.stop();
  expect(result).toMatchObject({ outcome: 'stopped', bytes: 0, reads: 0, writes: 0, unwritten: Buffer.alloc(0) });
  expect(seen).toEqual([]); // never re-entrant
  expect(await copy.done).toBe(result);
  expect(seen).toEqual([result]);
  expect(copy.stop()).toBeUndefined();
  await nextLoopTurn();
  expect(seen).toHaveLength(1);
});

test('an aborted signal stops the copy', async () => {
  const a = await connection('unix');
  const b = await connection('unix');
  const controller = new AbortController();
  const copy = start(lend(a.near), lend(b.near), { signal: controller.signal });
  controller.abort();
  expect(await copy.done).toMatchObject({ outcome: 'stopped' });
  const already = start(lend(a.near), lend(b.near), { signal: AbortSignal.abort() });
  expect(await already.done).toMatchObject({ outcome: 'stopped', bytes: 0 });
});

/** Waits until `probe()` gives the same value twice, 100 ms apart: the pipeline has stalled. */
async function untilSteady(probe: () => number): Promise<void> {
  for (let last = -1; ; ) {
    await sleep(100);
    const now = probe();
    if (now === last) return;
    last = now;
  }
}

describe.each<CopyMode>(['readwrite', 'splice'])('%s mode', (mode) => {
  test('a slow receiver: the engine holds at most its buffer, stop() hands back the unwritten bytes, and nothing is lost', async () => {
    const bufferSize = 64 * 1024;
    const total = 32 * 1024 * 1024;
    const a = await connection('tcp');
    const b = await connection('tcp');
    // B does not read: the kernel buffers between b and B fill, then the engine must stop reading.
    b.far.pause();
    const fromFd = lend(a.near);
    const toFd = lend(b.near);
    const first = start(fromFd, toFd, { mode, bufferSize });
    const sent = sendRandom(a.far, total);
    await untilSteady(() => a.far.writableLength);
    const stopped = first.stop();
    if (!stopped) throw new Error('the copy ended by itself although B never read');
    expect(stopped.outcome).toBe('stopped');
    // At most one buffer in flight: the engine never read ahead of its destination. Stalled, it
    // holds some (it stops watching the source only while bytes wait), and stop() returns them.
    expect(stopped.unwritten.length).toBeLessThanOrEqual(bufferSize);
    expect(stopped.unwritten.length).toBeGreaterThan(0);
    expect(stopped.bytes).toBeLessThan(total);
    expect(a.far.writableLength).toBeGreaterThan(0); // the sender was pushed back

    // The rest goes through Node: the unwritten bytes first, then a second copy.
    const atB = digestUntilEnd(b.far);
    b.far.resume();
    giveBack(b.near);
    b.near.write(stopped.unwritten);
    await new Promise((resolve) => b.near.write(Buffer.alloc(0), resolve)); // flushed to the kernel
    const second = await pipeThrough(a.near, b.near, { mode, bufferSize });
    expect(second.outcome).toBe('eof');
    expect(stopped.bytes + stopped.unwritten.length + second.bytes).toBe(total);
    expect(await atB).toEqual({ sha256: await sent, bytes: total });
  });
});

test('after a stop, both sockets work through Node again: reads after resume(), writes, and the half-close', async () => {
  const a = await connection('tcp');
  const b = await connection('tcp');
  const atB = collect(b.far);
  const copy = start(lend(a.near), lend(b.near));
  a.far.write('through the engine;');
  // Wait for the bytes to cross, then stop.
  await new Promise((resolve) => b.far.once('data', resolve));
  expect(copy.stop()).toMatchObject({ outcome: 'stopped', bytes: 19, unwritten: Buffer.alloc(0) });

  giveBack(a.near);
  giveBack(b.near);
  const atNear = collect(a.near);
  a.near.resume();
  a.far.end('then through Node');
  expect((await atNear).toString()).toBe('then through Node');
  b.near.end(' and written by Node');
  expect((await atB).toString()).toBe('through the engine; and written by Node');
  a.near.end('reply');
  expect((await collect(a.far)).toString()).toBe('reply');
});

test('no descriptor is leaked: stop() closes the engine\'s duplicates and pipes at once, the lent descriptors stay open', async () => {
  const connections = await Promise.all(Array.from({ length: 8 }, () => connection('unix')));
  await nextLoopTurn();
  const before = openDescriptors();
  for (let round = 0; round < 3; round++) {
    const copies = [];
    for (let i = 0; i < connections.length; i += 2) {
      const [a, b] = [connections[i], connections[i + 1]];
      copies.push(start(lend(a.near), lend(b.near), { mode: i % 4 ? 'splice' : 'readwrite' }));
      copies.push(start(lend(b.near), lend(a.near), { mode: i % 4 ? 'readwrite' : 'splice' }));
    }
    // Two duplicates per copy, and a pipe in splice mode.
    expect(openDescriptors()).toBe(before + copies.length * 2 + (copies.length / 2) * 2);
    // stop() closes the engine's descriptors at once: no duplicate outlives the copy.
    for (const copy of copies) copy.stop();
    expect(openDescriptors()).toBe(before);
    await nextLoopTurn();
    expect(openDescriptors()).toBe(before);
  }
  // The lent descriptors are still the sockets: a last round trip through Node.
  const [a] = connections;
  const echoed = collect(a.far);
  a.near.end(Buffer.from(sha256(Buffer.from('ok'))));
  expect((await echoed).toString()).toBe(sha256(Buffer.from('ok')));
});
