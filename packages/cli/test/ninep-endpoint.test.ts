import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exportDirectory, flowFile, memoryFile, readOnlyFile, serve9p, staticDir, Vfs, type Filesystem, type FlowFile } from '@flow/9p';
import { fromDuplex, readAll as readFlow, type Flow } from '@flow/core';
import { connectTcp, randomData, readAll, sha256 } from './support/tcp-peer';
import { killAllFlows, runFlow, startFlow } from './support/flow-process';

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
const clients: net.Socket[] = [];
let dir: string | undefined;

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await killAllFlows();
  for (const s of sockets) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** serve9p on 127.0.0.1, in this process, over real TCP. */
async function serve(fsys: Filesystem): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    void serve9p(fromDuplex(s), fsys);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as net.AddressInfo).port;
}

/** The server side of each open of `stream`: reads the request to EOF, answers with its length and hash, ends. */
function hashEachOpen(stream: FlowFile): void {
  void (async () => {
    for await (const b of stream) void hashThenClose(b);
  })();
}

async function hashThenClose(b: Flow): Promise<void> {
  const got = await readFlow(b, { maxBytes: 64 << 20 });
  if (!got.ok) return b.abort();
  await b.write(Buffer.from(`${got.value.length} ${createHash('sha256').update(got.value).digest('hex')}\n`));
  await b.close({ timeoutMs: 10000 });
}

test('flow connect 9p://…/file prints a served file to stdout and exits 0', async () => {
  const content = randomData(700_000);
  const port = await serve(new Vfs(staticDir({ docs: staticDir({ 'big.bin': readOnlyFile(content) }) })));
  const r = await runFlow(['connect', `9p://127.0.0.1:${port}/docs/big.bin?msize=8192`], '');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(sha256(r.stdout)).toBe(sha256(content));
});

test('flow connect 9p://…/file?mode=write&truncate writes stdin into a host file of the export', async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flow-9p-endpoint-'));
  writeFileSync(path.join(dir, 'out.bin'), 'older and longer content than what replaces it, '.repeat(100000));
  const port = await serve(exportDirectory(dir));
  const input = randomData(1_500_000);
  const r = await runFlow(['connect', `9p://127.0.0.1:${port}/out.bin?mode=write&truncate&version=9P2000.u`], input);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.length).toBe(0);
  expect(sha256(readFileSync(path.join(dir, 'out.bin')))).toBe(sha256(input));
});

test('flow connect 9p://…/stream talks to the server side of a stream file: stdin EOF half-closes, the reply is printed', async () => {
  const stream = flowFile();
  hashEachOpen(stream);
  const port = await serve(new Vfs(staticDir({ stream: stream.file })));
  const request = randomData(2 << 20);
  const r = await runFlow(['connect', `9p://127.0.0.1:${port}/stream`], request);
  expect(r.stderr).toBe('');
  expect(r.stdout.toString()).toBe(`${request.length} ${sha256(request)}\n`);
  expect(r.code).toBe(0);
  stream.close();
});

test('flow proxy tcp://127.0.0.1:0 9p://…/stream round-trips each connection through its own open of the stream file', async () => {
  const stream = flowFile();
  hashEachOpen(stream);
  const port = await serve(new Vfs(staticDir({ streams: staticDir({ hash: stream.file }) })));
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `9p://127.0.0.1:${port}/streams/hash?version=9P2000`]);
  const listenPort = Number(/:(\d+)$/.exec(await flow.listeningOn())?.[1]);
  const requests = [randomData(3 << 20), randomData(1), randomData(100_000)];
  const replies = await Promise.all(
    requests.map(async (request) => {
      const socket = await connectTcp(listenPort);
      clients.push(socket);
      const reply = readAll(socket);
      socket.end(request);
      return (await reply).toString();
    }),
  );
  expect(replies).toEqual(requests.map((q) => `${q.length} ${sha256(q)}\n`));
  stream.close();
});

test('flow connect to a 9p file that does not exist exits 3 and names the file', async () => {
  const port = await serve(new Vfs(staticDir({ there: memoryFile('x').file })));
  const r = await runFlow(['connect', `9p://127.0.0.1:${port}/not-there`], '');
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(/cannot connect to 9p:\/\/127\.0\.0\.1:\d+\/not-there: .*not-there/);
});

test.each([
  ['9p://127.0.0.1:564', /name the file/],
  ['9p://127.0.0.1:99999/f', /port 99999/],
  ['9p://127.0.0.1:564/f?version=9P3000', /version '9P3000'/],
  ['9p://127.0.0.1:564/f?msize=12', /msize '12'/],
  ['9p://127.0.0.1:564/f?colour=blue', /unknown query option 'colour'/],
  ['9p://127.0.0.1:564/a/../f', /path element '\.\.'/],
])('flow connect %s is a usage error (exit 2) that says what is wrong', async (uri, message) => {
  const r = await runFlow(['connect', uri], '');
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toContain('9p://127.0.0.1:564/path/to/file');
});

test('flow proxy cannot listen on a 9p: endpoint', async () => {
  const r = await runFlow(['proxy', '9p://127.0.0.1:564/f', 'tcp://127.0.0.1:9'], '');
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/only connects/);
});

test('flow --help lists the 9p:// endpoint', async () => {
  const r = await runFlow(['--help'], '');
  expect(r.stdout.toString()).toContain('9p://HOST:PORT/PATH');
});
