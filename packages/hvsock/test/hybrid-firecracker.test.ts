// Our hybrid-vsock client and listener against a double of Firecracker (§2.4), built from
// firecracker-microvm/firecracker @81b38b9d (unix/muxer.rs, csm/connection.rs). Firecracker
// itself cannot run here (no usable KVM); see test/support/firecracker-double.ts.
import { createHash, randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { EOF } from '@flow/core';
import type { HybridVsockAddress } from '../src/address/types';
import { connectHybrid } from '../src/hybrid/connect';
import { listenHybrid } from '../src/hybrid/listen';
import { FIRECRACKER_BEFORE_1DB04CCC, startFirecrackerDouble } from './support/firecracker-double';
import type { HybridVmmDouble } from './support/hybrid-muxer-double';
import {
  expectErr,
  expectOk,
  hashAll,
  noPipeHandlesLeftAbove,
  pipeHandles,
  readAll,
  readBytes,
  socketDir,
  waitUntil,
  writeRandom,
} from './support/unix-flow-io';

const MiB = 1024 * 1024;
let tmp: ReturnType<typeof socketDir>;
let uds: string;
let vmm: HybridVmmDouble | undefined;

beforeEach(() => {
  tmp = socketDir();
  uds = join(tmp.dir, 'v.sock');
});

afterEach(async () => {
  await vmm?.close();
  vmm = undefined;
  tmp.remove();
});

async function firecracker(profile = undefined as Parameters<typeof startFirecrackerDouble>[1]): Promise<HybridVmmDouble> {
  vmm = await startFirecrackerDouble(uds, profile);
  return vmm;
}

const at = (port: number, extra: Partial<HybridVsockAddress> = {}): HybridVsockAddress => ({ kind: 'hybrid-vsock', path: uds, port, ...extra });

describe('Firecracker @81b38b9d: host → guest', () => {
  test('CONNECT 52 is read as sent, OK <n> gives a host port in [2^30, 2^31), data flows both ways', async () => {
    const fc = await firecracker();
    const guest = fc.listen(52);
    const flow = expectOk(await connectHybrid(at(52)));
    expect(fc.commands).toEqual([Buffer.from('CONNECT 52\n')]);
    expect(flow.ackPort).toBe(fc.localPorts[0]);
    expect(flow.ackPort).toBeGreaterThanOrEqual(2 ** 30);
    expect(flow.ackPort).toBeLessThan(2 ** 31);
    expect(flow.remote).toEqual(at(52));
    expect(flow.local).toBeUndefined();
    expect(flow.label).toContain(uds);
    expect(flow.capabilities).toMatchObject({ halfCloseWrite: 'native', halfCloseRead: 'emulated', abort: 'close' });
    expect(flow.capabilities.notes?.join('\n')).toContain('Firecracker');
    const g = expectOk(await guest.accept());
    expectOk(await flow.write(Buffer.from('to the guest')));
    expect((await readBytes(g, 12)).toString()).toBe('to the guest');
    expectOk(await g.write(Buffer.from('to the host')));
    expect((await readBytes(flow, 11)).toString()).toBe('to the host');
    const exact = new Uint8Array(3);
    expectOk(await g.write(Buffer.from('abc')));
    expect(expectOk(await flow.readExactlyInto(exact))).toEqual({ bytes: 3, eof: false });
    expect(Buffer.from(exact).toString()).toBe('abc');
    flow.abort();
    g.abort();
  });

  test('a command sent in pieces is dropped (read_exact on a non-blocking stream): why connectHybrid writes it at once', async () => {
    const fc = await firecracker();
    fc.listen(88);
    const socket = netConnect({ path: uds });
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.resume();
    await new Promise<void>((resolve) => socket.write('CONN', () => resolve()));
    await ended;
    expect(fc.commands).toEqual([Buffer.from('CONN')]);
  });

  test('successive connections get successive host ports, round robin from 2^30', async () => {
    const fc = await firecracker();
    const guest = fc.listen(7);
    const a = expectOk(await connectHybrid(at(7)));
    const b = expectOk(await connectHybrid(at(7)));
    expect([a.ackPort, b.ackPort]).toEqual([2 ** 30, 2 ** 30 + 1]);
    a.abort();
    b.abort();
    for (let i = 0; i < 2; i += 1) expectOk(await guest.accept()).abort();
  });

  test('no guest listener: Firecracker closes with no message, a refused error naming the port, no socket left', async () => {
    const fc = await firecracker();
    const baseline = pipeHandles();
    const error = expectErr(await connectHybrid(at(1234)));
    expect(error.kind).toBe('refused');
    expect(error.message).toContain('port 1234');
    expect(error.message).toContain('closed the connection');
    expect(error.message).toContain(uds);
    await waitUntil(() => fc.openHostStreams === 0, 'the VMM side to close');
    await noPipeHandlesLeftAbove(baseline);
  });

  test('a guest that never answers: Firecracker gives up after CONN_REQUEST_TIMEOUT_MS (2 s), a refused error', async () => {
    const fc = await firecracker();
    fc.listen(80, { answer: 'never' });
    // No deadline of our own: Firecracker's is the one that ends the wait.
    const error = expectErr(await connectHybrid(at(80, { timeoutMs: Infinity })));
    expect(error.kind).toBe('refused');
  });

  test('our deadline before Firecracker answers: a timeout error, and the socket is closed', async () => {
    const fc = await firecracker();
    fc.listen(80, { answer: 'never' });
    const baseline = pipeHandles();
    const error = expectErr(await connectHybrid(at(80, { timeoutMs: 50 }), { timeoutMs: 60000 }));
    expect(error.kind).toBe('timeout');
    expect(error.code).toBe('ETIMEDOUT');
    expect(error.message).toContain('did not acknowledge CONNECT 80 within 50 ms');
    await noPipeHandlesLeftAbove(baseline);
  });

  test('options.timeoutMs applies when the address has none', async () => {
    const fc = await firecracker();
    fc.listen(80, { answer: 'never' });
    expect(expectErr(await connectHybrid(at(80), { timeoutMs: 30 })).kind).toBe('timeout');
  });

  test('aborting the signal during the handshake: an aborted error, the socket is closed', async () => {
    const fc = await firecracker();
    fc.listen(80, { answer: 'never' });
    const baseline = pipeHandles();
    const controller = new AbortController();
    const pending = connectHybrid(at(80), { signal: controller.signal });
    expect((await fc.nextCommand()).toString()).toBe('CONNECT 80\n');
    controller.abort();
    const error = expectErr(await pending);
    expect(error.kind).toBe('aborted');
    await noPipeHandlesLeftAbove(baseline);
  });

  test('a signal aborted before the call: aborted, nothing opened', async () => {
    await firecracker();
    const error = expectErr(await connectHybrid(at(80), { signal: AbortSignal.abort() }));
    expect(error.kind).toBe('aborted');
    expect(vmm?.commands).toEqual([]);
  });

  test('host EOF ⇒ full close (csm/connection.rs): after our shutdownWrite the guest reads EOF and can no longer send', async () => {
    const fc = await firecracker();
    const guest = fc.listen(52);
    const flow = expectOk(await connectHybrid(at(52)));
    const g = expectOk(await guest.accept());
    expectOk(await g.write(Buffer.from('sent before our EOF')));
    expectOk(await flow.write(Buffer.from('last words')));
    expectOk(await flow.shutdownWrite());
    // The guest reads our data, then EOF ...
    expect((await readAll(g)).toString()).toBe('last words');
    // ... and its writes fail: SHUTDOWN RCV|SEND, the guest kernel returns EPIPE.
    const w = await g.write(Buffer.from('too late'));
    expect(expectErr(w).code).toBe('EPIPE');
    // We read what the guest sent before, then EOF: Firecracker dropped the host stream.
    expect((await readAll(flow)).toString()).toBe('sent before our EOF');
    expectOk(await flow.close());
    await waitUntil(() => fc.openHostStreams === 0, 'Firecracker to drop the host stream');
  });

  test("a guest's shutdownWrite is not relayed (PeerClosed(false, true)); we see EOF only when the guest closes fully", async () => {
    const fc = await firecracker();
    const guest = fc.listen(52);
    const flow = expectOk(await connectHybrid(at(52)));
    const g = expectOk(await guest.accept());
    expectOk(await g.write(Buffer.from('reply')));
    expectOk(await g.shutdownWrite());
    expect((await readBytes(flow, 5)).toString()).toBe('reply');
    // Still open for us: the guest keeps reading after its own shutdown.
    expectOk(await flow.write(Buffer.from('more')));
    expect((await readBytes(g, 4)).toString()).toBe('more');
    // A relayed SHUT_WR would have reached our socket long before that round trip ended.
    expect(flow.readState).toBe('open');
    const next = flow.read();
    expectOk(await g.close());
    expect(expectOk(await next)).toBe(EOF);
    expectOk(await flow.close());
  });

  test('100 concurrent connections, each echoed by its own guest connection', async () => {
    const fc = await firecracker();
    const guest = fc.listen(5000, { backlog: 128 });
    const echo = (async () => {
      const served: Promise<void>[] = [];
      for (let i = 0; i < 100; i += 1) {
        const g = expectOk(await guest.accept());
        served.push(
          (async () => {
            const line = await readBytes(g, 8);
            expectOk(await g.write(line));
            // Our close is an EOF, which Firecracker makes a full close: the guest reads EOF.
            expect(expectOk(await g.read())).toBe(EOF);
            expectOk(await g.close());
          })(),
        );
      }
      await Promise.all(served);
    })();
    const clients = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const flow = expectOk(await connectHybrid(at(5000)));
        const tag = Buffer.from(`conn${String(i).padStart(4, '0')}`);
        expectOk(await flow.write(tag));
        expect(await readBytes(flow, 8)).toEqual(tag);
        expectOk(await flow.close());
        return flow.ackPort;
      }),
    );
    await echo;
    expect(new Set(clients).size).toBe(100);
    for (const p of clients) expect(p).toBeGreaterThanOrEqual(2 ** 30);
    await waitUntil(() => fc.openHostStreams === 0, 'every host stream to be dropped');
  });

  test('8 MiB to a slow guest reader arrives intact (sha256), memory bounded by the socket buffers', async () => {
    const fc = await firecracker();
    const guest = fc.listen(9);
    const flow = expectOk(await connectHybrid(at(9), { bufferSize: 64 * 1024 }));
    const g = expectOk(await guest.accept());
    const slow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const [sent, received] = await Promise.all([
      (async () => {
        const hash = await writeRandom(flow, 8 * MiB, 256 * 1024);
        expectOk(await flow.shutdownWrite());
        return hash;
      })(),
      hashAll(g, slow),
    ]);
    expect(received).toEqual({ hash: sent, bytes: 8 * MiB });
    expect(flow.stats.bytesAccepted).toBe(8 * MiB);
    expect(g.stats.bytesRead).toBe(8 * MiB);
    expectOk(await flow.close());
  });

  test('8 MiB from the guest to a slow host reader with a 16 KiB bufferSize arrives intact (sha256)', async () => {
    const fc = await firecracker();
    const guest = fc.listen(9);
    const flow = expectOk(await connectHybrid(at(9), { bufferSize: 16 * 1024 }));
    const g = expectOk(await guest.accept());
    const data = randomBytes(8 * MiB);
    const writing = (async () => {
      for (let off = 0; off < data.length; off += 100 * 1024) expectOk(await g.write(data.subarray(off, off + 100 * 1024)));
      // The guest closes fully: that is the EOF Firecracker relays.
      expectOk(await g.close());
    })();
    const received = await hashAll(flow, () => new Promise((resolve) => setTimeout(resolve, 0)));
    await writing;
    expect(received).toEqual({ hash: createHash('sha256').update(data).digest('hex'), bytes: data.length });
    expectOk(await flow.close());
  });
});

describe('Firecracker before 1db04ccc (v0.18, no acknowledgement)', () => {
  test("ack: 'none' sends CONNECT and goes on at once; data written at once reaches the guest after the command", async () => {
    const fc = await firecracker(FIRECRACKER_BEFORE_1DB04CCC);
    const guest = fc.listen(52);
    const flow = expectOk(await connectHybrid(at(52, { ack: 'none' })));
    expect(flow.ackPort).toBeUndefined();
    expectOk(await flow.write(Buffer.from('straight away')));
    const g = expectOk(await guest.accept());
    expect((await readBytes(g, 13)).toString()).toBe('straight away');
    expect(fc.commands).toEqual([Buffer.from('CONNECT 52\n')]);
    flow.abort();
    g.abort();
  });

  test("ack: 'none' against a Firecracker that does acknowledge: its OK line shows up as stream data", async () => {
    const fc = await firecracker();
    fc.listen(52);
    const flow = expectOk(await connectHybrid(at(52, { ack: 'none' })));
    expect((await readBytes(flow, `OK ${2 ** 30}\n`.length)).toString()).toBe(`OK ${2 ** 30}\n`);
    flow.abort();
  });
});

describe('Firecracker @81b38b9d: guest → host (<uds>_<port>, muxer.rs:638)', () => {
  test('a guest connection arrives on listenHybrid, and Firecracker turns our EOF into a full close', async () => {
    const fc = await firecracker();
    const listener = expectOk(await listenHybrid(at(1025)));
    expect(listener.path).toBe(`${uds}_1025`);
    expect(listener.address).toEqual(at(1025));
    const g = expectOk(await fc.connectToHost(1025));
    const flow = expectOk(await listener.accept());
    expect(flow.local).toEqual(at(1025));
    expect(flow.remote).toEqual(at(1025));
    expect(listener.connections).toBe(1);
    expectOk(await g.write(Buffer.from('hello host')));
    expect((await readBytes(flow, 10)).toString()).toBe('hello host');
    expectOk(await flow.write(Buffer.from('hello guest')));
    expectOk(await flow.shutdownWrite());
    expect((await readAll(g)).toString()).toBe('hello guest');
    expect(expectErr(await g.write(Buffer.from('x'))).code).toBe('EPIPE');
    expect(expectOk(await flow.read())).toBe(EOF);
    expectOk(await flow.close());
    await listener.close();
  });

  test('before anyone listens on <uds>_<port>, the guest gets a reset', async () => {
    const fc = await firecracker();
    expect(expectErr(await fc.connectToHost(1026)).code).toBe('ECONNRESET');
  });
});
