import { EOF } from '@flow/core';
import { connect, consolePair } from '../src';
import { readAll } from './support/io';

describe('consolePair', () => {
  test('log writes the line with the configured ending; the peer reads it', async () => {
    const [a, b] = consolePair({ lineEnding: '\r\n' });
    await a.log('hello');
    await a.log('wörld');
    await a.shutdownWrite();
    expect((await readAll(b)).toString('utf8')).toBe('hello\r\nwörld\r\n');
    expect(a.peer).toBe(b);
    expect(b.peer).toBe(a);
  });

  test('log after close drops the line silently', async () => {
    const [a, b] = consolePair();
    await a.log('before');
    const closing = a.close();
    // Dropped: the console is closing.
    await expect(a.log('during close')).resolves.toBeUndefined();
    expect((await readAll(b)).toString()).toBe('before\n');
    await b.close();
    expect((await closing).ok).toBe(true);
    await expect(a.log('after close')).resolves.toBeUndefined();
    expect(a.stats.bytesAccepted).toBe('before\n'.length);
  });

  test('log after disconnect drops silently; write returns closed and read returns EOF', async () => {
    const [a, b] = consolePair();
    await a.disconnect();
    await expect(a.log('gone')).resolves.toBeUndefined();
    const w = await a.write(Buffer.from('x'));
    expect(w.ok ? 'ok' : w.error.kind).toBe('closed');
    const r = await a.read();
    expect(r.ok && r.value === EOF).toBe(true);
    expect(a.disconnected).toBe(true);
    await b.disconnect();
  });

  test('a read pending when the console is disconnected resolves with EOF', async () => {
    const [a, b] = consolePair();
    const pending = a.read();
    const d1 = a.disconnect();
    const d2 = a.disconnect();
    expect(d1).toBe(d2);
    await d1;
    const r = await pending;
    expect(r.ok && r.value === EOF).toBe(true);
    expect(a.state).toBe('aborted');
    // The peer sees the disconnect as a reset, not as a clean end of stream.
    const peer = await b.read();
    expect(peer.ok ? 'data' : peer.error.kind).toBe('reset');
    await b.disconnect();
  });

  test('connect("memory") returns one end whose peer is the other', async () => {
    const r = await connect('memory?capacity=16&lineEnding=cr');
    if (!r.ok || r.value.backend !== 'memory') throw new Error('expected a memory console');
    const con = r.value;
    expect(con.lineEnding).toBe('\r');
    await con.log('ping');
    await con.shutdownWrite();
    expect((await readAll(con.peer)).toString()).toBe('ping\r');
    await con.disconnect();
    await con.peer.disconnect();
  });

  test('await using closes with the handshake and disconnects when the scope ends', async () => {
    const r = await connect('memory');
    if (!r.ok || r.value.backend !== 'memory') throw new Error('expected a memory console');
    const peer = r.value.peer;
    const peerRead = readAll(peer).then(async (got) => {
      await peer.close();
      return got.toString();
    });
    let inner: typeof r.value | undefined;
    {
      await using con = r.value;
      inner = con;
      await con.log('bye');
    }
    expect(await peerRead).toBe('bye\n');
    expect(inner.disconnected).toBe(true);
    expect(inner.state).toBe('closed');
    await peer.disconnect();
  });

  test('capabilities of the memory console are those of the in-memory pair', () => {
    const [a, b] = consolePair();
    expect(a.capabilities.halfCloseWrite).toBe('native');
    expect(a.backend).toBe('memory');
    a.abort();
    b.abort();
  });
});
