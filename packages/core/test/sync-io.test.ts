import { EOF, pair, type Flow } from '../src';
import { syncIoOf, type SyncIo } from '../src/sync-io';

function face(flow: Flow): SyncIo {
  const io = syncIoOf(flow);
  if (!io) throw new Error('flows made by createFlow have a synchronous face');
  return io;
}

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString();
}

describe('the synchronous face of flows made by createFlow', () => {
  test('readNow takes a buffered chunk at once, and is undefined while a read would wait', async () => {
    const [a, b] = pair();
    expect(face(b).readNow()).toBeUndefined();
    await a.write(Buffer.from('now'));
    const r = face(b).readNow();
    expect(r?.ok && r.value !== EOF && text(r.value)).toBe('now');
    expect(b.stats.bytesRead).toBe(3);
    await a.shutdownWrite();
    expect(face(b).readNow()).toEqual({ ok: true, value: EOF });
  });

  test('readNow leaves the data to a read that was already waiting', async () => {
    const [a, b] = pair();
    const waiting = b.read();
    expect(face(b).readNow()).toBeUndefined();
    await a.write(Buffer.from('theirs'));
    const r = await waiting;
    expect(r.ok && r.value !== EOF && text(r.value)).toBe('theirs');
  });

  test('whenReadable tells its listener once, inside the push, after the reads that waited before it', async () => {
    const [a, b] = pair();
    const order: string[] = [];
    const waiting = b.read().then((r) => order.push(`read ${r.ok && r.value !== EOF ? text(r.value) : '?'}`));
    face(b).whenReadable(() => {
      const r = face(b).readNow();
      order.push(`listener ${r?.ok && r.value !== EOF ? text(r.value) : String(r)}`);
    });
    // Two chunks in one write: the waiting read takes the first, the listener finds the second.
    const writing = a.writev([Buffer.from('one'), Buffer.from('two')]);
    expect(order).toEqual(['listener two']);
    await writing;
    await waiting;
    expect(order).toEqual(['listener two', 'read one']);
    await a.write(Buffer.from('three'));
    expect(order).toHaveLength(2);
  });

  test('whenReadable is told of EOF and of abort; a cancelled listener is never told', async () => {
    const [a, b] = pair();
    let toldOfEnd = 0;
    face(b).whenReadable(() => (toldOfEnd += 1));
    let cancelledTold = 0;
    const cancel = face(b).whenReadable(() => (cancelledTold += 1));
    cancel();
    await a.shutdownWrite();
    expect(toldOfEnd).toBe(1);
    expect(cancelledTold).toBe(0);
    const [c, d] = pair();
    let toldOfAbort = 0;
    face(d).whenReadable(() => (toldOfAbort += 1));
    d.abort();
    expect(toldOfAbort).toBe(1);
    expect(face(d).readNow()?.ok).toBe(false);
    c.abort();
  });

  test('writeNow answers at once when the driver did, and with a promise when it must wait', async () => {
    const [a, b] = pair({ capacity: 4 });
    expect(face(a).writeNow(Buffer.from('abcd'), undefined)).toEqual({ ok: true, value: undefined });
    const waiting = face(a).writeNow(Buffer.from('ef'), undefined);
    expect(waiting).toBeInstanceOf(Promise);
    await b.read();
    expect((await waiting).ok).toBe(true);
    expect(a.stats.bytesAccepted).toBe(6);
    expect(a.stats.writeOps).toBe(2);
  });
});
