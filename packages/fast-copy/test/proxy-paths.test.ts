// proxy between real sockets on both paths: the engine (accelerator given) and pure TypeScript
// (accelerator null).
import { randomBytes } from 'node:crypto';
import { proxy, type ProxyResult } from '@flow/core';
import { abortAll, drain, flowPair, KINDS, openFds, PATHS, readExactly, sha256, turns, type Kind } from './support/flows';

afterEach(abortAll);

/** client.far <-> [client.near  proxy  server.near] <-> server.far */
async function setup(kind: Kind) {
  const client = await flowPair(kind);
  const server = await flowPair(kind);
  return { client: client.far, a: client.near, b: server.near, server: server.far };
}

function expectPaths(r: ProxyResult, path: string): void {
  expect([r.aToB.path, r.bToA.path]).toEqual([path, path]);
  expect([r.aToB.fallbackReason, r.bToA.fallbackReason]).toEqual([undefined, undefined]);
}

describe.each(PATHS)('proxy, %s path', (path, accelerator) => {
  describe.each(KINDS)('%s', (kind) => {
    test('request/response where the reply comes after the client half-closed: both directions end eof, flows released', async () => {
      const { client, a, b, server } = await setup(kind);
      const request = randomBytes(3 * 1024 * 1024);
      const reply = randomBytes(5 * 1024 * 1024);
      const running = proxy(a, b, { accelerator });
      const sent = (async () => {
        expect((await client.write(request)).ok).toBe(true);
        expect((await client.shutdownWrite()).ok).toBe(true);
      })();
      const got = await drain(server);
      expect(got.end).toBe('eof');
      expect(sha256(got.data)).toBe(sha256(request));
      await sent;
      const reading = drain(client);
      expect((await server.write(reply)).ok).toBe(true);
      expect((await server.shutdownWrite()).ok).toBe(true);
      const back = await reading;
      expect(back.end).toBe('eof');
      expect(sha256(back.data)).toBe(sha256(reply));
      const r = await running;
      expectPaths(r, path);
      expect([r.aToB.outcome, r.bToA.outcome]).toEqual(['eof', 'eof']);
      expect([r.aToB.bytes, r.bToA.bytes]).toEqual([request.length, reply.length]);
      expect([a.state, b.state]).toEqual(['closed', 'closed']);
      expect(a.stats.bytesRead).toBe(request.length);
      expect(b.stats.bytesAccepted).toBe(request.length);
    });

    test('an idle timeout ends both directions with timeout and neither peer sees a clean EOF', async () => {
      const { client, a, b, server } = await setup(kind);
      const r = await proxy(a, b, { accelerator, idleTimeoutMs: 150 });
      expectPaths(r, path);
      expect([r.aToB.outcome, r.bToA.outcome]).toEqual(['timeout', 'timeout']);
      if (kind === 'tcp') {
        expect((await drain(client)).end).toBe('reset');
        expect((await drain(server)).end).toBe('reset');
      }
    });

    test('traffic in one direction keeps the idle timer from firing', async () => {
      const { client, a, b, server } = await setup(kind);
      const running = proxy(a, b, { accelerator, idleTimeoutMs: 300 });
      for (let i = 0; i < 8; i += 1) {
        expect((await client.write(Buffer.from('tick'))).ok).toBe(true);
        expect((await readExactly(server, 4)).toString()).toBe('tick');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((await client.shutdownWrite()).ok).toBe(true);
      expect((await server.shutdownWrite()).ok).toBe(true);
      const r = await running;
      expectPaths(r, path);
      expect([r.aToB.outcome, r.bToA.outcome]).toEqual(['eof', 'eof']);
      expect(r.aToB.bytes).toBe(32);
    });

    test('aborting the signal ends both directions with aborted and aborts both flows', async () => {
      const { a, b } = await setup(kind);
      const controller = new AbortController();
      const running = proxy(a, b, { accelerator, signal: controller.signal });
      await turns(3);
      controller.abort('stop');
      const r = await running;
      expectPaths(r, path);
      expect([r.aToB.outcome, r.bToA.outcome]).toEqual(['aborted', 'aborted']);
      expect([a.state, b.state]).toEqual(['aborted', 'aborted']);
    });

    if (kind === 'tcp') {
      // (A Unix-domain socket has no reset: its abort is a close, which the peer reads as EOF.)
    test('a server that resets mid-reply makes the client see an error, never a clean EOF', async () => {
        const { client, a, b, server } = await setup(kind);
        const running = proxy(a, b, { accelerator });
        expect((await server.write(Buffer.from('partial'))).ok).toBe(true);
        expect((await readExactly(client, 7)).toString()).toBe('partial');
        server.abort('dies');
        const r = await running;
        expectPaths(r, path);
        expect(r.bToA.outcome).toBe('error');
        expect((await drain(client)).end).not.toBe('eof');
        expect([a.state, b.state]).toEqual(['aborted', 'aborted']);
      });

      test('a client that writes 64 MiB to a server that does not read, then resets: the proxy ends and the server sees a reset', async () => {
        const { client, a, b, server } = await setup(kind);
        const running = proxy(a, b, { accelerator });
        void client.write(randomBytes(64 * 1024 * 1024));
        await new Promise((resolve) => setTimeout(resolve, 300));
        client.abort('reset');
        const r = await running;
        expectPaths(r, path);
        expect(r.aToB.outcome).toBe('error');
        expect(r.aToB.error?.kind).toBe('reset');
        expect((await drain(server)).end).toBe('reset');
      });
    }

    test('100 connections at once, hash-checked both ways, leave no descriptor or pipe behind', async () => {
      const warm = await setup(kind);
      const warming = proxy(warm.a, warm.b, { accelerator });
      warm.client.abort();
      warm.server.abort();
      await warming;
      abortAll();
      await turns(10);
      const before = openFds();
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const { client, a, b, server } = await setup(kind);
          const up = randomBytes(64 * 1024 + Math.floor(Math.random() * 64 * 1024));
          const down = randomBytes(32 * 1024);
          const running = proxy(a, b, { accelerator });
          const atServer = drain(server);
          const atClient = drain(client);
          expect((await client.write(up)).ok).toBe(true);
          expect((await client.shutdownWrite()).ok).toBe(true);
          expect((await server.write(down)).ok).toBe(true);
          expect((await server.shutdownWrite()).ok).toBe(true);
          const [s, c, r] = await Promise.all([atServer, atClient, running]);
          expectPaths(r, path);
          expect(sha256(s.data)).toBe(sha256(up));
          expect(sha256(c.data)).toBe(sha256(down));
          expect((await client.close({ timeoutMs: 2000 })).ok).toBe(true);
          expect((await server.close({ timeoutMs: 2000 })).ok).toBe(true);
        }),
      );
      abortAll();
      await turns(10);
      expect(openFds()).toBe(before);
    });
  });
});
