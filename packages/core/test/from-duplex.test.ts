import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import {
  DIRECT_READ_BUFFER_SIZE,
  DIRECT_READ_BULK_MIN,
  DIRECT_READ_MAX_OWN_BUFFERS,
  DirectReads,
  directReadOwnBuffers,
  EOF,
  fromDuplex,
  withDirectReads,
  type Flow,
  type ReadResult,
} from '../src';

function text(r: ReadResult): string {
  if (!r.ok) return `<${r.error.kind}>`;
  if (r.value === EOF) return '<EOF>';
  return Buffer.from(r.value).toString();
}

async function readAll(flow: Flow): Promise<{ data: Buffer; end: string }> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const r = await flow.read();
    if (!r.ok || r.value === EOF) return { data: Buffer.concat(parts), end: text(r) };
    parts.push(r.value);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** Everything a plain socket receives until its 'end' (or 'close'), with any error it saw. */
function collect(socket: Socket): Promise<{ data: Buffer; error?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let error: NodeJS.ErrnoException | undefined;
    socket.on('data', (c: Buffer) => parts.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e));
    socket.on('end', () => resolve({ data: Buffer.concat(parts), error }));
    socket.on('close', () => resolve({ data: Buffer.concat(parts), error }));
  });
}

interface Loopback {
  client: Socket;
  server: Socket;
  close(): Promise<void>;
}

const servers = new Set<Server>();
const sockets = new Set<Socket>();

/** How the loopback's sockets are read: Node's default mode, or ours (see direct-reads.ts). */
type ReadMode = "Node's reads" | 'direct reads';

/**
 * A real TCP connection on 127.0.0.1. In Node's mode the server socket keeps Node's default
 * allowHalfOpen (false); in direct mode both ends read into the shared buffer, the client made
 * with `DirectReads` and the accepted socket moved by `withDirectReads`.
 */
async function loopbackIn(mode: ReadMode = "Node's reads"): Promise<Loopback> {
  const direct = mode === 'direct reads';
  const server = createServer({ pauseOnConnect: direct });
  servers.add(server);
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const reads = new DirectReads();
  const client = direct ? reads.bind(connect({ port, host: '127.0.0.1', ...reads.socketOptions() })) : connect(port, '127.0.0.1');
  await new Promise<void>((r, reject) => {
    client.once('connect', r);
    client.once('error', reject);
  });
  const serverSocket = direct ? withDirectReads(await accepted) : await accepted;
  sockets.add(client);
  sockets.add(serverSocket);
  return {
    client,
    server: serverSocket,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Node's default mode, for the tests outside the per-mode suite. */
const loopback = (): Promise<Loopback> => loopbackIn("Node's reads");

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all([...servers].map((s) => new Promise<void>((r) => s.close(() => r()))));
  servers.clear();
});

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

describe.each(["Node's reads", 'direct reads'] as const)('fromDuplex over real loopback TCP (%s)', (mode) => {
  const loopback = (): Promise<Loopback> => loopbackIn(mode);

  test('allowHalfOpen: the peer\'s FIN does not end our write side, a reply after it arrives', async () => {
    const { client, server } = await loopback();
    expect(server.allowHalfOpen).toBe(mode === 'direct reads');
    const flow = fromDuplex(server);
    const received = collect(client);
    client.write('request');
    client.end();
    expect(await readAll(flow)).toEqual({ data: Buffer.from('request'), end: '<EOF>' });
    // Node's own auto-end would make a write this late fail with EPIPE.
    await sleep(30);
    expect((await flow.write(Buffer.from('late reply'))).ok).toBe(true);
    expect((await flow.close()).ok).toBe(true);
    const got = await received;
    expect(got.data.toString()).toBe('late reply');
    expect(got.error).toBeUndefined();
  });

  test('reading to EOF does not destroy the socket (no for-await trap): the write half still works', async () => {
    const { client, server } = await loopback();
    const flow = fromDuplex(client);
    server.end('bye');
    expect(await readAll(flow)).toEqual({ data: Buffer.from('bye'), end: '<EOF>' });
    expect(client.destroyed).toBe(false);
    expect(client.writable).toBe(true);
    const received = collect(server);
    expect((await flow.write(Buffer.from('still writing'))).ok).toBe(true);
    expect((await flow.shutdownWrite()).ok).toBe(true);
    expect((await received).data.toString()).toBe('still writing');
    expect((await flow.close()).ok).toBe(true);
    expect(client.destroyed).toBe(true);
  });

  test('16 MiB written then close() delivers every byte (graceful close is not destroy)', async () => {
    const { client, server } = await loopback();
    const flow = fromDuplex(client);
    const data = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i, i);
    const received = collect(server).then((r) => {
      server.end();
      return r;
    });
    const MiB = 1024 * 1024;
    for (let off = 0; off < data.length; off += MiB) {
      const w = await flow.write(data.subarray(off, off + MiB));
      expect(w.ok).toBe(true);
    }
    expect((await flow.close()).ok).toBe(true);
    const got = await received;
    expect(got.data.length).toBe(data.length);
    expect(sha256(got.data)).toBe(sha256(data));
    expect(flow.stats.bytesAccepted).toBe(data.length);
    expect(flow.stats.bytesFlushed).toBe(data.length);
  }, 60000);

  test('a peer RST becomes a read error of kind reset and later writes fail with a typed error, never a crash', async () => {
    const { client, server } = await loopback();
    const flow = fromDuplex(client);
    server.on('data', () => server.resetAndDestroy());
    expect((await flow.write(Buffer.from('trigger'))).ok).toBe(true);
    const r = await flow.read();
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('reset');
      expect(r.error.code).toBe('ECONNRESET');
    }
    const again = await flow.read();
    expect(!again.ok && again.error.kind).toBe('reset');
    const w = await flow.write(Buffer.from('after reset'));
    expect(w.ok).toBe(false);
    if (!w.ok) expect(['reset', 'closed']).toContain(w.error.kind);
    const c = await flow.close();
    expect(c.ok).toBe(false);
    expect(flow.state).toBe('aborted');
  });

  test('a write resolves only when accepted: with a stalled reader Node\'s buffer stays bounded and bytesWritten runs ahead of bytesAccepted', async () => {
    const { client, server } = await loopback();
    server.pause();
    const flow = fromDuplex(client);
    const CHUNK = 64 * 1024;
    const LIMIT = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(CHUNK, 0x5a);
    let pending = false;
    let stopWriting = false;
    let written = 0;
    const writer = (async () => {
      while (!stopWriting && written < LIMIT) {
        pending = true;
        const w = await flow.write(chunk);
        pending = false;
        if (!w.ok) throw w.error;
        written += CHUNK;
      }
    })();
    // Wait until the writer is stuck on backpressure: a write pending and nothing accepted for a while.
    let stable = 0;
    let last = -1;
    while (stable < 5) {
      await sleep(10);
      const accepted = flow.stats.bytesAccepted;
      stable = pending && accepted === last ? stable + 1 : 0;
      last = accepted;
    }
    expect(written).toBeLessThan(LIMIT);
    // One write at a time sits in Node's queue: the flow waits for its callback before the next.
    expect(client.writableLength).toBeLessThanOrEqual(CHUNK);
    // Node counts the queued bytes of the pending write as written; the flow does not accept them yet.
    expect(client.bytesWritten - flow.stats.bytesAccepted).toBe(CHUNK);
    stopWriting = true;
    const received = collect(server);
    server.resume();
    await writer;
    expect((await flow.shutdownWrite()).ok).toBe(true);
    const got = await received;
    expect(got.data.length).toBe(written);
    server.end();
    expect((await flow.close()).ok).toBe(true);
  }, 60000);

  test('a writer that reuses its buffer as soon as each write settles never corrupts what the peer receives', async () => {
    const { client, server } = await loopback();
    server.pause();
    const flow = fromDuplex(client);
    const received = collect(server);
    const hash = createHash('sha256');
    const reused = Buffer.alloc(4000);
    const resume = setTimeout(() => server.resume(), 50);
    for (let i = 0; i < 4000; i++) {
      reused.fill(i & 0xff);
      hash.update(reused);
      const w = await flow.write(reused);
      expect(w.ok).toBe(true);
    }
    clearTimeout(resume);
    server.resume();
    expect((await flow.shutdownWrite()).ok).toBe(true);
    const got = await received;
    expect(got.data.length).toBe(4000 * 4000);
    expect(createHash('sha256').update(got.data).digest('hex')).toBe(hash.digest('hex'));
    flow.abort();
  }, 60000);

  test('zero-length writes send nothing and resolve at once', async () => {
    const { client, server } = await loopback();
    const flow = fromDuplex(client);
    expect((await flow.write(new Uint8Array(0))).ok).toBe(true);
    expect((await flow.writev([])).ok).toBe(true);
    expect(client.bytesWritten).toBe(0);
    const received = collect(server);
    await flow.write(Buffer.from('x'));
    await flow.shutdownWrite();
    expect((await received).data.toString()).toBe('x');
  });

  test('abort sends a RST: the peer sees ECONNRESET, not a clean end', async () => {
    const { client, server } = await loopback();
    const flow = fromDuplex(server);
    const peer = new Promise<NodeJS.ErrnoException | 'end'>((resolve) => {
      client.on('error', resolve);
      client.on('end', () => resolve('end'));
    });
    const delivered = new Promise<void>((r) => client.once('data', () => r()));
    await flow.write(Buffer.from('partial'));
    // Linux folds a RST that lands on unread data into a plain EOF for the reader, so the peer
    // reads the data first.
    await delivered;
    flow.abort(new Error('give up'));
    const seen = await peer;
    expect(seen).not.toBe('end');
    expect(seen !== 'end' && seen.code).toBe('ECONNRESET');
    expect(server.destroyed).toBe(true);
    expect(flow.state).toBe('aborted');
    expect(flow.capabilities.abort).toBe('rst');
  });

  test('the close handshake over TCP: close waits for the peer, which can still reply; both end closed', async () => {
    const { client, server } = await loopback();
    const a = fromDuplex(client);
    const b = fromDuplex(server);
    await a.write(Buffer.from('question'));
    const closingA = a.close();
    expect(a.state).toBe('closing');
    expect(await readAll(b)).toEqual({ data: Buffer.from('question'), end: '<EOF>' });
    expect(a.state).toBe('closing');
    await b.write(Buffer.from('answer'));
    const closingB = b.close();
    expect(await readAll(a)).toEqual({ data: Buffer.from('answer'), end: '<EOF>' });
    const [ra, rb] = await Promise.all([closingA, closingB]);
    expect(ra.ok && rb.ok).toBe(true);
    expect([a.state, b.state]).toEqual(['closed', 'closed']);
    await Promise.all([a.closed, b.closed]);
    expect(client.destroyed && server.destroyed).toBe(true);
  });

  test('a close with timeoutMs whose peer never closes aborts the socket', async () => {
    const { client, server } = await loopback();
    const flow = fromDuplex(client);
    // A peer that reads our FIN but never closes its own side.
    server.allowHalfOpen = true;
    server.resume();
    const r = await flow.close({ timeoutMs: 50 });
    expect(!r.ok && r.error.kind).toBe('timeout');
    expect(client.destroyed).toBe(true);
  });

  test('a slow reader pauses the socket: inbound memory stays bounded and nothing is lost', async () => {
    const { client, server } = await loopback();
    const flow = fromDuplex(client, { highWaterMark: 64 * 1024 });
    const data = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    let finished = false;
    server.end(data, () => (finished = true));
    while (!client.isPaused()) await sleep(5);
    // Paused while the peer still has most of its data: the kernel, not our heap, holds it.
    expect(finished).toBe(false);
    expect(client.readableLength).toBeLessThanOrEqual(1024 * 1024);
    const got = await readAll(flow);
    expect(got.end).toBe('<EOF>');
    expect(sha256(got.data)).toBe(sha256(data));
    await flow.close();
  }, 60000);

  test('a write aborted by its signal while Node drains reports everything as accepted, and the bytes still arrive', async () => {
    const { client, server } = await loopback();
    server.pause();
    const flow = fromDuplex(client);
    const big = Buffer.alloc(32 * 1024 * 1024, 0x42);
    const controller = new AbortController();
    const pending = flow.write(big, { signal: controller.signal });
    await sleep(20);
    controller.abort();
    const r = await pending;
    expect(!r.ok && r.error.kind).toBe('aborted');
    expect(!r.ok && r.error.bytesAccepted).toBe(big.length);
    expect(flow.writeState).toBe('open');
    const received = collect(server);
    server.resume();
    expect((await flow.write(Buffer.from('!'))).ok).toBe(true);
    expect((await flow.shutdownWrite()).ok).toBe(true);
    const got = await received;
    expect(got.data.length).toBe(big.length + 1);
    flow.abort();
  }, 60000);

  test('a socket whose connect is refused gives a refused read error and a failed write, never a crash', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const socket = connect(port, '127.0.0.1');
    sockets.add(socket);
    const flow = fromDuplex(socket);
    const r = await flow.read();
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('refused');
      expect(r.error.code).toBe('ECONNREFUSED');
    }
    const w = await flow.write(Buffer.from('x'));
    expect(!w.ok && w.error.kind).toBe('refused');
    flow.abort();
  });

  test('the label names both socket addresses', async () => {
    const { client } = await loopback();
    const flow = fromDuplex(client);
    expect(flow.label).toMatch(/^socket 127\.0\.0\.1:\d+ <-> 127\.0\.0\.1:\d+$/);
    flow.abort();
  });
});

describe('direct reads (withDirectReads, DirectReads)', () => {
  test('an accepted connection moves onto a new socket: same peer, the old object destroyed, the server no longer counts it', async () => {
    const server = createServer({ pauseOnConnect: true });
    servers.add(server);
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    sockets.add(client);
    const original = await accepted;
    const moved = withDirectReads(original);
    sockets.add(moved);
    expect(moved).not.toBe(original);
    expect(original.destroyed).toBe(true);
    expect(moved.remotePort).toBe(client.localPort);
    const count = await new Promise<number>((r, reject) => server.getConnections((e, n) => (e ? reject(e) : r(n))));
    expect(count).toBe(0);
    // Destroying the old object must not have closed the kernel socket: both ways still work.
    const flow = fromDuplex(moved);
    const back = collect(client);
    client.end('ping');
    expect(await readAll(flow)).toEqual({ data: Buffer.from('ping'), end: '<EOF>' });
    expect((await flow.write(Buffer.from('pong'))).ok).toBe(true);
    expect((await flow.close()).ok).toBe(true);
    expect((await back).data.toString()).toBe('pong');
  });

  test('a socket that is already reading (or gone) is left as it is', async () => {
    const { client, server } = await loopback();
    expect(withDirectReads(server)).toBe(server);
    client.destroy();
    expect(withDirectReads(client)).toBe(client);
  });

  test('every socket shares one read buffer: four connections carrying 8 MiB each way at once lose and mix nothing', async () => {
    const pairs = await Promise.all([0, 1, 2, 3].map(() => loopbackIn('direct reads')));
    const payload = (seed: number): Buffer => {
      const b = Buffer.alloc(8 * 1024 * 1024);
      for (let i = 0; i < b.length; i++) b[i] = (i * 31 + seed * 7 + (i >> 12)) & 0xff;
      return b;
    };
    const results = await Promise.all(
      pairs.flatMap(({ client, server }, n) => {
        const a = fromDuplex(client);
        const b = fromDuplex(server);
        const up = payload(2 * n);
        const down = payload(2 * n + 1);
        const send = async (flow: Flow, data: Buffer): Promise<void> => {
          for (let at = 0; at < data.length; at += 100_000) expect((await flow.write(data.subarray(at, at + 100_000))).ok).toBe(true);
          expect((await flow.shutdownWrite()).ok).toBe(true);
        };
        return [
          Promise.all([send(a, up), readAll(b)]).then(([, got]) => ({ want: sha256(up), got: sha256(got.data), end: got.end })),
          Promise.all([send(b, down), readAll(a)]).then(([, got]) => ({ want: sha256(down), got: sha256(got.data), end: got.end })),
        ];
      }),
    );
    for (const r of results) expect(r).toEqual({ want: r.want, got: r.want, end: '<EOF>' });
  }, 60000);

  test('bulk reads reach the flow without a copy, in a buffer of the socket\'s own; small ones are copied out of the shared one', async () => {
    const { client, server } = await loopbackIn('direct reads');
    const flow = fromDuplex(client);
    server.write('tiny');
    const first = await flow.read();
    expect(first.ok && first.value !== EOF && Buffer.from(first.value).toString()).toBe('tiny');
    // A 4-byte copy comes from Node's small-buffer pool, not from a 64 KiB buffer.
    expect(first.ok && first.value !== EOF && first.value.buffer.byteLength).toBeLessThan(DIRECT_READ_BUFFER_SIZE);
    // 48 KiB at a time, each after the last was read: one bulk read each, short of a full buffer,
    // so a copy (a buffer of exactly 48 KiB) and a handed-over read buffer (64 KiB) differ.
    const piece = 48 * 1024;
    const data = Buffer.alloc(piece * 64);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 16)) & 0xff;
    const parts: Uint8Array[] = [];
    let handedOver = 0;
    for (let at = 0; at < data.length; at += piece) {
      server.write(data.subarray(at, at + piece));
      for (let got = 0; got < piece; ) {
        const r = await flow.read();
        if (!r.ok || r.value === EOF) throw new Error('ended early');
        parts.push(r.value);
        got += r.value.length;
        if (r.value.byteLength >= DIRECT_READ_BULK_MIN && r.value.buffer.byteLength === DIRECT_READ_BUFFER_SIZE && r.value.byteLength < DIRECT_READ_BUFFER_SIZE) handedOver += 1;
      }
    }
    expect(sha256(Buffer.concat(parts))).toBe(sha256(data));
    expect(handedOver).toBeGreaterThan(32);
    expect(directReadOwnBuffers()).toBeGreaterThanOrEqual(1);
    await flow.abort();
    server.destroy();
    await until(() => directReadOwnBuffers() === 0);
  }, 60000);

  test(`at most ${DIRECT_READ_MAX_OWN_BUFFERS} sockets hold a buffer of their own, however many read in bulk; none once they closed`, async () => {
    const pairs = await Promise.all(Array.from({ length: DIRECT_READ_MAX_OWN_BUFFERS + 16 }, () => loopbackIn('direct reads')));
    const payload = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 5 + (i >> 10)) & 0xff;
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, directReadOwnBuffers())), 1);
    const got = await Promise.all(
      pairs.map(async ({ client, server }) => {
        server.end(payload);
        return sha256((await readAll(fromDuplex(client))).data);
      }),
    );
    clearInterval(sampler);
    for (const digest of got) expect(digest).toBe(sha256(payload));
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(DIRECT_READ_MAX_OWN_BUFFERS);
    for (const p of pairs) {
      p.client.destroy();
      p.server.destroy();
    }
    await until(() => directReadOwnBuffers() === 0);
  }, 60000);
});

describe('fromDuplex over other streams', () => {
  test('a PassThrough whose producer reuses its buffer does not corrupt what was read (copyChunks)', async () => {
    const pt = new PassThrough();
    const flow = fromDuplex(pt);
    const reused = Buffer.alloc(4);
    for (const word of ['aaaa', 'bbbb', 'cccc']) {
      reused.write(word);
      // The producer may reuse its buffer once the write callback ran.
      await new Promise<void>((r) => pt.write(reused, () => r()));
    }
    pt.end();
    const got = await readAll(flow);
    expect(got).toEqual({ data: Buffer.from('aaaabbbbcccc'), end: '<EOF>' });
    expect(flow.capabilities.abort).toBe('close');
  });

  test('empty chunks from the stream never surface as zero-length reads or as EOF', async () => {
    const pt = new PassThrough();
    const flow = fromDuplex(pt);
    pt.write(Buffer.alloc(0));
    pt.write('a');
    pt.write(new Uint8Array(0));
    pt.write('');
    pt.end('b');
    const reads: number[] = [];
    for (;;) {
      const r = await flow.read();
      if (!r.ok) throw r.error;
      if (r.value === EOF) break;
      reads.push(r.value.length);
    }
    expect(reads.every((n) => n >= 1)).toBe(true);
    expect(reads.reduce((x, y) => x + y, 0)).toBe(2);
  });

  test('a duplex that errors gives a typed read error instead of an unhandled error event', async () => {
    const d = new Duplex({
      read() {
        this.push('before ');
        this.destroy(Object.assign(new Error('device vanished'), { code: 'EIO' }));
      },
      write(_chunk, _enc, cb) {
        cb();
      },
    });
    const flow = fromDuplex(d);
    const first = await flow.read();
    const parts: string[] = [];
    let end = text(first);
    if (first.ok && first.value !== EOF) {
      parts.push(end);
      end = text(await flow.read());
    }
    expect(end).toBe('<io>');
    const w = await flow.write(Buffer.from('x'));
    expect(w.ok).toBe(false);
  });

  test('object-mode streams are a programmer error', () => {
    const d = new PassThrough({ objectMode: true });
    expect(() => fromDuplex(d)).toThrow(TypeError);
  });
});

describe('fromDuplex over a real child process (cat)', () => {
  const children = new Set<ChildProcessWithoutNullStreams>();
  afterEach(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children.clear();
  });

  function cat(): { child: ChildProcessWithoutNullStreams; exited: Promise<number | null>; flow: Flow } {
    const child = spawn('cat', [], { stdio: 'pipe' });
    children.add(child);
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const duplex = Duplex.from({ readable: child.stdout, writable: child.stdin });
    return { child, exited, flow: fromDuplex(duplex, { label: 'cat' }) };
  }

  test('bytes written to cat come back, EOF follows shutdownWrite, and close completes the handshake', async () => {
    const { exited, flow } = cat();
    const data = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const reading = readAll(flow);
    for (let off = 0; off < data.length; off += 100_000) {
      expect((await flow.write(data.subarray(off, off + 100_000))).ok).toBe(true);
    }
    expect((await flow.shutdownWrite()).ok).toBe(true);
    const got = await reading;
    expect(got.end).toBe('<EOF>');
    expect(sha256(got.data)).toBe(sha256(data));
    expect((await flow.close()).ok).toBe(true);
    expect(await exited).toBe(0);
  }, 30000);

  test('abort releases the child\'s stdio at once and the child exits: no orphan', async () => {
    const { exited, flow } = cat();
    expect((await flow.write(Buffer.from('hello\n'))).ok).toBe(true);
    expect(text(await flow.read())).toBe('hello\n');
    flow.abort();
    expect(flow.state).toBe('aborted');
    await exited;
    const r = await flow.read();
    expect(!r.ok && r.error.kind).toBe('aborted');
  }, 30000);

  test('a child that exits early makes writes fail with a typed error, never a crash', async () => {
    const child = spawn('head', ['-c', '1'], { stdio: 'pipe' });
    children.add(child);
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    const flow = fromDuplex(Duplex.from({ readable: child.stdout, writable: child.stdin }));
    const first = await flow.write(Buffer.from('x'));
    expect(first.ok).toBe(true);
    expect(await readAll(flow)).toEqual({ data: Buffer.from('x'), end: '<EOF>' });
    await exited;
    let failure: ReadResult | undefined;
    for (let i = 0; i < 100 && failure === undefined; i++) {
      const w = await flow.write(Buffer.alloc(64 * 1024));
      if (!w.ok) failure = { ok: false, error: w.error };
    }
    expect(failure?.ok).toBe(false);
    if (failure && !failure.ok) expect(['closed', 'reset']).toContain(failure.error.kind);
    flow.abort();
  }, 30000);
});
