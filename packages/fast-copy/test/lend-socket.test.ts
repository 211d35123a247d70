// Lending a net.Socket's descriptor: what Node had read already comes back, and a socket that
// cannot be lent is refused with the reason and left as it was.
import { collect, connection, destroyAll } from './support/sockets';
import { lendSocket } from '../src/lend-socket';
import { startCopy } from '../src/start-copy';

afterEach(destroyAll);

test('bytes Node had read before the loan come back in `buffered`, the engine gets the rest', async () => {
  const a = await connection('tcp');
  const b = await connection('tcp');
  // Let Node read the first bytes into the socket's buffer.
  a.near.resume();
  a.far.write('already read by Node;');
  await new Promise((resolve) => a.near.once('readable', resolve));
  a.near.pause();
  const from = lendSocket(a.near);
  const to = lendSocket(b.near);
  if (!from.ok || !to.ok) throw new Error('lending failed');
  expect(Buffer.concat(from.value.buffered).toString()).toBe('already read by Node;');
  const atB = collect(b.far);
  b.near.write(Buffer.concat(from.value.buffered));
  await new Promise((resolve) => b.near.write(Buffer.alloc(0), resolve));
  const copy = startCopy(from.value.fd, to.value.fd);
  if (!copy.ok) throw copy.error;
  a.far.end(' then read by the engine');
  expect(await copy.value.done).toMatchObject({ outcome: 'eof', bytes: 24 });
  b.near.end();
  expect((await atB).toString()).toBe('already read by Node; then read by the engine');
});

test('a socket with writes queued in Node is refused (in-use) and keeps working', async () => {
  const c = await connection('tcp');
  c.far.pause();
  // More than the kernel takes at once: some stays queued in Node.
  c.near.write(Buffer.alloc(64 * 1024 * 1024));
  expect(c.near.writableLength).toBeGreaterThan(0);
  const lent = lendSocket(c.near);
  expect(!lent.ok && lent.error.kind).toBe('in-use');
  c.near.end();
  c.far.resume();
  expect((await collect(c.far)).length).toBe(64 * 1024 * 1024);
});

test('a destroyed socket is refused (closed)', async () => {
  const c = await connection('unix');
  c.near.destroy();
  const lent = lendSocket(c.near);
  expect(!lent.ok && lent.error.kind).toBe('closed');
});

test('giveBack() is idempotent', async () => {
  const c = await connection('unix');
  const lent = lendSocket(c.near);
  if (!lent.ok) throw lent.error;
  lent.value.giveBack();
  lent.value.giveBack();
  const received = collect(c.near);
  c.near.resume();
  c.far.end('after the loan');
  expect((await received).toString()).toBe('after the loan');
});
