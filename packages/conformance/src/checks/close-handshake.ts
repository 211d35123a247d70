import { needsHalfCloseWrite, type ConformanceCase } from '../case';
import { expectErr, expectOk } from '../support/results';
import { describeEnd, expectSame, KiB, receive, send } from '../support/transfer';
import { sleep, track, yieldToLoop } from '../support/wait';

export function closeHandshakeCases(maxBytes: number): ConformanceCase[] {
  const base = { check: 'close-handshake' as const };
  return [
    {
      ...base,
      requires: needsHalfCloseWrite,
      title: 'close() does not resolve before the peer closes, and data the peer sends meanwhile is still readable',
      run: async ({ open }) => {
        const { a, b } = await open();
        const receiving = receive(b);
        const forward = await send(a, Math.min(maxBytes, 64 * KiB + 5));
        const closing = track(a.close());
        expect(a.state).toBe('closing');
        expectSame(await receiving, forward, 'eof', 'data written before close()');
        // b has seen our EOF but has not closed: the handshake must still be waiting.
        for (let i = 0; i < 5; i += 1) await yieldToLoop();
        await sleep(20);
        if (closing.settled()) throw new Error('close() resolved before the peer closed');
        const back = Math.min(maxBytes, 512 * KiB + 3);
        const reading = receive(a, { expected: back });
        const reply = await send(b, back);
        expectSame(await reading, reply, 'count', 'data the peer sent while we were closing');
        if (closing.settled()) throw new Error('close() resolved before the peer closed');
        const peerClose = b.close();
        expectOk(await closing.promise, 'a.close()');
        expectOk(await peerClose, 'b.close()');
        expect(a.state).toBe('closed');
        expect(b.state).toBe('closed');
        expect(await a.closed).toBeUndefined();
        expect(await b.closed).toBeUndefined();
      },
    },
    {
      ...base,
      title: 'both ends close at once after exchanging data',
      run: async ({ open }) => {
        const { a, b } = await open();
        const total = Math.min(maxBytes, 32 * KiB + 1);
        const toB = receive(b);
        const toA = receive(a);
        const [sentA, sentB] = await Promise.all([send(a, total), send(b, total)]);
        const [closeA, closeB] = await Promise.all([a.close(), b.close()]);
        expectOk(closeA, 'a.close()');
        expectOk(closeB, 'b.close()');
        expectSame(await toB, sentA, 'eof', 'a→b');
        expectSame(await toA, sentB, 'eof', 'b→a');
        expect([a.state, b.state]).toEqual(['closed', 'closed']);
      },
    },
    {
      ...base,
      title: 'the peer closing first: our close() then completes the handshake',
      run: async ({ open }) => {
        const { a, b } = await open();
        const peerClose = b.close();
        const got = await receive(a);
        expect(describeEnd(got.end)).toBe('eof');
        expectOk(await a.close(), 'a.close() after b closed');
        expectOk(await peerClose, 'b.close()');
        expect([a.state, b.state]).toEqual(['closed', 'closed']);
      },
    },
    {
      ...base,
      title: 'close({ timeoutMs }) against a peer that never closes resolves with a timeout error and aborts',
      run: async ({ open }) => {
        const { a, b } = await open();
        const r = await a.close({ timeoutMs: 100 });
        expectErr(r, 'close({ timeoutMs: 100 })', ['timeout']);
        expect(a.state).toBe('aborted');
        expectErr(await a.write(Buffer.from('x')), 'write after the timed-out close', ['aborted', 'closed', 'timeout']);
        const closedWith = await a.closed;
        expect(closedWith).toBeDefined();
        // The peer learns the flow is gone: its reads end (EOF or reset), they do not hang.
        const peer = await receive(b);
        expect(peer.bytes).toBe(0);
      },
    },
    {
      ...base,
      title: 'close({ signal }) aborted before the peer closes resolves with aborted and aborts the flow',
      run: async ({ open }) => {
        const { a, b } = await open();
        const controller = new AbortController();
        const closing = a.close({ signal: controller.signal });
        await yieldToLoop();
        controller.abort();
        expectErr(await closing, 'close({ signal }) after abort', ['aborted']);
        expect(a.state).toBe('aborted');
        const peer = await receive(b);
        expect(peer.bytes).toBe(0);
      },
    },
  ];
}
