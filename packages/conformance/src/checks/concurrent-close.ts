import type { ConformanceCase } from '../case';
import { expectOk } from '../support/results';
import { track } from '../support/wait';

export function concurrentCloseCases(): ConformanceCase[] {
  const base = { check: 'concurrent-close' as const };
  return [
    {
      ...base,
      title: 'concurrent close() calls return the same promise, which settles once',
      run: async ({ open }) => {
        const { a, b } = await open();
        const first = a.close();
        // The state changes before the first await, so that a re-entrant call sees it.
        expect(a.state).toBe('closing');
        const second = a.close();
        expect(second).toBe(first);
        const tracked = track(first);
        const peer = b.close();
        expect(b.close()).toBe(peer);
        expectOk(await first, 'a.close()');
        expectOk(await peer, 'b.close()');
        expect(tracked.count()).toBe(1);
        expect(a.close()).toBe(first);
        expect(a.close({ timeoutMs: 1 })).toBe(first);
        expect(await a.closed).toBeUndefined();
        expect(a.state).toBe('closed');
      },
    },
    {
      ...base,
      title: 'abort() after close() completed changes nothing; close() again returns the same result',
      run: async ({ open }) => {
        const { a, b } = await open();
        const [ca, cb] = await Promise.all([a.close(), b.close()]);
        expectOk(ca, 'a.close()');
        expectOk(cb, 'b.close()');
        a.abort(new Error('late abort'));
        a.abort();
        expect(a.state).toBe('closed');
        expect(await a.closed).toBeUndefined();
        expectOk(await a.close(), 'close() after close');
      },
    },
  ];
}
