import type { Flow, FlowCapabilities, WriteResult } from '@flow/core';
import type { ConformanceCase } from '../case';
import { expectErr } from '../support/results';
import { describeEnd, MiB, receive } from '../support/transfer';
import { sleep } from '../support/wait';

/**
 * The peer of an aborted flow: drains what arrived, then must see reset or EOF as declared.
 * `resetMayLookLikeEof`: the peer still had unread bytes queued when the reset arrived. Node's
 * event loop (libuv) reports a hang-up after a partial read as end of stream without ever reading
 * the pending ECONNRESET, so over kernel TCP such a peer cannot tell a reset from a FIN.
 */
async function expectPeerSeesAbort(peer: Flow, capabilities: FlowCapabilities, resetMayLookLikeEof = false): Promise<void> {
  const got = await receive(peer);
  const end = got.end;
  if (capabilities.abort === 'rst' && !(resetMayLookLikeEof && end === 'eof')) {
    if (typeof end === 'string' || end.kind !== 'reset') {
      throw new Error(`capabilities.abort is 'rst' but the peer's reads ended with ${describeEnd(end)}`);
    }
    // After an error, every later read returns the same again.
    expectErr(await peer.read(), 'peer read after the reset', ['reset']);
  } else if (end !== 'eof') {
    throw new Error(`capabilities.abort is 'close' but the peer's reads ended with ${describeEnd(end)}`);
  }
}

async function expectEverythingFails(flow: Flow): Promise<void> {
  expect(flow.state).toBe('aborted');
  expectErr(await flow.write(Buffer.from('x')), 'write after abort', ['aborted']);
  expectErr(await flow.writev([Buffer.from('x')]), 'writev after abort', ['aborted']);
  expectErr(await flow.read(), 'read after abort', ['aborted']);
  expectErr(await flow.read(), 'second read after abort', ['aborted']);
  expectErr(await flow.readInto(new Uint8Array(4)), 'readInto after abort', ['aborted']);
  expectErr(await flow.shutdownWrite(), 'shutdownWrite after abort', ['aborted']);
  expectErr(await flow.close(), 'close after abort', ['aborted']);
  const closedWith = await flow.closed;
  expect(closedWith?.kind).toBe('aborted');
}

export function abortCases(maxBytes: number): ConformanceCase[] {
  const base = { check: 'abort' as const };
  return [
    {
      ...base,
      title: 'abort with writes pending settles every one (the unaccepted with aborted), later operations fail, the peer sees it as declared',
      run: async (env) => {
        const { a, b } = await env.open();
        const capabilities = env.capabilities;
        // More than the transport can buffer while b does not read, so that writes are pending.
        // Twice maxBytes, from one shared buffer, so that this costs no memory.
        const piece = Math.max(1, Math.min(MiB, Math.floor(maxBytes / 4)));
        const count = Math.max(8, Math.ceil((2 * maxBytes) / piece));
        const buffer = Buffer.alloc(piece, 0xab);
        const writes: Promise<WriteResult>[] = [];
        for (let i = 0; i < count; i += 1) writes.push(a.write(buffer));
        await sleep(50);
        a.abort(new Error('test abort'));
        const results = await Promise.all(writes);
        const failed = results.filter((r) => !r.ok);
        expect(failed.length).toBeGreaterThan(0);
        let accepted = 0;
        for (const r of results) {
          if (r.ok) accepted += piece;
          else {
            expect(r.error.kind).toBe('aborted');
            accepted += r.error.bytesAccepted ?? 0;
          }
        }
        expect(accepted).toBeLessThan(piece * count);
        expect(a.stats.bytesAccepted).toBe(accepted);
        await expectEverythingFails(a);
        await expectPeerSeesAbort(b, capabilities, true);
      },
    },
    {
      ...base,
      title: 'abort settles a pending read with aborted, and the peer sees it as declared',
      run: async (env) => {
        const { a, b } = await env.open();
        const capabilities = env.capabilities;
        const reading = a.read();
        await sleep(5);
        a.abort();
        expectErr(await reading, 'read pending during abort', ['aborted']);
        await expectEverythingFails(a);
        await expectPeerSeesAbort(b, capabilities);
      },
    },
    {
      ...base,
      title: 'abort is safe to call repeatedly and the peer can still release its end',
      run: async ({ open }) => {
        const { a, b } = await open();
        a.abort();
        expect(() => a.abort(new Error('again'))).not.toThrow();
        expect(a.state).toBe('aborted');
        const r = await b.close();
        // Whether the peer's close succeeds (EOF) or fails (reset), it settles and releases.
        if (!r.ok) expect(['reset', 'closed', 'aborted']).toContain(r.error.kind);
        expect(['closed', 'aborted']).toContain(b.state);
        await b.closed;
      },
    },
  ];
}
