import {
  createFlow,
  EOF,
  FlowError,
  functionFlow,
  OK,
  pair,
  type FlowDriver,
  type InboundPort,
  type ReadResult,
} from '../src';
import { readAll } from './support/read-all';

function text(r: ReadResult): string {
  if (!r.ok) throw r.error;
  if (r.value === EOF) return '<EOF>';
  return Buffer.from(r.value).toString();
}

/** Lets every queued microtask and timer of this turn run, so that pending work settles. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('reading', () => {
  test('read resolves with a fresh buffer of at least one byte that later writes do not change', async () => {
    const [a, b] = pair();
    const source = Buffer.from('abc');
    expect((await a.write(source)).ok).toBe(true);
    source.fill(0x7a);
    const r = await b.read();
    expect(r.ok && r.value !== EOF && r.value.length).toBeGreaterThanOrEqual(1);
    expect(text(r)).toBe('abc');
    expect((await a.write(Buffer.from('def'))).ok).toBe(true);
    const second = await b.read();
    expect(text(second)).toBe('def');
    expect(text(r)).toBe('abc');
  });

  test('a zero-length write sends nothing and the reader never sees an empty chunk', async () => {
    const [a, b] = pair();
    expect((await a.write(new Uint8Array(0))).ok).toBe(true);
    expect((await a.writev([new Uint8Array(0), new Uint8Array(0)])).ok).toBe(true);
    expect((await a.write(Buffer.from('x'))).ok).toBe(true);
    await a.shutdownWrite();
    expect(text(await b.read())).toBe('x');
    expect(text(await b.read())).toBe('<EOF>');
    expect(a.stats.writeOps).toBe(1);
  });

  test('after EOF every later read and readInto returns EOF again', async () => {
    const [a, b] = pair();
    await a.shutdownWrite();
    for (let i = 0; i < 3; i++) expect(text(await b.read())).toBe('<EOF>');
    const into = await b.readInto(new Uint8Array(4));
    expect(into.ok && into.value).toBe(EOF);
    expect(b.readState).toBe('eof');
  });

  test('after a read error every later read returns the same error', async () => {
    const [a, b] = pair({ faults: { aToB: { afterBytes: 2 } } });
    await a.write(Buffer.from('hello'));
    expect(text(await b.read())).toBe('he');
    const first = await b.read();
    const second = await b.read();
    expect(first.ok).toBe(false);
    expect(second.ok).toBe(false);
    if (!first.ok && !second.ok) {
      expect(first.error.kind).toBe('reset');
      expect(second.error).toBe(first.error);
    }
    expect(b.readState).toBe('error');
  });

  test('readInto fills from part of a chunk and leaves the rest for the next read', async () => {
    const [a, b] = pair();
    await a.write(Buffer.from('hello world'));
    const buf = new Uint8Array(4);
    const r1 = await b.readInto(buf);
    expect(r1.ok && r1.value).toBe(4);
    expect(Buffer.from(buf).toString()).toBe('hell');
    const big = new Uint8Array(100);
    const r2 = await b.readInto(big);
    expect(r2.ok && r2.value).toBe(7);
    expect(Buffer.from(big.subarray(0, 7)).toString()).toBe('o world');
    expect(b.stats.bytesRead).toBe(11);
    expect(b.stats.readOps).toBe(2);
  });

  test('readInto spans several chunks and a following read gets the remainder of a split chunk', async () => {
    const [a, b] = pair();
    await a.write(Buffer.from('ab'));
    await a.write(Buffer.from('cdef'));
    const buf = new Uint8Array(3);
    const r = await b.readInto(buf);
    expect(r.ok && r.value).toBe(3);
    expect(Buffer.from(buf).toString()).toBe('abc');
    expect(text(await b.read())).toBe('def');
  });

  test('readInto with an empty buffer is a programmer error and throws', () => {
    const [, b] = pair();
    expect(() => b.readInto(new Uint8Array(0))).toThrow(RangeError);
  });

  test('an aborted pending read consumed nothing: the next read gets the data', async () => {
    const [a, b] = pair();
    const controller = new AbortController();
    const pending = b.read({ signal: controller.signal });
    controller.abort();
    const r = await pending;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe('aborted');
    await a.write(Buffer.from('kept'));
    expect(text(await b.read())).toBe('kept');
    expect(b.stats.readOps).toBe(1);
  });

  test('a read with an already aborted signal returns aborted and leaves buffered data in place', async () => {
    const [a, b] = pair();
    await a.write(Buffer.from('data'));
    const controller = new AbortController();
    controller.abort();
    const r = await b.read({ signal: controller.signal });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe('aborted');
    const into = await b.readInto(new Uint8Array(8), { signal: controller.signal });
    expect(into.ok).toBe(false);
    expect(text(await b.read())).toBe('data');
  });

  test('concurrent reads are served in call order, one chunk each', async () => {
    const [a, b] = pair();
    const first = b.read();
    const second = b.read();
    const third = b.readInto(new Uint8Array(10));
    await a.write(Buffer.from('one'));
    await a.write(Buffer.from('two'));
    await a.write(Buffer.from('three'));
    expect(text(await first)).toBe('one');
    expect(text(await second)).toBe('two');
    const t = await third;
    expect(t.ok && t.value).toBe(5);
  });

  test('aborting one of two concurrent reads lets the other one get the data', async () => {
    const [a, b] = pair();
    const controller = new AbortController();
    const cancelled = b.read({ signal: controller.signal });
    const kept = b.read();
    controller.abort();
    await a.write(Buffer.from('only'));
    expect((await cancelled).ok).toBe(false);
    expect(text(await kept)).toBe('only');
  });
});

describe('writing', () => {
  test('write after shutdownWrite returns closed and sends nothing', async () => {
    const [a, b] = pair();
    await a.shutdownWrite();
    const w = await a.write(Buffer.from('late'));
    expect(w.ok).toBe(false);
    if (!w.ok) {
      expect(w.error.kind).toBe('closed');
      expect(w.error.bytesAccepted ?? 0).toBe(0);
    }
    const v = await a.writev([Buffer.from('x')]);
    expect(!v.ok && v.error.kind).toBe('closed');
    expect(text(await b.read())).toBe('<EOF>');
  });

  test('writes queued before shutdownWrite still go out, then the peer reads EOF', async () => {
    const [a, b] = pair({ capacity: 4 });
    const w1 = a.write(Buffer.from('0123456789'));
    const w2 = a.write(Buffer.from('abcde'));
    const shut = a.shutdownWrite();
    expect(a.writeState).toBe('shutting');
    const refused = await a.write(Buffer.from('no'));
    expect(!refused.ok && refused.error.kind).toBe('closed');
    expect((await readAll(b)).toString()).toBe('0123456789abcde');
    expect((await w1).ok).toBe(true);
    expect((await w2).ok).toBe(true);
    expect((await shut).ok).toBe(true);
    expect(a.writeState).toBe('shut');
    expect(a.shutdownWrite()).toBe(a.shutdownWrite());
  });

  test('writev and write calls are delivered in call order', async () => {
    const [a, b] = pair({ chunkSize: 2 });
    const all = Promise.all([
      a.writev([Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cde')]),
      a.write(Buffer.from('f')),
      a.writev([Buffer.from('gh'), Buffer.from('i')]),
    ]);
    await all;
    await a.shutdownWrite();
    expect((await readAll(b)).toString()).toBe('abcdefghi');
    expect(a.stats.writeOps).toBe(3);
    expect(a.stats.bytesAccepted).toBe(9);
  });

  test('a write aborted by its signal while waiting for room reports the bytes accepted and leaves the flow usable', async () => {
    const [a, b] = pair({ capacity: 10 });
    const controller = new AbortController();
    const pending = a.write(Buffer.alloc(25, 1), { signal: controller.signal });
    await settle();
    controller.abort();
    const r = await pending;
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('aborted');
      expect(r.error.bytesAccepted).toBe(10);
    }
    expect(a.stats.bytesAccepted).toBe(10);
    expect(a.writeState).toBe('open');
    const next = a.write(Buffer.from('z'));
    const got = await b.read();
    expect(got.ok && got.value !== EOF && got.value.length).toBe(10);
    expect((await next).ok).toBe(true);
    expect(text(await b.read())).toBe('z');
  });

  test('a write queued behind a blocked one settles with aborted as soon as its signal aborts, and never goes out', async () => {
    const [a, b] = pair({ capacity: 4 });
    const blocked = a.write(Buffer.from('12345678'));
    const controller = new AbortController();
    const queued = a.write(Buffer.from('never'), { signal: controller.signal });
    controller.abort();
    const q = await queued;
    expect(!q.ok && q.error.kind).toBe('aborted');
    expect(!q.ok && q.error.bytesAccepted).toBe(0);
    const shut = a.shutdownWrite();
    expect((await readAll(b)).toString()).toBe('12345678');
    expect((await blocked).ok).toBe(true);
    expect((await shut).ok).toBe(true);
  });

  test('a partial write that fails reports bytesAccepted, and later writes report none accepted', async () => {
    const [a] = pair({ faults: { aToB: { afterBytes: 3, kind: 'io' } } });
    const w = await a.write(Buffer.from('abcdef'));
    expect(w.ok).toBe(false);
    if (!w.ok) {
      expect(w.error.kind).toBe('io');
      expect(w.error.bytesAccepted).toBe(3);
    }
    expect(a.writeState).toBe('error');
    const later = await a.write(Buffer.from('gh'));
    expect(later.ok).toBe(false);
    if (!later.ok) {
      expect(later.error.kind).toBe('io');
      expect(later.error.bytesAccepted ?? 0).toBe(0);
    }
    expect(a.stats.bytesAccepted).toBe(3);
  });

  test('write with something other than a Uint8Array is a programmer error and throws', () => {
    const [a] = pair();
    expect(() => a.write('text' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => a.writev([1] as unknown as Uint8Array[])).toThrow(TypeError);
  });
});

describe('shutdownRead', () => {
  test('shutdownRead resolves a pending read with EOF, later reads return EOF, and peer writes still succeed', async () => {
    const [a, b] = pair({ capacity: 8 });
    await a.write(Buffer.from('unread'));
    const pending = b.read();
    expect(text(await pending)).toBe('unread');
    const waiting = b.read();
    expect((await b.shutdownRead()).ok).toBe(true);
    expect(text(await waiting)).toBe('<EOF>');
    expect(b.readState).toBe('shut');
    // More than the capacity: the dropped bytes must not hold the writer back.
    expect((await a.write(Buffer.alloc(100, 2))).ok).toBe(true);
    expect(text(await b.read())).toBe('<EOF>');
    expect(b.stats.bytesRead).toBe(6);
  });

  test('shutdownRead drops buffered bytes and frees the writer waiting for room', async () => {
    const [a, b] = pair({ capacity: 4 });
    const blocked = a.write(Buffer.alloc(12, 3));
    await settle();
    await b.shutdownRead();
    expect((await blocked).ok).toBe(true);
    expect(text(await b.read())).toBe('<EOF>');
  });
});

describe('close and abort', () => {
  test('close is idempotent and re-entrant: the same promise, state changed before the first await', async () => {
    const [a, b] = pair();
    const first = a.close();
    expect(a.state).toBe('closing');
    expect(a.writeState).toBe('shutting');
    expect(a.close()).toBe(first);
    expect(a.close({ timeoutMs: 1 })).toBe(first);
    expect(text(await b.read())).toBe('<EOF>');
    await b.close();
    expect((await first).ok).toBe(true);
    expect(a.state).toBe('closed');
    expect(await a.closed).toBeUndefined();
    expect(a.close()).toBe(first);
  });

  test('close waits for the peer, and the peer can still send data that we read meanwhile', async () => {
    const [a, b] = pair();
    let settled = false;
    const closing = a.close().then((r) => {
      settled = true;
      return r;
    });
    expect(text(await b.read())).toBe('<EOF>');
    await settle();
    expect(settled).toBe(false);
    expect(a.state).toBe('closing');
    expect((await b.write(Buffer.from('reply'))).ok).toBe(true);
    expect(text(await a.read())).toBe('reply');
    expect((await b.shutdownWrite()).ok).toBe(true);
    expect((await closing).ok).toBe(true);
    expect(a.state).toBe('closed');
    expect(text(await a.read())).toBe('<EOF>');
    const w = await a.write(Buffer.from('x'));
    expect(!w.ok && w.error.kind).toBe('closed');
  });

  test('close with timeoutMs falls back to abort when the peer never closes, and the peer sees a reset', async () => {
    const [a, b] = pair();
    const r = await a.close({ timeoutMs: 20 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe('timeout');
    expect(a.state).toBe('aborted');
    const closedWith = await a.closed;
    expect(closedWith?.kind).toBe('timeout');
    // The FIN went out before the timeout, so the peer sees EOF and its writes fail.
    expect(text(await b.read())).toBe('<EOF>');
    const w = await b.write(Buffer.from('too late'));
    expect(!w.ok && w.error.kind).toBe('reset');
  });

  test('close with a signal falls back to abort when the signal aborts', async () => {
    const [a, b] = pair();
    const controller = new AbortController();
    const closing = a.close({ signal: controller.signal });
    expect(text(await b.read())).toBe('<EOF>');
    controller.abort();
    const r = await closing;
    expect(!r.ok && r.error.kind).toBe('aborted');
    expect(a.state).toBe('aborted');
    expect(a.readState).toBe('error');
  });

  test('abort settles pending reads, writes and shutdownWrite with aborted', async () => {
    const [a, b] = pair({ capacity: 4 });
    const read = a.read();
    const write = a.write(Buffer.alloc(10, 1));
    const queued = a.write(Buffer.from('q'));
    const shut = a.shutdownWrite();
    await settle();
    a.abort(new Error('stop'));
    const results = await Promise.all([read, write, queued, shut]);
    for (const r of results) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.kind).toBe('aborted');
    }
    expect(a.state).toBe('aborted');
    expect(a.readState).toBe('error');
    expect(a.writeState).toBe('error');
    expect((await a.closed)?.message).toContain('stop');
    // The peer sees a reset, not a clean end, after the bytes that got through.
    const got = await b.read();
    expect(got.ok && got.value !== EOF && got.value.length).toBe(4);
    const after = await b.read();
    expect(!after.ok && after.error.kind).toBe('reset');
  });

  test('abort is idempotent: a second abort changes nothing and close after abort returns the abort error', async () => {
    const [a] = pair();
    a.abort('first');
    a.abort('second');
    const reason = await a.closed;
    expect(reason?.message).toContain('first');
    const r = await a.close();
    expect(!r.ok && r.error.message).toContain('first');
    const w = await a.write(Buffer.from('x'));
    expect(!w.ok && w.error.kind).toBe('aborted');
    const rd = await a.read();
    expect(!rd.ok && rd.error.kind).toBe('aborted');
  });

  test('abort after a completed close does nothing', async () => {
    const [a, b] = pair();
    await Promise.all([a.close(), b.close()]);
    a.abort();
    expect(a.state).toBe('closed');
    expect(await a.closed).toBeUndefined();
  });

  test('close returns the reset when the peer aborted, and the flow ends aborted', async () => {
    const [a, b] = pair();
    b.abort();
    const r = await a.close();
    expect(!r.ok && r.error.kind).toBe('reset');
    expect(a.state).toBe('aborted');
  });

  test('shutdownWrite after the peer aborted reports the reset instead of pretending the FIN went out', async () => {
    const [a, b] = pair();
    b.abort();
    const r = await a.shutdownWrite();
    expect(!r.ok && r.error.kind).toBe('reset');
  });
});

describe('state', () => {
  test('state, readState and writeState follow the half-close and close transitions', async () => {
    const [a, b] = pair();
    expect([a.state, a.readState, a.writeState]).toEqual(['open', 'open', 'open']);
    await a.shutdownWrite();
    expect([a.state, a.readState, a.writeState]).toEqual(['open', 'open', 'shut']);
    expect(b.readState).toBe('eof');
    await b.write(Buffer.from('x'));
    const closing = b.close();
    expect([b.state, b.writeState]).toEqual(['closing', 'shutting']);
    expect(text(await a.read())).toBe('x');
    expect(a.readState).toBe('eof');
    expect(text(await a.read())).toBe('<EOF>');
    expect((await closing).ok).toBe(true);
    expect(b.state).toBe('closed');
    expect((await a.close()).ok).toBe(true);
    expect(a.state).toBe('closed');
  });

  test('readState stays open while data is buffered after the peer ended', async () => {
    const [a, b] = pair();
    await a.write(Buffer.from('tail'));
    await a.shutdownWrite();
    expect(b.readState).toBe('open');
    await b.read();
    expect(b.readState).toBe('eof');
  });
});

describe('stats', () => {
  test('stats count exactly the bytes and ops read and accepted, with ordered timestamps', async () => {
    const [a, b] = pair();
    const before = a.stats;
    expect(before.bytesRead + before.readOps + before.bytesAccepted + before.writeOps).toBe(0);
    expect(before.firstWriteAt).toBeUndefined();
    await a.write(Buffer.from('12345'));
    await a.writev([Buffer.from('67'), Buffer.from('890')]);
    await a.shutdownWrite();
    const got = await readAll(b);
    expect(got.length).toBe(10);
    const sa = a.stats;
    const sb = b.stats;
    expect([sa.bytesAccepted, sa.writeOps]).toEqual([10, 2]);
    // The pair delivers each buffer of a writev as its own chunk: three reads.
    expect([sb.bytesRead, sb.readOps]).toEqual([10, 3]);
    expect([sa.bytesRead, sa.readOps, sb.bytesAccepted, sb.writeOps]).toEqual([0, 0, 0, 0]);
    expect(sa.firstWriteAt).toBeGreaterThanOrEqual(sa.openedAt);
    expect(sa.lastWriteAt).toBeGreaterThanOrEqual(sa.firstWriteAt ?? Infinity);
    expect(sb.firstReadAt).toBeGreaterThanOrEqual(sb.openedAt);
    expect(sb.lastReadAt).toBeGreaterThanOrEqual(sb.firstReadAt ?? Infinity);
    // A snapshot does not move with the flow.
    await b.write(Buffer.from('x'));
    expect(sb.writeOps).toBe(0);
    expect(b.stats.writeOps).toBe(1);
  });
});

describe('functionFlow, fromChunks and sink as flows', () => {
  test('a functionFlow read returns fresh buffers that a later read does not overwrite', async () => {
    let n = 0;
    const flow = functionFlow({
      input: (buf) => {
        if (n >= 3) return 0;
        buf.fill(0x61 + n);
        n += 1;
        return 2;
      },
    });
    const r1 = await flow.read();
    const r2 = await flow.read();
    const r3 = await flow.read();
    expect([text(r1), text(r2), text(r3)]).toEqual(['aa', 'bb', 'cc']);
    expect(text(await flow.read())).toBe('<EOF>');
  });
});

describe('createFlow with a driver', () => {
  /** A minimal transport: it records what the kernel asks of it and lets the test push bytes. */
  function recordingFlow(highWaterMark: number) {
    const calls: string[] = [];
    let port!: InboundPort;
    const flow = createFlow(
      (p): FlowDriver => {
        port = p;
        return {
          write: async () => OK,
          shutdownWrite: async () => OK,
          pause: () => calls.push('pause'),
          resume: () => calls.push('resume'),
          consumed: (n) => calls.push(`consumed ${n}`),
          abort: () => calls.push('abort'),
          release: () => calls.push('release'),
        };
      },
      { capabilities: { halfCloseWrite: 'native', halfCloseRead: 'emulated', abort: 'close' }, highWaterMark },
    );
    return { flow, port, calls };
  }

  test('the driver is paused once the read buffer reaches the high-water mark and resumed below half of it', async () => {
    const { flow, port, calls } = recordingFlow(10);
    port.push(Buffer.alloc(6));
    expect(calls).toEqual([]);
    port.push(Buffer.alloc(6));
    expect(calls).toEqual(['pause']);
    port.push(Buffer.alloc(6));
    expect(calls).toEqual(['pause']);
    expect(port.buffered).toBe(18);
    await flow.read();
    expect(calls).toEqual(['pause', 'consumed 6']);
    await flow.read();
    // 6 bytes left: not yet below half of 10.
    expect(calls).toEqual(['pause', 'consumed 6', 'consumed 6']);
    await flow.read();
    expect(calls).toEqual(['pause', 'consumed 6', 'consumed 6', 'consumed 6', 'resume']);
    flow.abort();
  });

  test('data pushed before a failure is read first, then the failure', async () => {
    const { flow, port } = recordingFlow(1024);
    port.push(Buffer.from('last words'));
    port.fail(new FlowError('reset', 'gone', { code: 'ECONNRESET' }));
    port.push(Buffer.from('ignored'));
    expect(text(await flow.read())).toBe('last words');
    const r = await flow.read();
    expect(!r.ok && r.error.kind).toBe('reset');
    flow.abort();
  });

  test('release runs once when the handshake completes, abort runs once when aborting', async () => {
    const { flow, port, calls } = recordingFlow(1024);
    port.end();
    expect((await flow.close()).ok).toBe(true);
    flow.abort();
    expect(calls.filter((c) => c === 'release' || c === 'abort')).toEqual(['release']);
    const other = recordingFlow(1024);
    other.flow.abort();
    other.flow.abort();
    expect(other.calls.filter((c) => c === 'release' || c === 'abort')).toEqual(['abort']);
  });

  test('a non-positive high-water mark is a programmer error', () => {
    expect(() => recordingFlow(0)).toThrow(RangeError);
  });
});

describe('a faulty driver', () => {
  test('a driver whose write throws or rejects yields io error values and later writes still settle', async () => {
    let calls = 0;
    const flow = createFlow(
      (): FlowDriver => ({
        write: () => {
          calls += 1;
          if (calls === 1) throw new Error('sync bug');
          return Promise.reject(new Error('async bug'));
        },
        shutdownWrite: () => Promise.reject(new Error('shutdown bug')),
        abort: () => {
          throw new Error('abort bug');
        },
        release: () => undefined,
      }),
      { capabilities: { halfCloseWrite: 'native', halfCloseRead: 'emulated', abort: 'close' } },
    );
    const first = await flow.write(Buffer.from('a'));
    expect(!first.ok && first.error.kind).toBe('io');
    expect(!first.ok && first.error.message).toContain('sync bug');
    // The failure is sticky, but the chain is intact: later operations settle with values.
    const second = await flow.write(Buffer.from('b'));
    expect(!second.ok && second.error.message).toContain('sync bug');
    const shut = await flow.shutdownWrite();
    expect(shut.ok).toBe(false);
    expect(() => flow.abort()).not.toThrow();
    expect(flow.state).toBe('aborted');
  });

  test('a driver whose shutdownWrite rejects gives an io error value', async () => {
    const flow = createFlow(
      (): FlowDriver => ({
        write: async () => OK,
        shutdownWrite: () => Promise.reject(new Error('shutdown bug')),
        abort: () => undefined,
        release: () => undefined,
      }),
      { capabilities: { halfCloseWrite: 'native', halfCloseRead: 'emulated', abort: 'close' } },
    );
    const r = await flow.shutdownWrite();
    expect(!r.ok && r.error.kind).toBe('io');
    expect(!r.ok && r.error.message).toContain('shutdown bug');
    expect(flow.writeState).toBe('error');
    flow.abort();
  });
});
