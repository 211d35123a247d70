import { type Flow, FlowError, pair } from '@flow/core';
import { connect9p, readOnlyFile, serve9p, staticDir, Vfs } from '../src';

function tree(): Vfs {
  return new Vfs(staticDir({ 'hello.txt': readOnlyFile('hello') }));
}

test('await using a client ends the session cleanly: the server sees the end of stream, later requests fail as closed', async () => {
  const [a, b] = pair();
  const served = serve9p(b, tree());
  const c = await connect9p(a);
  expect(c.ok).toBe(true);
  if (!c.ok) return;
  const client = c.value;
  {
    await using scoped = client;
    const r = await scoped.readFile('hello.txt');
    expect(r.ok && Buffer.from(r.value).toString()).toBe('hello');
  }
  const summary = await served;
  expect(summary.outcome).toBe('eof');
  const after = await client.stat('hello.txt');
  expect(after.ok).toBe(false);
  if (!after.ok) expect(after.error.kind).toBe('closed');
});

test('await using a client whose flow never finishes closing aborts the flow instead of waiting forever', async () => {
  const [a, b] = pair();
  const served = serve9p(b, tree());
  // A flow from outside the library whose close handshake never completes.
  const stuck = new Proxy(a, {
    get(target, key) {
      if (key === 'close') return () => new Promise<never>(() => undefined);
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  }) as Flow;
  const c = await connect9p(stuck);
  expect(c.ok).toBe(true);
  if (!c.ok) return;
  {
    await using scoped = c.value;
    expect((await scoped.stat('hello.txt')).ok).toBe(true);
  }
  expect(a.state).toBe('aborted');
  const summary = await served;
  expect(summary.outcome).not.toBe('eof');
});

test('disposing a client that already failed does not throw', async () => {
  const [a, b] = pair();
  const served = serve9p(b, tree());
  const c = await connect9p(a);
  expect(c.ok).toBe(true);
  if (!c.ok) return;
  b.abort(new FlowError('reset', 'peer went away'));
  await served;
  await expect(c.value[Symbol.asyncDispose]()).resolves.toBeUndefined();
  expect(['aborted', 'closed']).toContain(a.state);
});
