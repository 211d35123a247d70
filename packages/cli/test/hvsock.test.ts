// The hypervisor-socket endpoints of `flow`: TCP into a hybrid-vsock guest through a VMM socket
// that speaks Firecracker's handshake (a small double in this file), a hybrid-vsock listener for
// guest → host connections, the address errors, and the proxy's allowlist. AF_VSOCK itself is
// exercised inside user-mode Linux by @flow/hvsock's tests; here a vsock connect is never made.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { checkAllowed } from '../src/allowlist';
import { killAllFlows, runFlow, startFlow } from './support/flow-process';
import { connectTcp, hashAfterEof, randomData, readAll, sha256 } from './support/tcp-peer';

let dir: string;
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flow-cli-hvsock-'));
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await killAllFlows();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A VMM socket speaking Firecracker's host-side handshake (firecracker-microvm/firecracker
 * @81b38b9d, muxer.rs): reads `CONNECT <port>\n`, answers `OK <n>\n` with n in [2^30, 2^31),
 * then hands the stream to `guest(port)` as if the guest had accepted it.
 */
function vmmSocket(udsPath: string, guest: (port: number, socket: net.Socket) => void): Promise<void> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    let line = '';
    const onData = (d: Buffer): void => {
      const text = d.toString('latin1');
      const nl = text.indexOf('\n');
      line += nl < 0 ? text : text.slice(0, nl);
      if (nl < 0) return;
      socket.off('data', onData);
      const m = /^connect (\d+)$/i.exec(line.trim());
      if (!m) return void socket.destroy();
      socket.write(`OK ${2 ** 30 + 7}\n`);
      const rest = d.subarray(Buffer.byteLength(text.slice(0, nl + 1), 'latin1'));
      if (rest.length > 0) socket.unshift(rest);
      guest(Number(m[1]), socket);
    };
    socket.on('data', onData);
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(udsPath, () => resolve()));
}

test('flow proxy tcp://… hybrid-vsock://:PORT/UDS carries a request and a reply sent after the half-close, hash-checked', async () => {
  const uds = path.join(dir, 'v.sock');
  const ports: number[] = [];
  await vmmSocket(uds, (port, socket) => {
    ports.push(port);
    hashAfterEof(socket);
  });
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `hybrid-vsock://:52/${uds.slice(1)}`]);
  const port = Number(/:(\d+)$/.exec(await flow.listeningOn())?.[1]);
  const request = randomData(3_000_000);
  const socket = await connectTcp(port);
  sockets.push(socket);
  const reply = readAll(socket);
  socket.end(request);
  expect((await reply).toString()).toBe(`${request.length} ${sha256(request)}\n`);
  expect(ports).toEqual([52]);
});

test('flow connect hybrid-vsock://… sends stdin to the guest port and prints the reply', async () => {
  const uds = path.join(dir, 'v.sock');
  await vmmSocket(uds, (_port, socket) => hashAfterEof(socket));
  const r = await runFlow(['connect', `hybrid-vsock://:1024/${uds.slice(1)}`], Buffer.from('hello guest'));
  expect(r.code).toBe(0);
  expect(r.stdout.toString()).toBe(`11 ${sha256(Buffer.from('hello guest'))}\n`);
});

test('flow proxy hybrid-vsock://:PORT/UDS tcp://… listens on UDS_PORT for the guest', async () => {
  const echo = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    hashAfterEof(s);
  });
  servers.push(echo);
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  const target = (echo.address() as net.AddressInfo).port;
  const uds = path.join(dir, 'v.sock');
  const flow = startFlow(['proxy', `hybrid-vsock://:5000/${uds.slice(1)}`, `tcp://127.0.0.1:${target}`]);
  await flow.listeningOn();
  // What the VMM does for a guest connecting to host port 5000.
  const guest = net.connect({ path: `${uds}_5000`, allowHalfOpen: true });
  sockets.push(guest);
  await new Promise((r) => guest.once('connect', r));
  const reply = readAll(guest);
  guest.end('from the guest');
  expect((await reply).toString()).toBe(`14 ${sha256(Buffer.from('from the guest'))}\n`);
});

test('a bad hypervisor-socket URI is a usage error that names the problem', async () => {
  const r1 = await runFlow(['connect', 'vsock://:1024']);
  expect(r1.code).toBe(2);
  expect(r1.stderr).toMatch(/connect needs a CID/);
  const r2 = await runFlow(['connect', 'hvsock:///run/kata.hvsock:1024']);
  expect(r2.code).toBe(2);
  expect(r2.stderr).toMatch(/hybrid-vsock:\/\//);
  const r3 = await runFlow(['connect', 'vsock://3:99999999999']);
  expect(r3.code).toBe(2);
});

test('flow --help lists the hypervisor-socket endpoints', async () => {
  const r = await runFlow(['--help']);
  expect(r.stdout.toString() + r.stderr).toMatch(/vsock:\/\/CID:PORT/);
  expect(r.stdout.toString() + r.stderr).toMatch(/hybrid-vsock:\/\//);
});

describe('flow proxy --allow / --allowlist', () => {
  test('a target outside the allowlist is refused before anything listens', async () => {
    const r = await runFlow(['proxy', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:9', '--allow', 'tcp://127.0.0.1:443']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tcp:\/\/127\.0\.0\.1:9 is not in the allowlist/);
    expect(r.stderr).not.toMatch(/listening on/);
  });

  test('a target in the allowlist file is served', async () => {
    const file = path.join(dir, 'allow.txt');
    const uds = path.join(dir, 'v.sock');
    await vmmSocket(uds, (_port, socket) => hashAfterEof(socket));
    writeFileSync(file, `# who may be reached\ntcp://127.0.0.1:443\nhybrid-vsock://:52/${uds.slice(1)}   # the guest\n`);
    const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `hybrid-vsock://:52/${uds.slice(1)}`, '--allowlist', file]);
    const port = Number(/:(\d+)$/.exec(await flow.listeningOn())?.[1]);
    const socket = await connectTcp(port);
    sockets.push(socket);
    const reply = readAll(socket);
    socket.end('x');
    expect((await reply).toString()).toBe(`1 ${sha256(Buffer.from('x'))}\n`);
  });

  test('an unreadable allowlist file is refused with the reason', async () => {
    const r = await runFlow(['proxy', 'tcp://127.0.0.1:0', 'tcp://127.0.0.1:9', '--allowlist', path.join(dir, 'missing')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read the allowlist .*ENOENT/);
  });

  test('matching: ports, the * port, vsock CIDs, host names resolved to a common address, bad entries', async () => {
    const resolve = async (host: string): Promise<string[]> => ({ 'kms.test': ['10.0.0.5'], 'alias.test': ['10.0.0.5'], 'other.test': ['10.0.0.6'] })[host] ?? [];
    expect(await checkAllowed('tcp://kms.test:443', ['tcp://kms.test:443'], resolve)).toBeUndefined();
    expect(await checkAllowed('tcp://kms.test:8443', ['tcp://kms.test:*'], resolve)).toBeUndefined();
    expect(await checkAllowed('tcp://alias.test:443', ['tcp://kms.test:443'], resolve)).toBeUndefined();
    expect(await checkAllowed('tcp://other.test:443', ['tcp://kms.test:443'], resolve)).toMatch(/not in the allowlist/);
    expect(await checkAllowed('tcp://kms.test:80', ['tcp://kms.test:443'], resolve)).toMatch(/not in the allowlist/);
    expect(await checkAllowed('vsock://3:1024', ['vsock://3:*'], resolve)).toBeUndefined();
    expect(await checkAllowed('vsock://4:1024', ['vsock://3:*'], resolve)).toMatch(/not in the allowlist/);
    expect(await checkAllowed('vsock://3:1024', ['vsock://3:1024'], resolve)).toBeUndefined();
    expect(await checkAllowed('tcp://kms.test:443', ['bogus://'], resolve)).toMatch(/allowlist entry 'bogus:\/\/'|not in the allowlist/);
    expect(await checkAllowed('tcp://kms.test:443', ['tcp://[::1'], resolve)).toMatch(/not a valid endpoint/);
  });
});
