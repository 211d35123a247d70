import { EOF, memoryListener, serve, type Flow, type Listener, type ReadResult } from '../src';

function text(r: ReadResult): string {
  if (!r.ok) return `<${r.error.kind}>`;
  if (r.value === EOF) return '<EOF>';
  return Buffer.from(r.value).toString();
}

async function drain(flow: Flow): Promise<string> {
  let data = '';
  for (;;) {
    const r = await flow.read();
    if (!r.ok || r.value === EOF) return data + (r.ok ? '' : text(r));
    data += text(r);
  }
}

function connected(r: Awaited<ReturnType<ReturnType<typeof memoryListener>['connect']>>): Flow {
  if (!r.ok) throw r.error;
  return r.value;
}

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setImmediate(r));
}

describe('serve', () => {
  test('never runs more than the concurrency limit of handlers at once, and serves every flow', async () => {
    const net = memoryListener();
    const release = gate();
    let running = 0;
    let maxRunning = 0;
    const server = serve(
      net.listener,
      async (flow) => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await release.wait;
        const request = await drain(flow);
        await flow.write(Buffer.from(`echo ${request}`));
        running -= 1;
      },
      { concurrency: 2 },
    );
    const clients = await Promise.all([0, 1, 2, 3, 4, 5].map(async () => connected(await net.connect())));
    clients.forEach((c, i) => void c.write(Buffer.from(`#${i}`)).then(() => c.shutdownWrite()));
    await until(() => running === 2);
    // Give the accept loop every chance to start a third handler.
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(running).toBe(2);
    expect(server.active).toBe(2);
    release.open();
    const replies = await Promise.all(clients.map((c) => drain(c)));
    expect(replies).toEqual(['echo #0', 'echo #1', 'echo #2', 'echo #3', 'echo #4', 'echo #5']);
    await Promise.all(clients.map((c) => c.close()));
    await net.listener.close();
    const summary = await server.done;
    expect(maxRunning).toBe(2);
    expect(summary.accepted).toBe(6);
    expect(summary.succeeded).toBe(6);
    expect(summary.failed).toBe(0);
    expect(summary.stoppedBy.kind).toBe('closed');
  });

  test('a throwing handler gets its flow aborted and the server keeps serving', async () => {
    const net = memoryListener();
    const reported: unknown[] = [];
    let calls = 0;
    const server = serve(
      net.listener,
      async (flow) => {
        calls += 1;
        if (calls === 1) throw new Error('handler bug');
        await flow.write(Buffer.from('fine'));
      },
      { onHandlerError: (e) => reported.push(e) },
    );
    const first = connected(await net.connect());
    expect(text(await first.read())).toBe('<reset>');
    const second = connected(await net.connect());
    expect(text(await second.read())).toBe('fine');
    expect(text(await second.read())).toBe('<EOF>');
    await second.close();
    await net.listener.close();
    const summary = await server.done;
    expect(summary.failed).toBe(1);
    expect(summary.succeeded).toBe(1);
    expect(reported.length).toBe(1);
    expect((reported[0] as Error).message).toBe('handler bug');
  });

  test('a handler that throws synchronously, or whose error callback throws, does not stop the server', async () => {
    const net = memoryListener();
    let calls = 0;
    const server = serve(
      net.listener,
      (flow) => {
        calls += 1;
        if (calls === 1) throw new Error('sync throw');
        return flow.write(Buffer.from('ok'));
      },
      {
        onHandlerError: () => {
          throw new Error('callback bug');
        },
      },
    );
    const first = connected(await net.connect());
    expect(text(await first.read())).toBe('<reset>');
    const second = connected(await net.connect());
    expect(text(await second.read())).toBe('ok');
    await second.close();
    const summary = await server.stop();
    expect([summary.succeeded, summary.failed]).toEqual([1, 1]);
    await net.listener.close();
  });

  test('stop resolves only once running handlers finished, and stops accepting', async () => {
    const net = memoryListener();
    const release = gate();
    let finished = 0;
    const server = serve(net.listener, async (flow) => {
      await release.wait;
      await flow.write(Buffer.from('bye'));
      finished += 1;
    });
    const client = connected(await net.connect());
    await until(() => server.active === 1);
    let stopped = false;
    const stopping = server.stop().then((s) => {
      stopped = true;
      return s;
    });
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release.open();
    expect(text(await client.read())).toBe('bye');
    expect(text(await client.read())).toBe('<EOF>');
    await client.close();
    const summary = await stopping;
    expect(finished).toBe(1);
    expect(summary.accepted).toBe(1);
    expect(summary.stoppedBy.kind).toBe('aborted');
    // The listener itself is still open, but nobody accepts from it any more.
    const late = connected(await net.connect());
    await net.listener.close();
    expect(text(await late.read())).toBe('<reset>');
  });

  test('no flow outlives its handler: returned handlers get their flow closed, failed ones aborted', async () => {
    const net = memoryListener();
    const flows: Flow[] = [];
    const server = serve(net.listener, async (flow) => {
      flows.push(flow);
      if (flows.length === 2) throw new Error('second fails');
    });
    const c1 = connected(await net.connect());
    const c2 = connected(await net.connect());
    expect(text(await c1.read())).toBe('<EOF>');
    expect(text(await c2.read())).toBe('<reset>');
    await c1.close();
    await net.listener.close();
    await server.done;
    expect(flows.map((f) => f.state)).toEqual(['closed', 'aborted']);
    c2.abort();
  });

  test('aborting the signal stops accepting', async () => {
    const net = memoryListener();
    const controller = new AbortController();
    const server = serve(net.listener, () => undefined, { signal: controller.signal });
    controller.abort('maintenance');
    const summary = await server.done;
    expect(summary.stoppedBy.kind).toBe('aborted');
    expect(summary.stoppedBy.message).toContain('maintenance');
    expect(summary.accepted).toBe(0);
    await net.listener.close();
  });

  test('a listener whose accept rejects ends serving with a typed error instead of a rejected done', async () => {
    const broken: Listener<string> = {
      address: 'broken',
      closedForAccept: false,
      accept: () => Promise.reject(Object.assign(new Error('too many open files'), { code: 'EMFILE' })),
      close: async () => undefined,
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('unused')) }),
      [Symbol.asyncDispose]: async () => undefined,
    };
    const summary = await serve(broken, () => undefined).done;
    expect(summary.stoppedBy.kind).toBe('limit');
    expect(summary.stoppedBy.code).toBe('EMFILE');
    expect(summary.accepted).toBe(0);
  });

  test('a concurrency below 1 is a programmer error', () => {
    const net = memoryListener();
    expect(() => serve(net.listener, () => undefined, { concurrency: 0 })).toThrow(RangeError);
    void net.listener.close();
  });
});
