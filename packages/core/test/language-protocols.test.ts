import {
  DISPOSE_TIMEOUT_MS,
  EOF,
  FlowError,
  FlowWrapper,
  pair,
  readAll,
  unwrap,
  writeString,
  type Flow,
  type ReadOptions,
  type ReadResult,
} from '../src';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

async function collect(flow: Flow): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of flow) parts.push(chunk);
  return Buffer.concat(parts);
}

describe('for await (const chunk of flow)', () => {
  test('reads every chunk to EOF and leaves the write half open for a reply', async () => {
    const [a, b] = pair({ chunkSize: 3 });
    const sending = (async () => {
      unwrap(await a.write(bytes('request body')));
      unwrap(await a.shutdownWrite());
    })();
    expect((await collect(b)).toString()).toBe('request body');
    await sending;
    expect(b.writeState).toBe('open');
    unwrap(await writeString(b, 'reply'));
    unwrap(await b.shutdownWrite());
    const reply = unwrap(await readAll(a));
    expect(reply.toString()).toBe('reply');
  });

  test('a reset is thrown as the FlowError, never read as the end of the stream', async () => {
    const [a, b] = pair();
    unwrap(await a.write(bytes('partial')));
    a.abort(new Error('gone'));
    const loop = (async () => {
      for await (const chunk of b) void chunk;
    })();
    await expect(loop).rejects.toBeInstanceOf(FlowError);
    await expect(loop).rejects.toMatchObject({ kind: 'reset' });
  });

  test('leaving the loop early touches nothing: the rest is still there to read', async () => {
    const [a, b] = pair({ chunkSize: 4 });
    unwrap(await a.write(bytes('aaaabbbbcccc')));
    unwrap(await a.shutdownWrite());
    for await (const chunk of b) {
      expect(Buffer.from(chunk).toString()).toBe('aaaa');
      break;
    }
    expect(b.state).toBe('open');
    expect(unwrap(await readAll(b)).toString()).toBe('bbbbcccc');
  });

  test('a wrapper iterates through its own read', async () => {
    class Upper extends FlowWrapper {
      override async read(options?: ReadOptions): Promise<ReadResult> {
        const r = await this.inner.read(options);
        return r.ok && r.value !== EOF ? { ok: true, value: bytes(Buffer.from(r.value).toString().toUpperCase()) } : r;
      }
    }
    const [a, b] = pair();
    unwrap(await writeString(a, 'shout'));
    unwrap(await a.shutdownWrite());
    expect((await collect(new Upper(b))).toString()).toBe('SHOUT');
  });
});

describe('await using', () => {
  test('closes with the handshake when the scope ends, and the peer sees EOF', async () => {
    const [a, b] = pair();
    let inner: Flow | undefined;
    const peer = (async () => {
      const got = unwrap(await readAll(b));
      unwrap(await b.close());
      return got.toString();
    })();
    {
      await using flow = a;
      inner = flow;
      unwrap(await writeString(flow, 'bye'));
    }
    expect(inner.state).toBe('closed');
    expect(await peer).toBe('bye');
  });

  test('a peer that never closes is aborted after DISPOSE_TIMEOUT_MS, and the error that left the scope survives', async () => {
    const [a, b] = pair();
    const run = async (): Promise<void> => {
      await using flow = a;
      unwrap(await writeString(flow, 'x'));
      throw new Error('the scope failed');
    };
    const started = Date.now();
    await expect(run()).rejects.toThrow('the scope failed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(DISPOSE_TIMEOUT_MS - 50);
    expect(a.state).toBe('aborted');
    const r = await b.read();
    expect(r.ok && r.value !== EOF ? Buffer.from(r.value).toString() : 'none').toBe('x');
    b.abort();
  });

  test('a wrapper disposes through its own close', async () => {
    let closes = 0;
    class Counting extends FlowWrapper {
      override close(): ReturnType<Flow['close']> {
        closes += 1;
        return this.inner.close({ timeoutMs: 0 });
      }
    }
    const [a, b] = pair();
    {
      await using _flow = new Counting(a);
    }
    expect(closes).toBe(1);
    b.abort();
  });
});

describe('readAll', () => {
  test('returns every byte up to EOF in one buffer', async () => {
    const [a, b] = pair({ chunkSize: 1000 });
    const data = Buffer.alloc(100_000, 7);
    const sending = (async () => {
      unwrap(await a.write(data));
      unwrap(await a.shutdownWrite());
    })();
    const got = unwrap(await readAll(b));
    await sending;
    expect(got.equals(data)).toBe(true);
  });

  test('past maxBytes it is a limit error, and the rest stays unread', async () => {
    const [a, b] = pair({ chunkSize: 10 });
    const sending = a.write(Buffer.alloc(100, 1));
    const r = await readAll(b, { maxBytes: 25 });
    expect(r.ok ? 'ok' : r.error.kind).toBe('limit');
    expect(r.ok ? '' : r.error.message).toMatch(/more than 25 bytes/);
    const next = await b.read();
    expect(next.ok && next.value !== EOF ? next.value.length : 0).toBeGreaterThan(0);
    a.abort();
    await sending;
  });

  test('a read error is returned, not thrown', async () => {
    const [a, b] = pair();
    a.abort(new Error('gone'));
    const r = await readAll(b);
    expect(r.ok ? 'ok' : r.error.kind).toBe('reset');
  });

  test('the signal ends the wait with aborted', async () => {
    const [a, b] = pair();
    const controller = new AbortController();
    const reading = readAll(b, { signal: controller.signal });
    controller.abort(new Error('enough'));
    const r = await reading;
    expect(r.ok ? 'ok' : r.error.kind).toBe('aborted');
    a.abort();
  });

  test('a bad bound is a programmer error', async () => {
    const [a] = pair();
    await expect(readAll(a, { maxBytes: -1 })).rejects.toThrow(RangeError);
    a.abort();
  });
});

describe('writeString and unwrap', () => {
  test('writes UTF-8', async () => {
    const [a, b] = pair();
    unwrap(await writeString(a, 'héllo ✓ 🙂'));
    unwrap(await a.shutdownWrite());
    expect(unwrap(await readAll(b)).equals(Buffer.from('héllo ✓ 🙂', 'utf8'))).toBe(true);
  });

  test('unwrap returns the value of ok and throws the error of err', async () => {
    const [a, b] = pair();
    a.abort();
    expect(unwrap({ ok: true, value: 5 })).toBe(5);
    const failed = await b.read();
    expect(() => unwrap(failed)).toThrow(FlowError);
  });
});

describe('shutdownWrite and shutdownRead take a signal and a timeout', () => {
  test('timeoutMs bounds the wait for pending writes; the shutdown still happens once they flush', async () => {
    const [a, b] = pair({ capacity: 16 });
    const writing = a.write(Buffer.alloc(64, 2));
    const r = await a.shutdownWrite({ timeoutMs: 20 });
    expect(r.ok ? 'ok' : r.error.kind).toBe('timeout');
    expect(a.writeState).toBe('shutting');
    const got = unwrap(await readAll(b));
    expect(got.length).toBe(64);
    unwrap(await writing);
    expect(unwrap(await a.shutdownWrite())).toBeUndefined();
    expect(a.writeState).toBe('shut');
  });

  test('an aborted signal ends the wait with aborted', async () => {
    const [a, b] = pair({ capacity: 16 });
    const writing = a.write(Buffer.alloc(64, 2));
    const controller = new AbortController();
    const shutting = a.shutdownWrite({ signal: controller.signal });
    controller.abort(new Error('stop waiting'));
    const r = await shutting;
    expect(r.ok ? 'ok' : r.error.kind).toBe('aborted');
    a.abort();
    await writing;
    b.abort();
  });

  test('a signal aborted before the call does nothing', async () => {
    const [a, b] = pair();
    const controller = new AbortController();
    controller.abort();
    const w = await a.shutdownWrite({ signal: controller.signal });
    expect(w.ok ? 'ok' : w.error.kind).toBe('aborted');
    expect(a.writeState).toBe('open');
    const r = await a.shutdownRead({ signal: controller.signal });
    expect(r.ok ? 'ok' : r.error.kind).toBe('aborted');
    expect(a.readState).toBe('open');
    a.abort();
    b.abort();
  });

  test('a negative timeout is a programmer error', () => {
    const [a] = pair();
    expect(() => a.shutdownWrite({ timeoutMs: -1 })).toThrow(RangeError);
    a.abort();
  });
});
