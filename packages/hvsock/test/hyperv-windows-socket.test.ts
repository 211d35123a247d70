// WindowsSocket (src/hyperv/windows-socket.ts): Hyper-V completions turned into the readiness
// that the buffered flow expects, driven against a double of the Windows addon
// (test/support/windows-addon-double.ts, which imitates native/hvsock_win.c and Winsock's
// documented overlapped behaviour). These tests run on Linux; the addon itself runs only on
// Windows and is not exercised here.
import { createHash } from 'node:crypto';
import { EOF, type Flow } from '@flow/core';
import { guidToBytes, HV_GUID_LOOPBACK, HV_GUID_WILDCARD, serviceIdForPort } from '../src/address/guid';
import type { HypervSocketHandle } from '../src/hyperv/binding';
import { hypervFlow } from '../src/hyperv/socket-flow';
import { WindowsSocket } from '../src/hyperv/windows-socket';
import { EAGAIN, EBADF } from '../src/socket';
import { patternBytes } from './support/bytes';
import { WindowsAddonDouble, WSA, type WindowsAddonDoubleOptions } from './support/windows-addon-double';

const EPIPE = 32;
const EIO = 5;
const ECONNRESET = 104;
const ECONNABORTED = 103;
const ENETDOWN = 100;
const ENOTCONN = 107;

const SERVICE = guidToBytes(serviceIdForPort(5000));

/** A connected pair of addon handles from the double: [client, server]. */
async function handlePair(addon: WindowsAddonDouble): Promise<[HypervSocketHandle, HypervSocketHandle]> {
  const listener = addon.hvSocket() as HypervSocketHandle;
  expect(addon.hvBind(listener, guidToBytes(HV_GUID_WILDCARD), SERVICE)).toBe(0);
  expect(addon.hvListen(listener, 4)).toBe(0);
  const client = addon.hvSocket() as HypervSocketHandle;
  const connected = new Promise<number>((resolve) => expect(addon.hvConnect(client, guidToBytes(HV_GUID_LOOPBACK), SERVICE, resolve)).toBe(0));
  const accepted = new Promise<HypervSocketHandle>((resolve, reject) =>
    addon.hvAccept(listener, (status, socket) => (status === 0 && socket ? resolve(socket) : reject(new Error(`accept ${status}`)))),
  );
  expect(await connected).toBe(0);
  const server = await accepted;
  addon.hvClose(listener);
  return [client, server];
}

interface Pair {
  addon: WindowsAddonDouble;
  a: WindowsSocket;
  b: WindowsSocket;
  ha: HypervSocketHandle;
  hb: HypervSocketHandle;
}

/** Sockets a test opened, closed after it (a watched, ready socket reports on every turn until closed). */
const opened: WindowsSocket[] = [];

afterEach(async () => {
  for (const s of opened.splice(0)) s.close();
  await settle();
});

async function socketPair(messageSize = 16, options: WindowsAddonDoubleOptions = {}): Promise<Pair> {
  const addon = new WindowsAddonDouble(options);
  const [ha, hb] = await handlePair(addon);
  const a = new WindowsSocket(addon, ha, { messageSize, label: 'a' });
  const b = new WindowsSocket(addon, hb, { messageSize, label: 'b' });
  opened.push(a, b);
  return { addon, a, b, ha, hb };
}

/** The next readiness report of `socket`. */
function nextReady(socket: WindowsSocket): Promise<{ status: number; readable: boolean; writable: boolean }> {
  return new Promise((resolve) => socket.onReady((status, readable, writable) => resolve({ status, readable, writable })));
}

/** Lets every completion and notification that is already due run. */
async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Writes all of `data` through `socket`, waiting for writable whenever it says -EAGAIN. */
async function writeAll(socket: WindowsSocket, data: Uint8Array): Promise<void> {
  let at = 0;
  socket.watch(false, true);
  while (at < data.length) {
    const n = socket.writev([data.subarray(at)]);
    if (n === -EAGAIN) {
      await nextReady(socket);
      continue;
    }
    if (n < 0) throw new Error(`writev ${n}`);
    at += n;
  }
  socket.watch(false, false);
}

/** Reads until EOF (0), waiting for readable on -EAGAIN. */
async function readAll(socket: WindowsSocket, size = 7): Promise<Buffer> {
  const parts: Buffer[] = [];
  socket.watch(true, false);
  for (;;) {
    const buffer = Buffer.alloc(size);
    const n = socket.read(buffer);
    if (n === -EAGAIN) {
      await nextReady(socket);
      continue;
    }
    if (n < 0) throw new Error(`read ${n}`);
    if (n === 0) return Buffer.concat(parts);
    parts.push(buffer.subarray(0, n));
  }
}

describe('reading', () => {
  it('gives -EAGAIN before data, keeps one receive outstanding, and reports readable when data came', async () => {
    const { addon, a, b, hb } = await socketPair();
    const buffer = Buffer.alloc(16);
    expect(b.read(buffer)).toBe(-EAGAIN);
    expect(b.read(buffer)).toBe(-EAGAIN);
    expect(addon.log.filter((e) => e === `${addon.socketOf(hb).id}:recv 16`)).toHaveLength(1);
    const ready = nextReady(b);
    b.watch(true, false);
    expect(a.writev([Buffer.from('hello')])).toBe(5);
    expect(await ready).toEqual({ status: 0, readable: true, writable: false });
    expect(b.read(buffer)).toBe(5);
    expect(buffer.subarray(0, 5).toString()).toBe('hello');
    expect(b.read(buffer)).toBe(-EAGAIN);
  });

  it('copies out in pieces when the reader asks for less, and stays readable meanwhile', async () => {
    const { a, b } = await socketPair();
    b.watch(true, false);
    let ready = nextReady(b);
    a.writev([Buffer.from('abcdefghij')]);
    await ready;
    const small = Buffer.alloc(4);
    expect(b.read(small)).toBe(4);
    expect(small.toString()).toBe('abcd');
    ready = nextReady(b);
    expect((await ready).readable).toBe(true);
    expect(b.read(small)).toBe(4);
    expect(small.toString()).toBe('efgh');
    expect(b.read(small)).toBe(2);
    expect(small.subarray(0, 2).toString()).toBe('ij');
    expect(b.read(small)).toBe(-EAGAIN);
  });

  it('does not receive while nobody reads or watches, so the peer feels back-pressure', async () => {
    const { addon, a, b, hb } = await socketPair(16, { capacity: 32 });
    await settle();
    expect(addon.log.some((e) => e.startsWith(`${addon.socketOf(hb).id}:recv`))).toBe(false);
    a.watch(false, true);
    expect(a.writev([Buffer.alloc(16, 1)])).toBe(16);
    await nextReady(a);
    expect(a.writev([Buffer.alloc(16, 2)])).toBe(16);
    await nextReady(a);
    // The peer's receive buffer (32 bytes) is full: this send stays pending.
    expect(a.writev([Buffer.alloc(16, 3)])).toBe(16);
    await settle();
    expect(a.writev([Buffer.alloc(1)])).toBe(-EAGAIN);
    // Reading makes room, and the pending send completes.
    const writable = nextReady(a);
    expect(Buffer.concat([await readSome(b), await readSome(b), await readSome(b)])).toEqual(Buffer.concat([Buffer.alloc(16, 1), Buffer.alloc(16, 2), Buffer.alloc(16, 3)]));
    expect((await writable).writable).toBe(true);
  });

  it('gives 0 at end of stream, after every byte, and again on later reads', async () => {
    const { a, b } = await socketPair();
    const data = patternBytes(100, 1);
    await writeAll(a, data);
    expect(a.shutdown('write')).toBe(0);
    expect(await readAll(b)).toEqual(data);
    expect(b.read(Buffer.alloc(4))).toBe(0);
    expect(b.read(Buffer.alloc(4))).toBe(0);
  });

  it('gives 0 when the peer closed', async () => {
    const { a, b } = await socketPair();
    a.close();
    expect(await readAll(b)).toEqual(Buffer.alloc(0));
  });

  it.each([
    [WSA.WSAECONNRESET, ECONNRESET, 'WSAECONNRESET 10054'],
    [WSA.WSAECONNABORTED, ECONNABORTED, 'WSAECONNABORTED 10053'],
    [WSA.WSAENETDOWN, ENETDOWN, 'WSAENETDOWN 10050'],
    [12345, EIO, 'Windows error 12345'],
  ])('maps a failed receive (%i) to -errno %i and keeps the Windows name (%s)', async (wsa, errno, name) => {
    const { addon, b, hb } = await socketPair();
    b.watch(true, false);
    const ready = nextReady(b);
    addon.breakConnection(hb, wsa);
    expect((await ready).readable).toBe(true);
    expect(b.read(Buffer.alloc(4))).toBe(-errno);
    // Sticky, as the socket is broken for good.
    expect(b.read(Buffer.alloc(4))).toBe(-errno);
    expect(b.describeErrno(errno)).toBe(name);
  });

  it('never turns a completion error into -EAGAIN (a WSAEWOULDBLOCK completion reads as EIO)', async () => {
    const { addon, b, hb } = await socketPair();
    b.watch(true, false);
    const ready = nextReady(b);
    addon.breakConnection(hb, 10035);
    await ready;
    expect(b.read(Buffer.alloc(4))).toBe(-EIO);
    expect(b.describeErrno(EIO)).toBe('WSAEWOULDBLOCK 10035');
  });

  it('reports a receive that cannot start as the read error at once', async () => {
    const { addon, b } = await socketPair();
    addon.failNext('hvRecv', 10057);
    expect(b.read(Buffer.alloc(4))).toBe(-ENOTCONN);
    expect(b.describeErrno(ENOTCONN)).toBe('WSAENOTCONN 10057');
  });

  it("shutdown('read') is local: reads give 0, nothing goes to Windows", async () => {
    const { addon, a, b } = await socketPair();
    a.writev([Buffer.from('dropped')]);
    expect(b.shutdown('read')).toBe(0);
    expect(b.read(Buffer.alloc(4))).toBe(0);
    expect(addon.log.some((e) => / shutdown 0$/.test(e))).toBe(false);
  });
});

describe('writing', () => {
  it('takes at most messageSize bytes per send, copies them, and gives -EAGAIN while a send is in flight', async () => {
    const { addon, a, b, ha } = await socketPair(8, { capacity: 4 });
    const chunk = Buffer.from('0123456789abcdef');
    expect(a.writev([chunk.subarray(0, 3), chunk.subarray(3)])).toBe(8);
    // The caller may reuse its buffer at once: the bytes were copied (the peer's buffer takes
    // only 4 bytes, so the double reads the rest of the send later, after this change).
    chunk.fill(0x78);
    expect(a.writev([Buffer.from('zz')])).toBe(-EAGAIN);
    const writable = nextReady(a);
    a.watch(false, true);
    const reading = readAll(b);
    expect(await writable).toEqual({ status: 0, readable: false, writable: true });
    const small = Buffer.from('ab');
    expect(a.writev([small])).toBe(2);
    small.fill(0x79);
    a.shutdown('write');
    expect((await reading).toString()).toBe('01234567ab');
    expect(addon.socketOf(ha).sendSizes).toEqual([8, 2]);
    expect(addon.socketOf(ha).overlappingSends).toBe(0);
  });

  it('sends the rest of a partial send before it reports writable, in order', async () => {
    const { addon, a, b, ha } = await socketPair(64, { capacity: 10, partialSends: true });
    const data = patternBytes(1000, 2);
    const reading = readAll(b, 13);
    await writeAll(a, data);
    a.shutdown('write');
    expect(await reading).toEqual(data);
    const sizes = addon.socketOf(ha).sendSizes;
    expect(sizes.length).toBeGreaterThan(1000 / 64);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64);
    expect(addon.socketOf(ha).overlappingSends).toBe(0);
  });

  it('reports a send that cannot start, and keeps that error', async () => {
    const { addon, a } = await socketPair();
    addon.failNext('hvSend', WSA.WSAECONNABORTED);
    expect(a.writev([Buffer.from('x')])).toBe(-ECONNABORTED);
    expect(a.writev([Buffer.from('x')])).toBe(-ECONNABORTED);
    expect(a.shutdown('write')).toBe(-ECONNABORTED);
    expect(a.describeErrno(ECONNABORTED)).toBe('WSAECONNABORTED 10053');
  });

  it('reports a failed send as writable, then as the error from writev', async () => {
    const { addon, a, ha } = await socketPair(16, { capacity: 4 });
    a.watch(false, true);
    expect(a.writev([Buffer.alloc(16)])).toBe(16);
    await settle();
    const ready = nextReady(a);
    addon.breakConnection(ha, WSA.WSAECONNRESET);
    expect((await ready).writable).toBe(true);
    expect(a.writev([Buffer.from('x')])).toBe(-ECONNRESET);
  });

  it('returns 0 for nothing to write, without a send', async () => {
    const { addon, a, ha } = await socketPair();
    expect(a.writev([])).toBe(0);
    expect(a.writev([Buffer.alloc(0)])).toBe(0);
    expect(addon.socketOf(ha).sendSizes).toEqual([]);
  });
});

describe("shutdown('write')", () => {
  it('waits for the send in flight: the end of stream goes after the data', async () => {
    const { addon, a, b, ha } = await socketPair(16, { capacity: 16 });
    const data = patternBytes(16, 3);
    expect(a.writev([data])).toBe(16);
    expect(a.shutdown('write')).toBe(0);
    const id = addon.socketOf(ha).id;
    expect(addon.log).not.toContain(`${id}:shutdown 1`);
    expect(await readAll(b)).toEqual(data);
    expect(addon.log.indexOf(`${id}:send-done 16`)).toBeLessThan(addon.log.indexOf(`${id}:shutdown 1`));
    expect(a.writev([Buffer.from('late')])).toBe(-EPIPE);
    expect(a.shutdown('write')).toBe(0);
  });

  it('shuts down at once when no send is in flight', async () => {
    const { addon, a, ha } = await socketPair();
    expect(a.shutdown('write')).toBe(0);
    expect(addon.log).toContain(`${addon.socketOf(ha).id}:shutdown 1`);
  });

  it('reports a refused shutdown as -errno', async () => {
    const { addon, a } = await socketPair();
    addon.failNext('hvShutdown', WSA.WSAENOTCONN);
    expect(a.shutdown('write')).toBe(-ENOTCONN);
  });
});

describe('readiness and close', () => {
  it('never reports from inside a call: watch() on a writable socket reports on a later turn', async () => {
    const { a } = await socketPair();
    const seen: boolean[] = [];
    a.onReady((_s, _r, writable) => seen.push(writable));
    a.watch(false, true);
    expect(seen).toEqual([]);
    await settle(1);
    expect(seen).toEqual([true]);
  });

  it('reports nothing while nothing is watched', async () => {
    const { a, b } = await socketPair();
    const seen: string[] = [];
    b.onReady(() => seen.push('ready'));
    b.read(Buffer.alloc(4));
    a.writev([Buffer.from('data')]);
    await settle();
    expect(seen).toEqual([]);
    b.watch(true, false);
    await settle();
    expect(seen.length).toBeGreaterThan(0);
  });

  it('closes with a receive and a send in flight: later calls give -EBADF and nothing reaches the owner', async () => {
    const { addon, a, ha } = await socketPair(16, { capacity: 4 });
    const seen: string[] = [];
    a.onReady((status, readable, writable) => seen.push(`${status} ${readable} ${writable}`));
    a.watch(true, true);
    expect(a.read(Buffer.alloc(4))).toBe(-EAGAIN);
    expect(a.writev([Buffer.alloc(16)])).toBe(16);
    a.close();
    a.close();
    expect(addon.socketOf(ha).closed).toBe(true);
    expect(addon.pendingCallbacks).toBeGreaterThan(0);
    await settle(10);
    // The addon completed both operations with WSA_OPERATION_ABORTED; the owner heard none of it.
    expect(addon.pendingCallbacks).toBe(0);
    expect(seen).toEqual([]);
    expect(a.read(Buffer.alloc(4))).toBe(-EBADF);
    expect(a.writev([Buffer.from('x')])).toBe(-EBADF);
    expect(a.shutdown('write')).toBe(-EBADF);
    a.watch(true, true);
    await settle();
    expect(seen).toEqual([]);
    expect(addon.socketOf(ha).callsAfterClose).toBe(0);
  });

  it('drops a notification already scheduled when the socket closes', async () => {
    const { a } = await socketPair();
    const seen: string[] = [];
    a.onReady(() => seen.push('ready'));
    a.watch(false, true);
    a.close();
    await settle();
    expect(seen).toEqual([]);
  });

  it('rejects an empty read buffer and a bad messageSize as programmer errors', async () => {
    const { addon, a, ha } = await socketPair();
    expect(() => a.read(Buffer.alloc(0))).toThrow(RangeError);
    expect(() => new WindowsSocket(addon, ha, { messageSize: 0, label: 'x' })).toThrow(RangeError);
  });
});

describe('the buffered flow over WindowsSocket', () => {
  async function flowPair(messageSize: number, bufferSize: number, addonOptions: WindowsAddonDoubleOptions = {}) {
    const addon = new WindowsAddonDouble(addonOptions);
    const [ha, hb] = await handlePair(addon);
    const remote = { kind: 'hvsock', vmId: HV_GUID_LOOPBACK, serviceId: serviceIdForPort(5000) } as const;
    const local = { kind: 'hvsock', vmId: HV_GUID_WILDCARD, serviceId: serviceIdForPort(5000) } as const;
    const a = hypervFlow(addon, ha, { messageSize, bufferSize }, remote, local);
    const b = hypervFlow(addon, hb, { messageSize, bufferSize }, local, remote);
    return { addon, a, b, ha, hb };
  }

  async function send(flow: Flow, data: Uint8Array, piece: number): Promise<void> {
    for (let at = 0; at < data.length; at += piece) {
      const r = await flow.write(data.subarray(at, Math.min(data.length, at + piece)));
      if (!r.ok) throw r.error;
    }
    const s = await flow.shutdownWrite();
    if (!s.ok) throw s.error;
  }

  async function receive(flow: Flow): Promise<{ bytes: number; sha256: string }> {
    const h = createHash('sha256');
    let bytes = 0;
    for (;;) {
      const r = await flow.read();
      if (!r.ok) throw r.error;
      if (r.value === EOF) return { bytes, sha256: h.digest('hex') };
      if (r.value.length === 0) throw new Error(`an empty chunk after ${bytes} bytes`);
      h.update(r.value);
      bytes += r.value.length;
    }
  }

  const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

  it('moves 4 MiB each way at once, intact, with every call within messageSize, then closes cleanly', async () => {
    const messageSize = 8192;
    const { addon, a, b, ha, hb } = await flowPair(messageSize, 64 * 1024, { capacity: 32 * 1024 });
    const ab = patternBytes(4 * 1024 * 1024, 11);
    const ba = patternBytes(4 * 1024 * 1024 + 4099, 12);
    const [, , gotAtB, gotAtA] = await Promise.all([send(a, ab, 100_000), send(b, ba, 65_537), receive(b), receive(a)]);
    expect(gotAtB).toEqual({ bytes: ab.length, sha256: sha256(ab) });
    expect(gotAtA).toEqual({ bytes: ba.length, sha256: sha256(ba) });
    for (const h of [ha, hb]) {
      const s = addon.socketOf(h);
      expect(Math.max(...s.sendSizes)).toBeLessThanOrEqual(messageSize);
      expect(s.overlappingSends).toBe(0);
    }
    expect(addon.log.filter((e) => /:recv \d+$/.test(e)).every((e) => Number(e.split(' ')[1]) === messageSize)).toBe(true);
    const [ca, cb] = await Promise.all([a.close(), b.close()]);
    expect(ca.ok && cb.ok).toBe(true);
    await settle();
    expect(addon.openSockets).toBe(0);
    expect(addon.pendingCallbacks).toBe(0);
  });

  it('carries a connection reset to the reader as a typed error', async () => {
    const { addon, a, b, hb } = await flowPair(1024, 4096);
    const reading = a.read();
    addon.breakConnection(addon.socketOf(hb).peer?.handle as HypervSocketHandle, WSA.WSAECONNRESET);
    const r = await reading;
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('reset');
      expect(r.error.code).toBe('ECONNRESET');
      expect(r.error.errno).toBe(ECONNRESET);
    }
    a.abort();
    b.abort();
  });

  it('aborts with operations in flight and leaves no socket open and no completion undelivered', async () => {
    const { addon, a, b } = await flowPair(1024, 4096, { capacity: 1024 });
    const reading = b.read();
    const writing = a.write(patternBytes(64 * 1024, 5));
    a.abort();
    b.abort();
    expect((await reading).ok).toBe(false);
    expect((await writing).ok).toBe(false);
    await settle(10);
    expect(addon.openSockets).toBe(0);
    expect(addon.pendingCallbacks).toBe(0);
  });
});

async function readSome(socket: WindowsSocket): Promise<Buffer> {
  socket.watch(true, false);
  for (;;) {
    const buffer = Buffer.alloc(16);
    const n = socket.read(buffer);
    if (n > 0) return buffer.subarray(0, n);
    if (n !== -EAGAIN) throw new Error(`read ${n}`);
    await nextReady(socket);
  }
}
