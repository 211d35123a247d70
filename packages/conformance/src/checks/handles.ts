import type { CaseEnv, ConformanceCase } from '../case';
import type { FlowPair } from '../options';
import { countHandles, waitForHandlesReleased } from '../support/handles';
import { expectOk } from '../support/results';
import { receive } from '../support/transfer';

async function exchange(p: FlowPair): Promise<void> {
  expectOk(await p.a.write(Buffer.from('ping')), 'a.write');
  expect((await receive(p.b, { expected: 4 })).bytes).toBe(4);
  expectOk(await p.b.write(Buffer.from('pong')), 'b.write');
  expect((await receive(p.a, { expected: 4 })).bytes).toBe(4);
}

/** Opens a pair, runs `finish` on it, then requires every new handle to be gone. */
async function leavesNothingOpen(env: CaseEnv, finish: (p: FlowPair) => Promise<void>): Promise<void> {
  const baseline = countHandles();
  const p = await env.open();
  await exchange(p);
  await finish(p);
  await Promise.all([p.a.closed, p.b.closed]);
  await env.release(p);
  const left = await waitForHandlesReleased(baseline);
  expect(left).toEqual([]);
}

export function handlesCases(): ConformanceCase[] {
  const base = { check: 'handles' as const };
  return [
    {
      ...base,
      title: 'no socket or pipe is left open after both ends close',
      run: (env) =>
        leavesNothingOpen(env, async ({ a, b }) => {
          const [ca, cb] = await Promise.all([a.close(), b.close()]);
          expectOk(ca, 'a.close()');
          expectOk(cb, 'b.close()');
        }),
    },
    {
      ...base,
      title: 'no socket or pipe is left open after both ends abort',
      run: (env) =>
        leavesNothingOpen(env, async ({ a, b }) => {
          a.abort();
          b.abort();
        }),
    },
    {
      ...base,
      title: 'no socket or pipe is left open after one end aborts and the other closes',
      run: (env) =>
        leavesNothingOpen(env, async ({ a, b }) => {
          a.abort();
          await b.close({ timeoutMs: 10000 });
        }),
    },
  ];
}
