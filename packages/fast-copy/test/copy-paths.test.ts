// copy between real sockets on both paths: the engine (accelerator given) and pure TypeScript
// (accelerator null). The same contract holds on both, and after the copy ends, however it
// ends, both flows are usable again (or closed as they should be).
import { randomBytes } from 'node:crypto';
import { copy, type CopyResult } from '@flow/core';
import { abortAll, drain, flowPair, KINDS, openFds, PATHS, readExactly, sha256, turns } from './support/flows';

afterEach(abortAll);

function expectPath(r: CopyResult, path: string): void {
  expect(r.fallbackReason).toBeUndefined();
  expect(r.path).toBe(path);
}

describe.each(PATHS)('copy, %s path', (path, accelerator) => {
  describe.each(KINDS)('%s', (kind) => {
    test('carries every byte (hash-checked), bytes read ahead first, counts exactly, and passes EOF on as a half-close', async () => {
      const from = await flowPair(kind);
      const to = await flowPair(kind);
      const data = randomBytes(8 * 1024 * 1024 + 17);
      // Sent before the copy starts: the source flow reads it ahead into its buffer.
      expect((await from.far.write(data.subarray(0, 1000))).ok).toBe(true);
      await turns(5);
      const sending = (async () => {
        expect((await from.far.write(data.subarray(1000))).ok).toBe(true);
        expect((await from.far.shutdownWrite()).ok).toBe(true);
      })();
      const received = drain(to.far);
      const r = await copy(from.near, to.near, { accelerator });
      await sending;
      expectPath(r, path);
      expect(r.outcome).toBe('eof');
      expect(r.bytes).toBe(data.length);
      expect(r.ops).toBeGreaterThan(0);
      const got = await received;
      expect(got.end).toBe('eof');
      expect(sha256(got.data)).toBe(sha256(data));
      expect(from.near.stats.bytesRead).toBe(data.length);
      expect(to.near.stats.bytesAccepted).toBe(data.length);
      // Handed back: the source reads its EOF, the destination is shut for writing and still reads.
      expect(await drain(from.near)).toEqual({ data: Buffer.alloc(0), end: 'eof' });
      expect(to.near.writeState).toBe('shut');
      expect((await to.far.write(Buffer.from('back'))).ok).toBe(true);
      expect((await readExactly(to.near, 4)).toString()).toBe('back');
      // and the source still writes.
      expect((await from.near.write(Buffer.from('more'))).ok).toBe(true);
      expect((await readExactly(from.far, 4)).toString()).toBe('more');
    });

    test('with propagateEof false the destination stays open for writing', async () => {
      const from = await flowPair(kind);
      const to = await flowPair(kind);
      expect((await from.far.write(Buffer.from('abc'))).ok).toBe(true);
      expect((await from.far.shutdownWrite()).ok).toBe(true);
      const r = await copy(from.near, to.near, { accelerator, propagateEof: false });
      expectPath(r, path);
      expect(r.outcome).toBe('eof');
      expect((await to.near.write(Buffer.from('def'))).ok).toBe(true);
      expect((await readExactly(to.far, 6)).toString()).toBe('abcdef');
    });

    test('an abort signal stops at once; every byte is at the destination, in unwritten, or still readable from the source', async () => {
      const from = await flowPair(kind);
      const to = await flowPair(kind);
      // More than the kernel's socket buffers hold: the copy is still running when it is stopped.
      const data = randomBytes(32 * 1024 * 1024);
      const sending = (async () => {
        expect((await from.far.write(data)).ok).toBe(true);
        expect((await from.far.shutdownWrite()).ok).toBe(true);
      })();
      const controller = new AbortController();
      // The destination's peer reads 1 MiB, then the copy is stopped.
      const running = copy(from.near, to.near, { accelerator, signal: controller.signal, propagateEof: false });
      const first = await readExactly(to.far, 1024 * 1024);
      controller.abort('enough');
      const r = await running;
      expectPath(r, path);
      expect(r.outcome).toBe('aborted');
      expect(r.error?.kind).toBe('aborted');
      // What the copy wrote reaches the peer; close the destination to see where it ends.
      expect((await to.near.shutdownWrite()).ok).toBe(true);
      const rest = await drain(to.far);
      expect(rest.end).toBe('eof');
      expect(first.length + rest.data.length).toBe(r.bytes);
      // The source reads on after the copy: nothing accepted is lost.
      const left = await drain(from.near);
      expect(left.end).toBe('eof');
      await sending;
      const all = Buffer.concat([first, rest.data, r.unwritten ?? Buffer.alloc(0), left.data]);
      expect(sha256(all)).toBe(sha256(data));
    });

    test('an idle timeout ends the copy with timeout and leaves both flows usable', async () => {
      const from = await flowPair(kind);
      const to = await flowPair(kind);
      const r = await copy(from.near, to.near, { accelerator, idleTimeoutMs: 100 });
      expectPath(r, path);
      expect(r.outcome).toBe('timeout');
      expect(r.error?.kind).toBe('timeout');
      expect((await from.far.write(Buffer.from('later'))).ok).toBe(true);
      expect((await readExactly(from.near, 5)).toString()).toBe('later');
      expect((await to.near.write(Buffer.from('still'))).ok).toBe(true);
      expect((await readExactly(to.far, 5)).toString()).toBe('still');
    });

    test('a destination aborted during the copy ends it with an error; what came after is in unwritten or still readable', async () => {
      const from = await flowPair(kind);
      const to = await flowPair(kind);
      expect((await from.far.write(Buffer.from('first'))).ok).toBe(true);
      const running = copy(from.near, to.near, { accelerator });
      expect((await readExactly(to.far, 5)).toString()).toBe('first');
      to.near.abort('gone');
      // The engine stops as the flow is aborted; the pure path notices at its next write.
      expect((await from.far.write(Buffer.from('after'))).ok).toBe(true);
      const r = await running;
      expectPath(r, path);
      expect(r.outcome).toBe('error');
      expect(r.error?.kind).toBe('aborted');
      expect(r.failedSide).toBe('write');
      expect(r.bytes).toBe(5);
      const taken = Buffer.from(r.unwritten ?? new Uint8Array(0));
      const left = await readExactly(from.near, 5 - taken.length);
      expect(Buffer.concat([taken, left]).toString()).toBe('after');
    });

    if (kind === 'tcp') {
      test('a reset of the source is an error, never EOF, even when the destination was not reading', async () => {
        const from = await flowPair(kind);
        const to = await flowPair(kind);
        // The destination's peer reads nothing at first: the copy waits on it while the source is reset.
        const running = copy(from.near, to.near, { accelerator });
        const big = randomBytes(16 * 1024 * 1024);
        void from.far.write(big);
        await new Promise((resolve) => setTimeout(resolve, 200));
        from.far.abort('reset');
        const got = drain(to.far);
        const r = await running;
        expectPath(r, path);
        expect(r.outcome).toBe('error');
        expect(r.error?.kind).toBe('reset');
        expect(r.failedSide).toBe('read');
        expect(r.bytes).toBeLessThan(big.length);
        // The flow remembers it: its reads say reset, not end of stream.
        expect((await drain(from.near)).end).toBe('reset');
        to.near.abort();
        expect((await got).end).not.toBe('eof');
      });

      test('a reset of the destination is an error of the write side and the destination reads it as reset', async () => {
        const from = await flowPair(kind);
        const to = await flowPair(kind);
        const running = copy(from.near, to.near, { accelerator });
        const sending = from.far.write(randomBytes(32 * 1024 * 1024));
        await readExactly(to.far, 1024);
        to.far.abort('reset');
        const r = await running;
        expectPath(r, path);
        expect(r.outcome).toBe('error');
        expect(r.failedSide).toBe('write');
        expect(['reset', 'closed']).toContain(r.error?.kind);
        expect((await drain(to.near)).end).not.toBe('eof');
        from.near.abort();
        await sending;
      });
    }

    test('descriptors are handed back: no descriptor or pipe is left after 50 copies that end in each way', async () => {
      // Warm up what the first copy loads (the engine, the loader's files).
      const warm = await flowPair(kind);
      warm.far.abort();
      await copy(warm.near, warm.near, { accelerator, idleTimeoutMs: 50 });
      abortAll();
      await turns(5);
      const before = openFds();
      for (let i = 0; i < 50; i += 1) {
        const from = await flowPair(kind);
        const to = await flowPair(kind);
        const ending = i % 3;
        if (ending === 0) {
          expect((await from.far.write(Buffer.from('x'))).ok).toBe(true);
          expect((await from.far.shutdownWrite()).ok).toBe(true);
          expect((await copy(from.near, to.near, { accelerator })).outcome).toBe('eof');
        } else if (ending === 1) {
          expect((await copy(from.near, to.near, { accelerator, idleTimeoutMs: 20 })).outcome).toBe('timeout');
        } else {
          const controller = new AbortController();
          const running = copy(from.near, to.near, { accelerator, signal: controller.signal });
          controller.abort();
          expect((await running).outcome).toBe('aborted');
        }
        abortAll();
      }
      await turns(10);
      expect(openFds()).toBe(before);
    });
  });
});
