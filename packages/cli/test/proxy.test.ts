import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connectTcp, echo, hashAfterEof, randomData, readAll, sha256, TcpPeer } from './support/tcp-peer';
import { killAllFlows, runFlow, startFlow } from './support/flow-process';

const peers: TcpPeer[] = [];
const clients: net.Socket[] = [];

async function upstream(onSocket: (s: net.Socket) => void): Promise<number> {
  const peer = new TcpPeer(onSocket);
  peers.push(peer);
  return peer.listen();
}

async function client(port: number): Promise<net.Socket> {
  const s = await connectTcp(port);
  clients.push(s);
  return s;
}

function portOf(uri: string): number {
  return Number(/:(\d+)$/.exec(uri)?.[1]);
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await killAllFlows();
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

test('flow proxy carries 64 MiB each way between two TCP ports, hash-checked', async () => {
  const target = await upstream(echo);
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${target}`]);
  const port = portOf(await flow.listeningOn());
  const data = randomData(64 << 20);
  const socket = await client(port);
  const reply = readAll(socket);
  socket.end(data);
  const back = await reply;
  expect(back.length).toBe(data.length);
  expect(sha256(back)).toBe(sha256(data));
});

test('flow proxy delivers a reply that the server sends only after the client half-closed', async () => {
  const target = await upstream(hashAfterEof);
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${target}`]);
  const port = portOf(await flow.listeningOn());
  const request = randomData(300_000);
  const socket = await client(port);
  const reply = readAll(socket);
  socket.end(request);
  expect((await reply).toString()).toBe(`${request.length} ${sha256(request)}\n`);
});

test('flow proxy --stats prints one JSON line per finished connection with bytes and outcome per direction', async () => {
  const target = await upstream(hashAfterEof);
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${target}`, '--stats']);
  const port = portOf(await flow.listeningOn());
  for (const size of [1000, 2000]) {
    const socket = await client(port);
    const reply = readAll(socket);
    socket.end(Buffer.alloc(size, 7));
    await reply;
  }
  const lines = (await flow.waitForStdoutLines(2)).map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>);
  const replyBytes = (size: number): number => `${size} ${sha256(Buffer.alloc(size, 7))}\n`.length;
  expect(lines.map((l) => [l.clientToTarget?.bytes, l.clientToTarget?.outcome, l.targetToClient?.bytes, l.targetToClient?.outcome])).toEqual([
    [1000, 'eof', replyBytes(1000), 'eof'],
    [2000, 'eof', replyBytes(2000), 'eof'],
  ]);
});

test('flow proxy reports a target that refuses as a failed connection and keeps serving', async () => {
  const closed = await upstream(echo);
  await peers.pop()?.close();
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${closed}`, '--stats']);
  const port = portOf(await flow.listeningOn());
  const socket = await client(port);
  const ended = new Promise<string>((resolve) => {
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    socket.on('close', () => resolve('closed'));
  });
  socket.resume();
  await ended;
  const [line] = await flow.waitForStdoutLines(1);
  expect(JSON.parse(line as string)).toMatchObject({ outcome: 'connect-failed', error: expect.stringMatching(/^refused:/) });
  expect(flow.running).toBe(true);
});

test('on SIGTERM flow proxy stops accepting, lets a live transfer finish within the grace, and exits 0', async () => {
  const target = await upstream(echo);
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${target}`, '--grace', '60000']);
  const port = portOf(await flow.listeningOn());
  const first = randomData(1 << 20);
  const second = randomData(4 << 20);
  const socket = await client(port);
  const chunks: Buffer[] = [];
  let received = 0;
  let onFirst: () => void = () => undefined;
  const firstBack = new Promise<void>((r) => (onFirst = r));
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    received += c.length;
    if (received >= first.length) onFirst();
  });
  const ended = new Promise<void>((r) => socket.once('end', r));
  socket.write(first);
  // The transfer is in flight: part of it went through both ways.
  await firstBack;
  flow.child.kill('SIGTERM');
  await flow.waitForStderr(/no longer accepting; 1 live connection/);
  await expect(connectTcp(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  socket.end(second);
  await ended;
  const all = Buffer.concat(chunks);
  expect(sha256(all)).toBe(sha256(Buffer.concat([first, second])));
  expect(await flow.exited).toEqual({ code: 0, signal: null });
});

test('after the grace period flow proxy aborts connections that are still live and exits 0', async () => {
  const target = await upstream(echo);
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${target}`, '--grace', '100']);
  const port = portOf(await flow.listeningOn());
  const socket = await client(port);
  const gone = new Promise<string>((resolve) => {
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    socket.on('end', () => resolve('end'));
  });
  socket.resume();
  socket.write('ping');
  await new Promise<void>((r) => socket.once('data', () => r()));
  flow.child.kill('SIGTERM');
  // Aborted, not finished: the client sees a reset rather than a clean end of stream.
  expect(await gone).toBe('ECONNRESET');
  expect(await flow.exited).toEqual({ code: 0, signal: null });
});

test('flow proxy --idle-timeout ends a connection on which nothing moves and reports it as timeout', async () => {
  const target = await upstream(echo);
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${target}`, '--idle-timeout', '200', '--stats']);
  const port = portOf(await flow.listeningOn());
  const socket = await client(port);
  const gone = new Promise<void>((resolve) => {
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
  socket.resume();
  await gone;
  const [line] = await flow.waitForStdoutLines(1);
  const stats = JSON.parse(line as string) as { outcome: string; clientToTarget: { outcome: string }; targetToClient: { outcome: string } };
  expect([stats.outcome, stats.clientToTarget.outcome, stats.targetToClient.outcome]).toEqual(['timeout', 'timeout', 'timeout']);
});

test('flow proxy listens on IPv6 loopback and forwards to a Unix socket', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flow-cli-'));
  const sock = path.join(dir, 'upstream.sock');
  const server = net.createServer({ allowHalfOpen: true }, hashAfterEof);
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const flow = startFlow(['proxy', 'tcp://[::1]:0', `unix://${sock}`]);
    const uri = await flow.listeningOn();
    expect(uri).toMatch(/^tcp:\/\/\[::1\]:\d+$/);
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: '::1', port: portOf(uri), allowHalfOpen: true }, () => resolve(s));
      s.once('error', reject);
    });
    clients.push(socket);
    const reply = readAll(socket);
    socket.end('over v6');
    expect((await reply).toString()).toBe(`7 ${sha256(Buffer.from('over v6'))}\n`);
  } finally {
    await killAllFlows();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flow proxy stdio: <target> carries stdin to the target and its reply to stdout, then exits 0', async () => {
  const target = await upstream(hashAfterEof);
  const request = randomData(1 << 20);
  const r = await runFlow(['proxy', 'stdio:', `tcp://127.0.0.1:${target}`], request);
  expect(r.stdout.toString()).toBe(`${request.length} ${sha256(request)}\n`);
  expect(r.code).toBe(0);
});

test('flow proxy --max-connections 1 proxies a second client only after the first finished', async () => {
  let open = 0;
  let most = 0;
  const target = await upstream((s) => {
    open += 1;
    most = Math.max(most, open);
    s.on('close', () => (open -= 1));
    echo(s);
  });
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${target}`, '--max-connections', '1']);
  const port = portOf(await flow.listeningOn());
  const first = await client(port);
  const firstBack = readAll(first);
  first.write('first');
  await new Promise<void>((r) => first.once('data', () => r()));
  const second = await client(port);
  const secondBack = readAll(second);
  second.end('second');
  first.end();
  expect((await firstBack).toString()).toBe('first');
  expect((await secondBack).toString()).toBe('second');
  expect(most).toBe(1);
});

test('flow proxy keeps 1000 concurrent clients beyond its 256 running and 511 queued waiting instead of resetting them, every reply hash-checked', async () => {
  const target = await upstream(echo);
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${target}`]);
  const port = portOf(await flow.listeningOn());
  // Every client is connected before any sends: the proxy holds all 1000 at once.
  const sockets = await Promise.all(Array.from({ length: 1000 }, () => client(port)));
  const outcomes = await Promise.all(
    sockets.map(async (socket) => {
      const data = randomData(16 * 1024);
      const reply = readAll(socket);
      socket.end(data);
      try {
        const back = await reply;
        return sha256(back) === sha256(data) ? 'ok' : `${back.length} bytes back of ${data.length}, different`;
      } catch (error) {
        return String(error);
      }
    }),
  );
  expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
  expect(flow.stderr).not.toMatch(/reset a connection/);
});

test('when the backend dies mid-transfer, flow proxy releases every descriptor and stops at the first SIGTERM', async () => {
  // A backend in its own process, so that it can die by SIGKILL as a crashed server does.
  const backend = spawn(process.execPath, [
    '-e',
    "require('net').createServer({ allowHalfOpen: true }, (s) => { s.on('error', () => {}); s.pipe(s); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });",
  ]);
  const backendExited = new Promise((r) => backend.once('exit', r));
  try {
    const target = await new Promise<number>((r) => backend.stdout.once('data', (d: Buffer) => r(Number(String(d).trim()))));
    const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${target}`, '--grace', '60000']);
    const port = portOf(await flow.listeningOn());
    const fdsOfProxy = (): number => readdirSync(`/proc/${flow.child.pid}/fd`).length;
    const baseline = fdsOfProxy();
    const eight = randomData(8 << 20);
    let echoed = 0;
    const sockets = await Promise.all(Array.from({ length: 100 }, () => client(port)));
    const ends = sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.on('error', () => undefined);
          s.on('data', (c: Buffer) => (echoed += c.length));
          s.once('close', () => resolve());
          s.end(eight);
        }),
    );
    // Part of the load went through both ways: now the backend dies.
    while (echoed < 16 << 20) await new Promise((r) => setTimeout(r, 10));
    backend.kill('SIGKILL');
    await backendExited;
    const closed = await Promise.race([Promise.all(ends).then(() => 'all closed'), new Promise((r) => setTimeout(() => r('clients still open'), 30_000))]);
    expect(closed).toBe('all closed');
    let fds = fdsOfProxy();
    for (let i = 0; i < 500 && fds > baseline; i += 1) {
      await new Promise((r) => setTimeout(r, 20));
      fds = fdsOfProxy();
    }
    expect({ fds }).toEqual({ fds: baseline });
    flow.child.kill('SIGTERM');
    const exit = await Promise.race([flow.exited, new Promise((r) => setTimeout(() => r('still running after one SIGTERM'), 20_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
  } finally {
    backend.kill('SIGKILL');
  }
});
