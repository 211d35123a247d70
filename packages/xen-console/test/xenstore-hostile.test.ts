import { XenstoreClient, XsType, type XsWatch } from '../src/xenstore';
import { header, rawPair, type RawPeer } from './support/xenstore-peer';
import { failure, until, value } from './support/xenstore-support';

// A scripted, hostile xenstore server against the client: every bad frame gets a typed error
// or is ignored and counted; nothing throws, rejects or grows without bound.

let client: XenstoreClient;
let server: RawPeer;

beforeEach(() => {
  const { flow, peer } = rawPair();
  client = new XenstoreClient(flow, { closeTimeoutMs: 200, watchQueueLimit: 16 });
  server = peer;
});

afterEach(async () => {
  server.flow.abort();
  await client.close();
});

/** Starts a watch on `path`, answering its WATCH request; returns the watch and its token. */
async function startWatch(path: string): Promise<{ watch: XsWatch; token: string }> {
  const pending = client.watch(path);
  const req = (await server.next())!;
  expect(req.type).toBe(XsType.WATCH);
  const token = req.payload.toString('latin1').split('\0')[1];
  await server.reply(req);
  return { watch: value(await pending), token };
}

describe('a hostile server', () => {
  it('matches replies that come in any order', async () => {
    const reads = ['/a', '/b', '/c'].map((p) => client.read(p));
    const reqs = [(await server.next())!, (await server.next())!, (await server.next())!];
    for (const req of [...reqs].reverse()) await server.reply(req, `value of ${req.payload.toString('latin1').slice(0, 2)}`);
    expect((await Promise.all(reads)).map(value)).toEqual(['value of /a', 'value of /b', 'value of /c']);
  });

  it('turns ERROR replies into typed errors', async () => {
    const reads = ['/a', '/b', '/c'].map((p) => client.read(p));
    const reqs = [(await server.next())!, (await server.next())!, (await server.next())!];
    await server.reply(reqs[0], 'ENOENT\0', XsType.ERROR);
    await server.reply(reqs[1], 'EQUOTA\0', XsType.ERROR);
    await server.reply(reqs[2], 'garbage', XsType.ERROR);
    const [a, b, c] = (await Promise.all(reads)).map(failure);
    expect([a.kind, a.code]).toEqual(['not-found', 'ENOENT']);
    expect([b.kind, b.code]).toEqual(['limit', 'EQUOTA']);
    expect(c.kind).toBe('protocol');
    expect(client.isOpen).toBe(true);
  });

  it('gives a protocol error for a reply of the wrong or an unknown type, and goes on', async () => {
    const r1 = client.read('/a');
    const r2 = client.read('/b');
    const q1 = (await server.next())!;
    const q2 = (await server.next())!;
    await server.reply(q1, 'OK\0', XsType.WRITE);
    await server.reply(q2, 'x', 999);
    expect(failure(await r1).kind).toBe('protocol');
    expect(failure(await r2).kind).toBe('protocol');
    const r3 = client.read('/c');
    await server.reply((await server.next())!, 'fine');
    expect(value(await r3)).toBe('fine');
  });

  it('ignores and counts replies nobody asked for and malformed or unknown events', async () => {
    await server.send({ type: XsType.READ, reqId: 12345, txId: 0, payload: Buffer.from('stray') });
    await server.send({ type: XsType.WATCH_EVENT, reqId: 0, txId: 0, payload: Buffer.from('no-nul') });
    await server.event('/x', 'not-a-token');
    const r = client.read('/a');
    await server.reply((await server.next())!, 'ok');
    expect(value(await r)).toBe('ok');
    expect(client.stats).toMatchObject({ strayReplies: 1, malformedEvents: 1, strayEvents: 1 });
  });

  it('ends everything with a protocol error on a frame announcing more than 4096 bytes', async () => {
    const { watch } = await startWatch('/w');
    const pending = client.read('/a');
    await server.next();
    await server.sendRaw(header(XsType.READ, 1, 0, 0x7fffffff));
    const e = failure(await pending);
    expect([e.kind, e.code]).toEqual(['protocol', 'E2BIG']);
    expect(failure(await watch.next()).kind).toBe('closed');
    const later = failure(await client.read('/a'));
    expect(later.kind).toBe('closed');
    expect(later.message).toMatch(/4096/);
    await server.untilEnded();
  });

  it('ends pending requests when the server closes in the middle of a frame', async () => {
    const pending = client.read('/a');
    const req = (await server.next())!;
    await server.sendRaw(Buffer.concat([header(XsType.READ, req.reqId, 0, 100), Buffer.from('only a part')]));
    await server.flow.shutdownWrite();
    expect(failure(await pending).kind).toBe('eof-early');
    expect(failure(await client.read('/b')).kind).toBe('closed');
  });

  it('ends pending requests with closed when the server goes away', async () => {
    const pending = client.directory('/a');
    await server.next();
    server.flow.abort();
    expect(['closed', 'reset']).toContain(failure(await pending).kind);
    await until(() => !client.isOpen, 'the client to notice');
    expect(failure(await client.read('/b')).kind).toBe('closed');
  });

  it('keeps memory bounded under a flood of watch events nobody reads', async () => {
    const { watch, token } = await startWatch('/w');
    const flood = Buffer.concat(
      Array.from({ length: 20_000 }, (_, i) => {
        const payload = Buffer.from(`/w/${i % 500}\0${token}\0`, 'latin1');
        return Buffer.concat([header(XsType.WATCH_EVENT, 0, 0, payload.length), payload]);
      }),
    );
    await server.sendRaw(flood);
    const r = client.read('/after');
    await server.reply((await server.next())!, 'still fine');
    expect(value(await r)).toBe('still fine'); // every event was processed before this reply
    const w = watch as unknown as { queued: number; dropped: number };
    expect(w.queued).toBeLessThanOrEqual(16);
    expect(w.dropped).toBeGreaterThan(19_000);
    // The reader still learns that something changed.
    expect(value(await watch.next())).toMatch(/^\/w/);
  });

  it('refuses TRANSACTION_START replies that are not a transaction id', async () => {
    const t = client.transaction(async (tx) => tx.read('/a'));
    await server.reply((await server.next())!, 'not-a-number\0');
    expect(failure(await t).kind).toBe('protocol');
  });

  it('never sends a payload over 4096 bytes, whatever it is asked', async () => {
    const e = failure(await client.request({ type: 'CONTROL', args: ['x'.repeat(5000)] }, 0));
    expect(e.code).toBe('E2BIG');
    const r = client.read('/a');
    const req = (await server.next())!;
    expect(req.type).toBe(XsType.READ); // the oversized request never went out
    await server.reply(req, 'v');
    expect(value(await r)).toBe('v');
  });
});
