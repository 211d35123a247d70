import { EOF, pair, proxy, type Flow, type PairOptions, type ReadResult } from '../src';

function text(r: ReadResult): string {
  if (!r.ok) return `<${r.error.kind}>`;
  if (r.value === EOF) return '<EOF>';
  return Buffer.from(r.value).toString();
}

/** Reads until EOF or an error; returns the data and how it ended. */
async function drain(flow: Flow): Promise<{ data: string; end: string }> {
  let data = '';
  for (;;) {
    const r = await flow.read();
    const t = text(r);
    if (!r.ok || r.value === EOF) return { data, end: t };
    data += t;
  }
}

/** client <-> [a  proxy  b] <-> server */
function setup(clientSide: PairOptions = {}, serverSide: PairOptions = {}): { client: Flow; a: Flow; b: Flow; server: Flow } {
  const [client, a] = pair(clientSide);
  const [b, server] = pair(serverSide);
  return { client, a, b, server };
}

describe('proxy', () => {
  test('request/response where the reply comes after the client half-closed: both directions end eof', async () => {
    const { client, a, b, server } = setup();
    const running = proxy(a, b);
    const serverSide = (async () => {
      const req = await drain(server);
      expect(req).toEqual({ data: 'GET /', end: '<EOF>' });
      // The server replies only after it saw the client's end of stream.
      await server.write(Buffer.from('200 OK'));
      return server.close();
    })();
    await client.write(Buffer.from('GET /'));
    await client.shutdownWrite();
    const reply = await drain(client);
    expect(reply).toEqual({ data: '200 OK', end: '<EOF>' });
    const [closedClient, closedServer] = await Promise.all([client.close(), serverSide]);
    expect(closedClient.ok && closedServer.ok).toBe(true);
    const r = await running;
    expect(r.aToB.outcome).toBe('eof');
    expect(r.aToB.bytes).toBe(5);
    expect(r.bToA.outcome).toBe('eof');
    expect(r.bToA.bytes).toBe(6);
    expect(r.bToA.ops).toBe(1);
    expect(a.state).toBe('closed');
    expect(b.state).toBe('closed');
  });

  test('with onError abort-both an error in one direction makes both peers see a reset, not a clean EOF', async () => {
    const { client, a, b, server } = setup({ faults: { aToB: { afterBytes: 3 } } });
    const running = proxy(a, b);
    const clientRead = client.read();
    await client.write(Buffer.from('abcdef'));
    const atServer = await drain(server);
    expect(atServer).toEqual({ data: 'abc', end: '<reset>' });
    expect(text(await clientRead)).not.toBe('<EOF>');
    expect(text(await client.read())).toBe('<reset>');
    const r = await running;
    expect(r.aToB.outcome).toBe('error');
    expect(r.aToB.failedSide).toBe('read');
    expect(r.aToB.bytes).toBe(3);
    expect(r.bToA.outcome).toBe('aborted');
    expect(a.state).toBe('aborted');
    expect(b.state).toBe('aborted');
  });

  test('with onError shutdown-peer the peer sees EOF after the data and the other direction goes on', async () => {
    const { client, a, b, server } = setup({ faults: { aToB: { afterBytes: 3 } } });
    const running = proxy(a, b, { onError: 'shutdown-peer' });
    await client.write(Buffer.from('abcdef'));
    expect(await drain(server)).toEqual({ data: 'abc', end: '<EOF>' });
    await server.write(Buffer.from('reply'));
    await server.shutdownWrite();
    expect(await drain(client)).toEqual({ data: 'reply', end: '<EOF>' });
    const r = await running;
    expect(r.aToB.outcome).toBe('error');
    expect(r.bToA.outcome).toBe('eof');
    expect(r.bToA.bytes).toBe(5);
  });

  test('with onError continue-other the failed direction leaves its peer alone and the other direction keeps running', async () => {
    const { client, a, b, server } = setup({ faults: { aToB: { afterBytes: 3 } } });
    const running = proxy(a, b, { onError: 'continue-other' });
    await client.write(Buffer.from('abcdef'));
    const first = await server.read();
    expect(text(first)).toBe('abc');
    let serverReadSettled = false;
    const serverRead = server.read().then((r) => {
      serverReadSettled = true;
      return r;
    });
    await server.write(Buffer.from('still here'));
    expect(text(await client.read())).toBe('still here');
    // Neither EOF nor a reset reached the server while the other direction ran.
    expect(serverReadSettled).toBe(false);
    await server.shutdownWrite();
    expect(text(await client.read())).toBe('<EOF>');
    const r = await running;
    expect(r.aToB.outcome).toBe('error');
    expect(r.bToA.outcome).toBe('eof');
    // The proxy released both flows at the end: the server's read ends with a reset, not EOF.
    expect(text(await serverRead)).toBe('<reset>');
  });

  test('an idle timeout ends both directions with timeout and both peers see a reset', async () => {
    const { client, a, b, server } = setup();
    const r = await proxy(a, b, { idleTimeoutMs: 30 });
    expect(r.aToB.outcome).toBe('timeout');
    expect(r.bToA.outcome).toBe('timeout');
    expect(r.aToB.error?.kind).toBe('timeout');
    expect(text(await client.read())).toBe('<reset>');
    expect(text(await server.read())).toBe('<reset>');
  });

  test('traffic keeps the idle timer from firing', async () => {
    const { client, a, b, server } = setup();
    const running = proxy(a, b, { idleTimeoutMs: 2000 });
    for (let i = 0; i < 5; i++) {
      await client.write(Buffer.from(`m${i}`));
      expect(text(await server.read())).toBe(`m${i}`);
      await new Promise((res) => setTimeout(res, 20));
    }
    await client.shutdownWrite();
    await server.shutdownWrite();
    const r = await running;
    expect(r.aToB.outcome).toBe('eof');
    expect(r.bToA.outcome).toBe('eof');
  });

  test('aborting the signal ends both directions with aborted and aborts both flows', async () => {
    const { client, a, b, server } = setup();
    const controller = new AbortController();
    const running = proxy(a, b, { signal: controller.signal });
    await client.write(Buffer.from('x'));
    expect(text(await server.read())).toBe('x');
    controller.abort();
    const r = await running;
    expect(r.aToB.outcome).toBe('aborted');
    expect(r.bToA.outcome).toBe('aborted');
    expect(r.aToB.bytes).toBe(1);
    expect(a.state).toBe('aborted');
    expect(b.state).toBe('aborted');
    expect(text(await client.read())).toBe('<reset>');
  });

  test('never hangs when the server dies while the client is blocked on backpressure', async () => {
    const { client, a, b, server } = setup({ capacity: 16 }, { capacity: 16 });
    const running = proxy(a, b);
    const writing = client.write(Buffer.alloc(1000, 7));
    // The server never reads; it dies.
    await new Promise((res) => setImmediate(res));
    server.abort(new Error('server crashed'));
    const r = await running;
    // Whichever direction notices the reset first fails; the policy stops the other one.
    const outcomes = [r.aToB.outcome, r.bToA.outcome];
    expect(outcomes).toContain('error');
    expect(outcomes.every((o) => o === 'error' || o === 'aborted')).toBe(true);
    const failed = r.aToB.outcome === 'error' ? r.aToB : r.bToA;
    expect(failed.error?.kind).toBe('reset');
    const w = await writing;
    expect(w.ok).toBe(false);
  }, 20000);

  test('never hangs when a fault resets the server side in the middle of a reply', async () => {
    const { client, a, b, server } = setup({}, { faults: { bToA: { afterBytes: 100 } } });
    const running = proxy(a, b);
    const wrote = await server.write(Buffer.alloc(1000, 1));
    expect(!wrote.ok && wrote.error.bytesAccepted).toBe(100);
    const atClient = await drain(client);
    expect(atClient.data.length).toBe(100);
    expect(atClient.end).toBe('<reset>');
    const r = await running;
    expect(r.bToA.outcome).toBe('error');
    expect(r.bToA.bytes).toBe(100);
    expect(r.aToB.outcome).toBe('aborted');
  }, 20000);

  test('a side that is already dead when the proxy starts ends it at once, with both results', async () => {
    const { client, a, b, server } = setup();
    server.abort();
    const r = await proxy(a, b);
    expect(r.bToA.outcome).toBe('error');
    expect(r.bToA.error?.kind).toBe('reset');
    expect(r.aToB.outcome).toBe('aborted');
    expect(text(await client.read())).toBe('<reset>');
  });

  test('release false leaves both flows open after both directions ended', async () => {
    const { client, a, b, server } = setup();
    const running = proxy(a, b, { release: false });
    await client.shutdownWrite();
    await server.shutdownWrite();
    const r = await running;
    expect([r.aToB.outcome, r.bToA.outcome]).toEqual(['eof', 'eof']);
    expect(a.state).toBe('open');
    expect(b.state).toBe('open');
    await Promise.all([a.close(), b.close(), client.close(), server.close()]);
  });
});
