import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connectTcp, hashAfterEof, randomData, readAll, sha256, TcpPeer } from './support/tcp-peer';
import { killAllFlows, runFlow, startFlow } from './support/flow-process';

const peers: TcpPeer[] = [];
const sockets: net.Socket[] = [];
let dir: string | undefined;

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await killAllFlows();
  await Promise.all(peers.splice(0).map((p) => p.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

test('flow connect half-closes at stdin EOF and prints the reply the server sends after it, exit 0', async () => {
  const peer = new TcpPeer(hashAfterEof);
  peers.push(peer);
  const port = await peer.listen();
  const request = randomData(2 << 20);
  const r = await runFlow(['connect', `tcp://127.0.0.1:${port}`], request);
  expect(r.stdout.toString()).toBe(`${request.length} ${sha256(request)}\n`);
  expect(r.code).toBe(0);
});

test('flow connect works over a Unix socket', async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flow-cli-'));
  const sock = path.join(dir, 's.sock');
  const server = net.createServer({ allowHalfOpen: true }, hashAfterEof);
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const r = await runFlow(['connect', `unix://${sock}`], 'hello');
    expect(r.stdout.toString()).toBe(`5 ${sha256(Buffer.from('hello'))}\n`);
    expect(r.code).toBe(0);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('flow connect to a port nobody listens on exits 3 and says the connection was refused', async () => {
  const peer = new TcpPeer(() => undefined);
  const port = await peer.listen();
  await peer.close();
  const r = await runFlow(['connect', `tcp://127.0.0.1:${port}`], '');
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(/cannot connect to tcp:\/\/127\.0\.0\.1:\d+: refused/);
});

test('flow connect exits 1 when the server resets the connection', async () => {
  const peer = new TcpPeer((s) => s.once('data', () => s.resetAndDestroy()));
  peers.push(peer);
  const port = await peer.listen();
  const p = startFlow(['connect', `tcp://127.0.0.1:${port}`]);
  p.child.stdin.write('trigger');
  const exit = await p.exited;
  expect(exit.code).toBe(1);
  expect(p.stderr).toMatch(/reset/);
});

test('flow listen accepts one connection, sends stdin to it and prints what it sends, exit 0', async () => {
  const p = startFlow(['listen', 'tcp://127.0.0.1:0']);
  const port = Number(/:(\d+)$/.exec(await p.listeningOn())?.[1]);
  const socket = await connectTcp(port);
  sockets.push(socket);
  const fromFlow = readAll(socket);
  p.child.stdin.end('from stdin');
  socket.end('from the peer');
  expect((await fromFlow).toString()).toBe('from stdin');
  const exit = await p.exited;
  expect(p.stdout.toString()).toBe('from the peer');
  expect(exit.code).toBe(0);
  // Only one connection: the port is no longer listening.
  await expect(connectTcp(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
});

test('flow listen exits 3 when the address is in use', async () => {
  const peer = new TcpPeer(() => undefined);
  peers.push(peer);
  const port = await peer.listen();
  const r = await runFlow(['listen', `tcp://127.0.0.1:${port}`]);
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(/already in use \(EADDRINUSE\)/);
});

test('flow listen stopped by SIGINT before a connection exits 130', async () => {
  const p = startFlow(['listen', 'tcp://127.0.0.1:0']);
  await p.listeningOn();
  p.child.kill('SIGINT');
  expect((await p.exited).code).toBe(130);
});

test('flow connect and flow listen move 8 MiB each way between themselves, hash-checked', async () => {
  const listener = startFlow(['listen', 'tcp://127.0.0.1:0']);
  const uri = await listener.listeningOn();
  const there = randomData(8 << 20);
  const back = randomData(8 << 20);
  const connector = startFlow(['connect', uri]);
  connector.child.stdin.end(there);
  listener.child.stdin.end(back);
  const [a, b] = await Promise.all([connector.exited, listener.exited]);
  expect([a.code, b.code]).toEqual([0, 0]);
  expect(sha256(listener.stdout)).toBe(sha256(there));
  expect(sha256(connector.stdout)).toBe(sha256(back));
});
