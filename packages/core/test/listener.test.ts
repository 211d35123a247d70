import { AcceptQueue, disposeListener, endFlows, EOF, memoryListener, pair, type Flow, type ReadResult } from '../src';

function text(r: ReadResult): string {
  if (!r.ok) return `<${r.error.kind}>`;
  if (r.value === EOF) return '<EOF>';
  return Buffer.from(r.value).toString();
}

function mustConnect(r: Awaited<ReturnType<ReturnType<typeof memoryListener>['connect']>>): Flow {
  if (!r.ok) throw r.error;
  return r.value;
}

describe('memoryListener', () => {
  test('a connection is accepted and the two ends talk', async () => {
    const net = memoryListener({ name: 'svc' });
    expect(net.listener.address).toBe('svc');
    const client = mustConnect(await net.connect());
    const accepted = await net.listener.accept();
    expect(accepted.ok).toBe(true);
    if (!accepted.ok) return;
    await client.write(Buffer.from('ping'));
    expect(text(await accepted.value.read())).toBe('ping');
    await net.listener.close();
    client.abort();
  });

  test('the backlog bounds unaccepted connections: one beyond it is refused and its client aborted', async () => {
    const net = memoryListener({ backlog: 2 });
    const c1 = mustConnect(await net.connect());
    const c2 = mustConnect(await net.connect());
    const third = await net.connect();
    expect(third.ok).toBe(false);
    if (!third.ok) {
      expect(third.error.kind).toBe('refused');
      expect(third.error.code).toBe('ECONNREFUSED');
    }
    const s1 = await net.listener.accept();
    expect(s1.ok).toBe(true);
    // Accepting made room again.
    const c3 = mustConnect(await net.connect());
    await net.listener.close();
    for (const c of [c1, c2, c3]) c.abort();
    if (s1.ok) s1.value.abort();
  });

  test('an accept aborted by its signal resolves aborted and loses no flow', async () => {
    const net = memoryListener();
    const controller = new AbortController();
    const pending = net.listener.accept({ signal: controller.signal });
    controller.abort();
    const r = await pending;
    expect(!r.ok && r.error.kind).toBe('aborted');
    const client = mustConnect(await net.connect());
    const next = await net.listener.accept();
    expect(next.ok).toBe(true);
    if (next.ok) {
      await client.write(Buffer.from('hi'));
      expect(text(await next.value.read())).toBe('hi');
      next.value.abort();
    }
    client.abort();
    await net.listener.close();
  });

  test('an accept with an already aborted signal resolves aborted at once', async () => {
    const net = memoryListener();
    const controller = new AbortController();
    controller.abort();
    const r = await net.listener.accept({ signal: controller.signal });
    expect(!r.ok && r.error.kind).toBe('aborted');
    await net.listener.close();
  });

  test('close stops accepting: pending and later accepts resolve closed, connects are refused', async () => {
    const net = memoryListener();
    const pending = net.listener.accept();
    expect(net.listener.closedForAccept).toBe(false);
    await net.listener.close();
    expect(net.listener.closedForAccept).toBe(true);
    const r = await pending;
    expect(!r.ok && r.error.kind).toBe('closed');
    const later = await net.listener.accept();
    expect(!later.ok && later.error.kind).toBe('closed');
    const c = await net.connect();
    expect(!c.ok && c.error.kind).toBe('refused');
    await net.listener.close();
  });

  test('flows queued but never accepted are aborted at close: their clients see a reset', async () => {
    const net = memoryListener();
    const c1 = mustConnect(await net.connect());
    const c2 = mustConnect(await net.connect());
    await net.listener.close();
    expect(text(await c1.read())).toBe('<reset>');
    const w = await c2.write(Buffer.from('anyone?'));
    expect(!w.ok && w.error.kind).toBe('reset');
  });

  test('async iteration yields every incoming flow and ends when the listener closes', async () => {
    const net = memoryListener();
    const seen: string[] = [];
    const iterating = (async () => {
      for await (const flow of net.listener) {
        seen.push(text(await flow.read()));
        flow.abort();
      }
    })();
    const clients: Flow[] = [];
    for (const word of ['one', 'two', 'three']) {
      const c = mustConnect(await net.connect());
      await c.write(Buffer.from(word));
      clients.push(c);
    }
    while (seen.length < 3) await new Promise((r) => setImmediate(r));
    await net.listener.close();
    await iterating;
    expect(seen).toEqual(['one', 'two', 'three']);
    for (const c of clients) c.abort();
  });

  test('await using closes the listener when the scope ends; a flow it accepted stays open', async () => {
    const net = memoryListener();
    let accepted: Flow | undefined;
    const client = mustConnect(await net.connect());
    {
      await using listener = net.listener;
      const r = await listener.accept();
      if (!r.ok) throw r.error;
      accepted = r.value;
      expect(listener.closedForAccept).toBe(false);
    }
    expect(net.listener.closedForAccept).toBe(true);
    expect((await net.connect()).ok).toBe(false);
    await client.write(Buffer.from('still here'));
    expect(text(await accepted.read())).toBe('still here');
    client.abort();
    accepted.abort();
  });

  test('a scope that throws keeps its own error: the listener is closed all the same', async () => {
    const net = memoryListener();
    const run = async (): Promise<void> => {
      await using _listener = net.listener;
      throw new Error('the scope failed');
    };
    await expect(run()).rejects.toThrow('the scope failed');
    expect(net.listener.closedForAccept).toBe(true);
  });
});

describe('disposeListener', () => {
  test('closes the listener and never rejects, even when a foreign close does', async () => {
    let closes = 0;
    await expect(disposeListener({ close: async () => void (closes += 1) })).resolves.toBeUndefined();
    await expect(disposeListener({ close: () => Promise.reject(new Error('broken close')) })).resolves.toBeUndefined();
    expect(closes).toBe(1);
  });
});

describe('AcceptQueue', () => {
  test('offer hands a flow to a waiting accept, queues it otherwise, and refuses beyond the backlog', async () => {
    const q = new AcceptQueue(1);
    const waiting = q.accept();
    const [f1] = pair();
    expect(q.offer(f1)).toBe(true);
    const got = await waiting;
    expect(got.ok && got.value).toBe(f1);
    const [f2] = pair();
    const [f3] = pair();
    expect(q.offer(f2)).toBe(true);
    expect(q.size).toBe(1);
    expect(q.offer(f3)).toBe(false);
    expect(f3.state).toBe('aborted');
    const err = await f3.read();
    expect(!err.ok && err.error.kind).toBe('limit');
    q.close();
    expect(f2.state).toBe('aborted');
    f1.abort();
  });

  test('offer after close aborts the flow and returns false', () => {
    const q = new AcceptQueue();
    q.close();
    const [f] = pair();
    expect(q.offer(f)).toBe(false);
    expect(f.state).toBe('aborted');
  });

  test('a backlog below 1 is a programmer error', () => {
    expect(() => new AcceptQueue(0)).toThrow(RangeError);
  });
});

describe('endFlows', () => {
  test('without a timeout every flow is aborted at once and released', async () => {
    const [a, b] = pair();
    await endFlows([a]);
    expect(a.state).toBe('aborted');
    expect((await a.closed)?.kind).toBe('aborted');
    b.abort();
  });

  test('with a timeout each flow gets the close handshake, and one whose peer never closes is aborted after it', async () => {
    const [a, b] = pair();
    const [c, d] = pair();
    const closingPeer = (async () => {
      await b.read();
      await b.close();
    })();
    await endFlows([a, c], { timeoutMs: 100 });
    await closingPeer;
    expect(a.state).toBe('closed');
    expect(c.state).toBe('aborted');
    d.abort();
  });
});
