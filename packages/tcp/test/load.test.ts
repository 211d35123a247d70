import { execSync } from 'node:child_process';
import { copy, serve } from '@flow/core';
import { connect, listen } from '../src';
import { expectOk, freePort, hashAll, openFds, writeRandom } from './support';

// 500 connections need about 1000 fds in this process (both ends live here); `ulimit -n` was
// 20000 where this was written. Fewer connections would not prove the point, so say so.
const CONCURRENT = 500;
const fdLimit = Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim());

test(`${CONCURRENT} concurrent connections through an echoing listener, 1 MiB each, every byte hash-checked`, async () => {
  expect(fdLimit === Infinity || Number.isNaN(fdLimit) || fdLimit > 2 * CONCURRENT + 100).toBe(true);
  const listener = expectOk(await listen('tcp://127.0.0.1:0', { backlog: 1024 }));
  const port = listener.address.port;
  const server = serve(listener, (flow) => copy(flow, flow), { concurrency: CONCURRENT + 10 });
  try {
    const results = await Promise.all(
      Array.from({ length: CONCURRENT }, async () => {
        const flow = expectOk(await connect({ host: '127.0.0.1', port }));
        const [sent, received] = await Promise.all([
          (async () => {
            const h = await writeRandom(flow, 1024 * 1024, 64 * 1024);
            expectOk(await flow.shutdownWrite());
            return h;
          })(),
          hashAll(flow),
        ]);
        expectOk(await flow.close());
        return { ok: received.hash === sent && received.bytes === 1024 * 1024 };
      }),
    );
    expect(results.filter((r) => r.ok).length).toBe(CONCURRENT);
  } finally {
    await listener.close();
    const summary = await server.done;
    expect(summary.accepted).toBe(CONCURRENT);
    expect(summary.failed).toBe(0);
    await listener.closeAll();
  }
}, 90000);

test('1000 connect/close cycles leave no file descriptor behind', async () => {
  const listener = expectOk(await listen('tcp://127.0.0.1:0'));
  const port = listener.address.port;
  const server = serve(listener, () => undefined, { concurrency: 64 });
  const cycle = async (): Promise<void> => {
    const flow = expectOk(await connect({ host: '127.0.0.1', port }));
    expectOk(await flow.close());
  };
  try {
    // Warm up: the runtime opens some fds lazily (DNS, timers, the first socket of a family).
    for (let i = 0; i < 20; i++) await cycle();
    const before = openFds();
    for (let i = 0; i < 1000; i++) await cycle();
    // Let the server's last closes run; they finish within a few turns of the event loop.
    while (listener.connections > 0) await new Promise((r) => setImmediate(r));
    const after = openFds();
    expect(after - before).toBeLessThanOrEqual(2);
  } finally {
    await listener.close();
    await server.done;
  }
}, 90000);

test('200 refused connection attempts leave no file descriptor behind', async () => {
  const port = await freePort();
  for (let i = 0; i < 5; i++) await connect({ host: '127.0.0.1', port });
  const before = openFds();
  for (let i = 0; i < 200; i++) {
    const r = await connect({ host: '127.0.0.1', port });
    expect(r.ok ? 'connected' : r.error.kind).toBe('refused');
  }
  // A failed socket's fd is closed when its handle closes, a turn of the event loop later.
  await new Promise((r) => setImmediate(r));
  expect(openFds() - before).toBeLessThanOrEqual(2);
});
