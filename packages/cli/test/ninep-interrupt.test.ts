// Ctrl-C and silent servers in the 9P client commands: nothing half-written is left behind, a
// put never destroys the old content, and a server that never answers is given up on.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fromDuplex } from '@flow/core';
import { flowFile, serve9p, staticDir, Vfs } from '@flow/9p';
import { killAllFlows, runFlow, startFlow } from './support/flow-process';

let dir: string;
let work: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flow-9p-export-'));
  work = mkdtempSync(path.join(os.tmpdir(), 'flow-9p-work-'));
  writeFileSync(path.join(dir, 'hello.txt'), 'old content\n');
});

afterEach(async () => {
  await killAllFlows();
  rmSync(dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

async function serveExport(): Promise<string> {
  const flow = startFlow(['9p', 'serve', dir, '--listen', 'tcp://127.0.0.1:0']);
  return flow.listeningOn();
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const partFiles = (where: string): string[] => readdirSync(where).filter((f) => f.endsWith('.part'));

test('put replaces the file through a temporary name and leaves none behind', async () => {
  const uri = await serveExport();
  const r = await runFlow(['9p', 'put', uri, '/hello.txt', '-'], 'new content\n');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(readFileSync(path.join(dir, 'hello.txt'), 'utf8')).toBe('new content\n');
  expect(partFiles(dir)).toEqual([]);
});

test('Ctrl-C during a put leaves the old content and removes the temporary file', async () => {
  const uri = await serveExport();
  const put = startFlow(['9p', 'put', uri, '/hello.txt', '-']);
  // stdin stays open: the put waits for more input, its temporary file created.
  put.child.stdin.write('half of the new content');
  await until(() => partFiles(dir).length === 1, 'the temporary file');
  put.child.kill('SIGINT');
  const exit = await put.exited;
  expect(exit.code).toBe(130);
  expect(put.stderr).toMatch(/stopping \(SIGINT\)/);
  expect(readFileSync(path.join(dir, 'hello.txt'), 'utf8')).toBe('old content\n');
  expect(partFiles(dir)).toEqual([]);
});

test('Ctrl-C during a get removes the partial local file', async () => {
  // A server whose file sends 1 MiB and then nothing more, never ending (get reads in batches of
  // 8 pipelined Treads: the first batches are answered, a later one waits for ever).
  const stream = flowFile();
  const vfs = new Vfs(staticDir({ slow: stream.file }));
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    void serve9p(fromDuplex(s), vfs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const feeding = (async () => {
    const accepted = await stream.accept();
    if (accepted.ok) await accepted.value.write(Buffer.alloc(1024 * 1024, 7));
  })();
  try {
    const target = path.join(work, 'slow.bin');
    const get = startFlow(['9p', 'get', `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`, '/slow', target]);
    await until(() => partFiles(work).length === 1 && readFileSync(path.join(work, partFiles(work)[0] as string)).length > 0, 'partial data');
    get.child.kill('SIGINT');
    const exit = await get.exited;
    expect(exit.code).toBe(130);
    expect(partFiles(work)).toEqual([]);
    expect(existsSync(target)).toBe(false);
  } finally {
    stream.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
    await feeding;
  }
});

test('a second Ctrl-C exits at once and still removes the partial file', async () => {
  const stream = flowFile();
  const vfs = new Vfs(staticDir({ slow: stream.file }));
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    void serve9p(fromDuplex(s), vfs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const feeding = (async () => {
    const accepted = await stream.accept();
    if (accepted.ok) await accepted.value.write(Buffer.alloc(1024 * 1024, 1));
  })();
  try {
    const get = startFlow(['9p', 'get', `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`, '/slow', path.join(work, 'x.bin')]);
    await until(() => partFiles(work).length === 1 && readFileSync(path.join(work, partFiles(work)[0] as string)).length > 0, 'partial data');
    get.child.kill('SIGINT');
    await get.waitForStderr(/stopping/);
    get.child.kill('SIGINT');
    const exit = await get.exited;
    expect(exit.code).toBe(130);
    expect(partFiles(work)).toEqual([]);
  } finally {
    stream.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
    await feeding;
  }
});

test('a server that never answers is given up on after --request-timeout', async () => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const r = await runFlow(['9p', 'ls', `tcp://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, '/', '--request-timeout', '300']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/did not answer Tversion within 300 ms/);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

test('--request-timeout is bounded by what a timer can wait', async () => {
  const r = await runFlow(['9p', 'ls', 'tcp://127.0.0.1:1', '/', '--request-timeout', '2147483648']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/--request-timeout must be a whole number from 0 to 2147483647/);
});
