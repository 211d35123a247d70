// flow proxy from Unix-domain clients to a target that does not read: clients that fill the path
// and then reset (close with bytes unread, which Linux reports to our end as ECONNRESET) must be
// noticed at once although the proxy is not reading them (it waits on the target), on both
// paths; the proxy then frees both sockets of each. Clients that close cleanly after a
// half-close must still have every byte delivered once the target reads.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EOF, type Flow } from '@flow/core';
import { listen, type TcpListener } from '@flow/tcp';
import { killAllFlows, startFlow } from './support/flow-process';

const RESETTING = 50;
const CLEAN = 5;
const GREETING = Buffer.from('hello from a target that will not read\n');

const sockets: net.Socket[] = [];
const listeners: TcpListener[] = [];
const flows: Flow[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await killAllFlows();
  for (const f of flows.splice(0)) f.abort();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/**
 * A TCP target (a @flow/tcp listener, which tells a reset from a clean end) that greets every
 * connection and reads nothing until the test drains it.
 */
async function stubbornTarget(): Promise<{ port: number; accepted: Flow[] }> {
  const bound = await listen({ host: '127.0.0.1', port: 0 });
  if (!bound.ok) throw bound.error;
  const listener = bound.value;
  listeners.push(listener);
  const accepted: Flow[] = [];
  void (async () => {
    for (;;) {
      const next = await listener.accept();
      if (!next.ok) return;
      accepted.push(next.value);
      flows.push(next.value);
      void next.value.write(GREETING);
    }
  })();
  return { port: listener.address.port, accepted };
}

/** Reads `flow` to its end: `eof` or the error's kind, with a digest of the bytes before it. */
async function drainFlow(flow: Flow): Promise<{ end: string; sha256: string }> {
  const hash = createHash('sha256');
  for (;;) {
    const r = await flow.read();
    if (!r.ok) return { end: r.error.kind, sha256: '' };
    if (r.value === EOF) {
      // The reply side ends too, so that the proxy's connection is over.
      await flow.shutdownWrite();
      return { end: 'eof', sha256: hash.digest('hex') };
    }
    hash.update(r.value);
  }
}

/** A Unix-domain client that never reads (paused before it connected): the greeting stays unread, so its close is a reset. */
async function deafClient(path: string): Promise<net.Socket> {
  const socket = net.connect({ path, allowHalfOpen: true });
  socket.pause();
  socket.on('error', () => undefined);
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

async function until(what: string, ready: () => boolean, limitMs: number, state?: () => unknown): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`not within ${limitMs} ms: ${what}${state ? ` (${JSON.stringify(state())})` : ''}`);
    await sleep(20);
  }
}

describe.each([
  ['fast path (the default)', 'fast', [] as string[]],
  ['pure path (--no-fast-copy)', 'pure', ['--no-fast-copy']],
])('flow proxy unix: -> tcp:, %s', (_title, path, flags) => {
  test(`${RESETTING} clients that fill the path and reset are noticed while the target does not read; clean clients keep every byte`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flow-proxy-unix-reset-'));
    dirs.push(dir);
    const socketPath = join(dir, 'proxy.sock');
    const target = await stubbornTarget();
    const flow = startFlow(['proxy', `unix://${socketPath}`, `tcp://127.0.0.1:${target.port}`, '--stats', ...flags]);
    await flow.listeningOn();
    const fdsOfProxy = (): number => readdirSync(`/proc/${flow.child.pid}/fd`).length;
    const baseline = fdsOfProxy();

    // Clean clients: send, half-close, read the greeting (nothing left unread), then close.
    const cleanSent = new Set<string>();
    await Promise.all(
      Array.from({ length: CLEAN }, async () => {
        const data = randomBytes(128 * 1024);
        cleanSent.add(sha256(data));
        const socket = net.connect({ path: socketPath, allowHalfOpen: true });
        sockets.push(socket);
        let got = 0;
        const greeted = new Promise<void>((resolve) =>
          socket.on('data', (c: Buffer) => {
            got += c.length;
            if (got >= GREETING.length) resolve();
          }),
        );
        const finished = new Promise<void>((resolve, reject) => socket.once('finish', resolve).once('error', reject));
        socket.end(data);
        await Promise.all([greeted, finished]);
        socket.destroy();
      }),
    );

    // What the clean connections hold in the proxy while the target does not read (their two
    // sockets, and on the fast path the engine's duplicates of them).
    await sleep(300);
    const withClean = fdsOfProxy();
    expect(withClean).toBeGreaterThanOrEqual(baseline + 2 * CLEAN);

    // Resetting clients: each writes more than the path holds (the target reads nothing) ...
    const flood = Buffer.alloc(8 * 1024 * 1024, 0x5a);
    const deaf = await Promise.all(Array.from({ length: RESETTING }, () => deafClient(socketPath)));
    for (const socket of deaf) socket.write(flood);
    await until('every connection reached the target', () => target.accepted.length === CLEAN + RESETTING, 10_000);
    await sleep(1000);
    // ... the proxy is stuck on the target, holding both sockets of each.
    // (On the fast path the engine holds duplicates of them too.)
    expect(fdsOfProxy()).toBeGreaterThanOrEqual(baseline + 2 * (CLEAN + RESETTING));
    // ... and then closes with the greeting unread: a reset.
    for (const socket of deaf) socket.destroy();
    // The proxy frees both sockets of each reset client: only the clean connections stay open.
    await until(`the proxy closed the sockets of the ${RESETTING} reset clients`, () => fdsOfProxy() === withClean, 5000, () => ({ fds: fdsOfProxy(), withClean, baseline }));

    const lines = (await flow.waitForStdoutLines(RESETTING)).map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>);
    expect(lines).toHaveLength(RESETTING);
    for (const line of lines) {
      expect(line.outcome).toBe('error');
      expect(line.clientToTarget?.outcome).toBe('error');
      expect(line.clientToTarget?.path).toBe(path);
      expect(String(line.clientToTarget?.error)).toMatch(/reset/);
    }

    // The target reads at last: the reset clients' connections were reset by the proxy (never a
    // clean end), and every clean client's bytes arrive, then its end.
    const ends = await Promise.all(target.accepted.map(drainFlow));
    expect(ends.filter((e) => e.end === 'reset')).toHaveLength(RESETTING);
    expect(new Set(ends.filter((e) => e.end === 'eof').map((e) => e.sha256))).toEqual(cleanSent);
    await until('the proxy holds no connection', () => fdsOfProxy() === baseline, 5000, () => ({ fds: fdsOfProxy(), baseline }));
    const all = (await flow.waitForStdoutLines(RESETTING + CLEAN)).map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>);
    expect(all.slice(RESETTING).map((l) => l.clientToTarget?.outcome)).toEqual(Array(CLEAN).fill('eof'));
  });
});
