// Our addon to itself over CID 1 inside user-mode Linux: connect and accept, addresses, the
// local CID, half-close and reply, errors of a real kernel, many connections at once.
import { EOF, type Flow } from '@flow/core';
import { connectVsock } from '../../src/vsock/connect';
import { loadVsockBinding } from '../../src/native/load';
import { ANY, listener, LOCAL } from './support';

async function readAll(flow: Flow): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) return Buffer.concat(parts);
    parts.push(r.value);
  }
}

test('the local CID of a guest with the loopback transport is 1 (read from /dev/vsock)', () => {
  const b = loadVsockBinding();
  if (!b.ok) throw b.error;
  expect(b.value.localCid()).toBe(LOCAL);
});

test('connect and accept over CID 1, with the addresses of both ends', async () => {
  const l = await listener();
  expect(l.address.port).not.toBe(ANY);
  const [c, s] = await Promise.all([connectVsock({ kind: 'vsock', cid: LOCAL, port: l.address.port }), l.accept()]);
  if (!c.ok) throw c.error;
  if (!s.ok) throw s.error;
  expect(c.value.remote).toEqual({ kind: 'vsock', cid: LOCAL, port: l.address.port });
  expect(s.value.remote.kind).toBe('vsock');
  expect(s.value.label).toContain(`:${l.address.port}`);
  await Promise.all([c.value.close(), s.value.close()]);
  await l.close();
});

test('half-close and reply: the server reads to EOF, then answers, then both close', async () => {
  const l = await listener();
  const serving = (async () => {
    const s = await l.accept();
    if (!s.ok) throw s.error;
    const request = await readAll(s.value);
    expect((await s.value.write(Buffer.from(`got ${request.length} bytes`))).ok).toBe(true);
    expect((await s.value.close()).ok).toBe(true);
  })();
  const c = await connectVsock({ kind: 'vsock', cid: LOCAL, port: l.address.port });
  if (!c.ok) throw c.error;
  expect((await c.value.write(Buffer.alloc(100_000, 7))).ok).toBe(true);
  expect((await c.value.shutdownWrite()).ok).toBe(true);
  expect((await readAll(c.value)).toString()).toBe('got 100000 bytes');
  expect((await c.value.close()).ok).toBe(true);
  await serving;
  await l.close();
});

test('connect to a port nobody listens on gives a typed refused error with the OS code', async () => {
  const l = await listener();
  const port = l.address.port;
  await l.close();
  // The first attempt or two after boot can give EPROTO instead of the reset.
  let r = await connectVsock({ kind: 'vsock', cid: LOCAL, port });
  for (let i = 0; i < 3 && !r.ok && r.error.code === 'EPROTO'; i++) r = await connectVsock({ kind: 'vsock', cid: LOCAL, port });
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error).toMatchObject({ kind: 'refused', code: 'ECONNRESET', errno: 104, syscall: 'connect' });
  expect(r.error.message).toContain(`vsock://local:${port}`);
});

test('connecting to CID any, or to port any, is refused before any system call', async () => {
  const r1 = await connectVsock({ kind: 'vsock', cid: ANY, port: 5000 });
  const r2 = await connectVsock({ kind: 'vsock', cid: LOCAL, port: ANY });
  expect(!r1.ok && r1.error.kind).toBe('invalid');
  expect(!r2.ok && r2.error.kind).toBe('invalid');
});

test('an aborted signal abandons the attempt', async () => {
  const r = await connectVsock({ kind: 'vsock', cid: LOCAL, port: 1234 }, { signal: AbortSignal.abort() });
  expect(!r.ok && r.error.kind).toBe('aborted');
});

test('a second listener on the same port gets in-use', async () => {
  const l = await listener();
  const { listenVsock } = await import('../../src/vsock/listen');
  const r = await listenVsock({ kind: 'vsock', cid: ANY, port: l.address.port });
  expect(!r.ok && r.error).toMatchObject({ kind: 'in-use', code: 'EADDRINUSE' });
  await l.close();
});

test('100 concurrent connections each echo their own bytes', async () => {
  const l = await listener({ backlog: 128 });
  const serving = (async () => {
    const handlers: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      const s = await l.accept();
      if (!s.ok) throw s.error;
      const flow = s.value;
      handlers.push(
        (async () => {
          const data = await readAll(flow);
          expect((await flow.write(data)).ok).toBe(true);
          expect((await flow.close()).ok).toBe(true);
        })(),
      );
    }
    await Promise.all(handlers);
  })();
  const clients = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const c = await connectVsock({ kind: 'vsock', cid: LOCAL, port: l.address.port }, { timeoutMs: 20_000 });
      if (!c.ok) throw c.error;
      const message = Buffer.alloc(1000 + i, i);
      expect((await c.value.write(message)).ok).toBe(true);
      expect((await c.value.shutdownWrite()).ok).toBe(true);
      const back = await readAll(c.value);
      expect((await c.value.close()).ok).toBe(true);
      return Buffer.compare(back, message) === 0;
    }),
  );
  expect(clients.every(Boolean)).toBe(true);
  await serving;
  expect(l.connections).toBe(0);
  await l.close();
});

test('closing a listener ends pending accepts with closed, and aborts flows never accepted', async () => {
  const l = await listener();
  const c = await connectVsock({ kind: 'vsock', cid: LOCAL, port: l.address.port });
  if (!c.ok) throw c.error;
  // Let the connection land in the accept queue.
  while (l.connections === 0) await new Promise((r) => setTimeout(r, 5));
  await l.close();
  const pending = await l.accept();
  expect(!pending.ok && pending.error.kind).toBe('closed');
  // The queued flow was aborted: the client sees the end.
  const r = await c.value.read();
  expect(r.ok ? r.value === EOF : r.error.kind === 'reset').toBe(true);
  c.value.abort();
});

test('abort while a read is pending settles the read, and the peer sees the end', async () => {
  const l = await listener();
  const [c, s] = await Promise.all([connectVsock({ kind: 'vsock', cid: LOCAL, port: l.address.port }), l.accept()]);
  if (!c.ok || !s.ok) throw new Error('connect failed');
  const reading = c.value.read();
  c.value.abort();
  const r = await reading;
  expect(!r.ok && r.error.kind).toBe('aborted');
  const peer = await s.value.read();
  expect(peer.ok ? peer.value === EOF : peer.error.kind === 'reset').toBe(true);
  s.value.abort();
  await l.close();
});

test('close() against a peer that never closes gives up after closeTimeoutMs instead of hanging', async () => {
  const l = await listener();
  const [c, s] = await Promise.all([connectVsock({ kind: 'vsock', cid: LOCAL, port: l.address.port }, { closeTimeoutMs: 300 }), l.accept()]);
  if (!c.ok || !s.ok) throw new Error('connect failed');
  const r = await c.value.close();
  expect(!r.ok && r.error.kind).toBe('timeout');
  s.value.abort();
  await l.close();
});
