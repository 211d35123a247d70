import { EOF, fromChunks, functionFlow, sink, type Flow, type ReadResult } from '../src';

function text(r: ReadResult): string {
  if (!r.ok) throw r.error;
  if (r.value === EOF) return '<EOF>';
  return Buffer.from(r.value).toString();
}

async function readChunks(flow: Flow): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const t = text(await flow.read());
    if (t === '<EOF>') return out;
    out.push(t);
  }
}

/** A fixed-size output area, like mirage's `F.output_bytes`: 0 once it is full. */
function fixedOutput(size: number): { output: (b: Uint8Array) => number; written: () => string } {
  const area = Buffer.alloc(size);
  let used = 0;
  return {
    output: (b) => {
      const n = Math.min(size - used, b.length);
      area.set(b.subarray(0, n), used);
      used += n;
      return n;
    },
    written: () => area.subarray(0, used).toString(),
  };
}

describe('fromChunks (mirage F.input_strings)', () => {
  test('reads return the chunks in order, empty ones skipped, then EOF twice', async () => {
    const flow = fromChunks(['hello', '', ' ', Buffer.from('world'), '!']);
    expect(await readChunks(flow)).toEqual(['hello', ' ', 'world', '!']);
    expect(text(await flow.read())).toBe('<EOF>');
    expect(text(await flow.read())).toBe('<EOF>');
  });

  test('an async iterable source is read the same way', async () => {
    async function* gen(): AsyncGenerator<string> {
      yield 'a';
      yield 'bc';
    }
    expect(await readChunks(fromChunks(gen()))).toEqual(['a', 'bc']);
  });

  test('writing to an input-only flow returns closed, and its write side is shut from the start', async () => {
    const flow = fromChunks(['x']);
    expect(flow.writeState).toBe('shut');
    const w = await flow.write(Buffer.from('no'));
    expect(!w.ok && w.error.kind).toBe('closed');
    const v = await flow.writev([Buffer.from('no')]);
    expect(!v.ok && v.error.kind).toBe('closed');
    expect(text(await flow.read())).toBe('x');
  });

  test('a source that throws gives a typed read error after the chunks before it', async () => {
    function* failing(): Generator<string> {
      yield 'ok';
      throw Object.assign(new Error('disk gone'), { code: 'EIO' });
    }
    const flow = fromChunks(failing());
    expect(text(await flow.read())).toBe('ok');
    const r = await flow.read();
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('io');
      expect(r.error.code).toBe('EIO');
    }
  });

  test('the buffers read are copies: mutating the source chunk later does not change them', async () => {
    const chunk = Buffer.from('abc');
    const flow = fromChunks([chunk]);
    const r = await flow.read();
    chunk.fill(0);
    expect(text(r)).toBe('abc');
  });
});

describe('sink (mirage F.output_bytes)', () => {
  test('a 10-byte sink receiving "hello! world" accepts "hell", "o! ", "wor" and the third write returns closed with bytesAccepted 3', async () => {
    const s = sink({ limit: 10 });
    expect((await s.flow.write(Buffer.from('hell'))).ok).toBe(true);
    expect((await s.flow.write(Buffer.from('o! '))).ok).toBe(true);
    const third = await s.flow.write(Buffer.from('world'));
    expect(third.ok).toBe(false);
    if (!third.ok) {
      expect(third.error.kind).toBe('closed');
      expect(third.error.bytesAccepted).toBe(3);
    }
    expect(s.chunks.map((c) => Buffer.from(c).toString())).toEqual(['hell', 'o! ', 'wor']);
    expect(s.bytes().toString()).toBe('hello! wor');
    expect(s.flow.stats.bytesAccepted).toBe(10);
    const fourth = await s.flow.write(Buffer.from('x'));
    expect(!fourth.ok && fourth.error.kind).toBe('closed');
  });

  test('reading an output-only flow returns EOF', async () => {
    const s = sink();
    expect(text(await s.flow.read())).toBe('<EOF>');
    expect(text(await s.flow.read())).toBe('<EOF>');
  });

  test('the sink keeps copies, so the writer may reuse its buffer after the write resolved', async () => {
    const s = sink();
    const buf = Buffer.from('first');
    await s.flow.write(buf);
    buf.write('xxxxx');
    await s.flow.write(buf);
    expect(s.bytes().toString()).toBe('firstxxxxx');
  });

  test('ended resolves on shutdownWrite, and close then succeeds without a peer', async () => {
    const s = sink();
    await s.flow.write(Buffer.from('a'));
    await s.flow.shutdownWrite();
    await s.ended;
    expect((await s.flow.close()).ok).toBe(true);
    expect(s.flow.state).toBe('closed');
  });
});

describe('functionFlow (mirage F.make)', () => {
  test('reads give the refilled bytes, then EOF twice once input returns 0', async () => {
    const parts = ['1', '234', '56'];
    const flow = functionFlow({
      input: (buf) => {
        const next = parts.shift();
        if (next === undefined) return 0;
        return Buffer.from(buf.buffer, buf.byteOffset, buf.length).write(next);
      },
    });
    expect(await readChunks(flow)).toEqual(['1', '234', '56']);
    expect(text(await flow.read())).toBe('<EOF>');
  });

  test('writing to a flow without output returns closed', async () => {
    const flow = functionFlow({ input: () => 0 });
    expect(flow.writeState).toBe('shut');
    const w = await flow.write(Buffer.from('x'));
    expect(!w.ok && w.error.kind).toBe('closed');
  });

  test('reading a flow without input returns EOF', async () => {
    const out = fixedOutput(10);
    const flow = functionFlow({ output: out.output });
    expect(text(await flow.read())).toBe('<EOF>');
    expect(text(await flow.read())).toBe('<EOF>');
  });

  test('a 10-byte output receiving "hello! world" writes "hello! wor" and the third write returns closed with bytesAccepted 3', async () => {
    const out = fixedOutput(10);
    const flow = functionFlow({ output: out.output });
    expect((await flow.write(Buffer.from('hell'))).ok).toBe(true);
    expect((await flow.write(Buffer.from('o! '))).ok).toBe(true);
    const third = await flow.write(Buffer.from('world'));
    expect(!third.ok && third.error.kind).toBe('closed');
    expect(!third.ok && third.error.bytesAccepted).toBe(3);
    expect(out.written()).toBe('hello! wor');
    const after = await flow.write(Buffer.from('!'));
    expect(!after.ok && after.error.kind).toBe('closed');
    expect(!after.ok && (after.error.bytesAccepted ?? 0)).toBe(0);
  });

  test('an output that takes one byte at a time still gets the whole buffer, in order', async () => {
    const got: number[] = [];
    const flow = functionFlow({
      output: (b) => {
        got.push(b[0]);
        return 1;
      },
    });
    expect((await flow.writev([Buffer.from('ab'), Buffer.from('c')])).ok).toBe(true);
    expect(Buffer.from(got).toString()).toBe('abc');
  });

  test('an output that claims more than it was given does not skip the next buffer', async () => {
    const got: string[] = [];
    const flow = functionFlow({
      output: (b) => {
        got.push(Buffer.from(b).toString());
        return b.length + 100;
      },
    });
    expect((await flow.writev([Buffer.from('ab'), Buffer.from('cd')])).ok).toBe(true);
    expect(got).toEqual(['ab', 'cd']);
    expect(flow.stats.bytesAccepted).toBe(4);
  });

  test('a throwing output gives a typed write error with the bytes accepted before it', async () => {
    let calls = 0;
    const flow = functionFlow({
      output: (b) => {
        calls += 1;
        if (calls > 1) throw new Error('device unplugged');
        return Math.min(2, b.length);
      },
    });
    const w = await flow.write(Buffer.from('abcd'));
    expect(w.ok).toBe(false);
    if (!w.ok) {
      expect(w.error.kind).toBe('io');
      expect(w.error.bytesAccepted).toBe(2);
      expect(w.error.message).toContain('device unplugged');
    }
  });

  test('a throwing input gives a typed read error, repeated on later reads', async () => {
    const flow = functionFlow({
      input: () => {
        throw new Error('boom');
      },
    });
    const r1 = await flow.read();
    const r2 = await flow.read();
    if (r1.ok || r2.ok) throw new Error('expected two read errors');
    expect(r1.error.kind).toBe('io');
    expect(r1.error.message).toContain('boom');
    expect(r2.error).toBe(r1.error);
  });

  test('onRelease runs once, however often the flow is closed and aborted', async () => {
    let released = 0;
    const flow = functionFlow({ output: (b) => b.length, onRelease: () => (released += 1) });
    await flow.close();
    await flow.close();
    flow.abort();
    expect(released).toBe(1);
    const other = functionFlow({ input: () => 0, onRelease: () => (released += 1) });
    other.abort();
    other.abort();
    await other.close();
    expect(released).toBe(2);
  });

  test('input is paused at the high-water mark instead of buffering without bound', async () => {
    let produced = 0;
    const flow = functionFlow({
      input: (buf) => {
        produced += buf.length;
        return buf.length;
      },
    });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    // Nothing was read: the pump must have stopped near its 64 KiB bound.
    expect(produced).toBeGreaterThanOrEqual(64 * 1024);
    expect(produced).toBeLessThanOrEqual(64 * 1024 + 4096);
    const r = await flow.read();
    expect(r.ok && r.value !== EOF && r.value.length).toBe(4096);
    flow.abort();
  });
});
