import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect9p, type Client9p } from '@flow/9p';
import { connect } from '@flow/tcp';
import { killAllFlows, runFlow, startFlow, type FlowProcess } from './support/flow-process';
import { randomData, sha256 } from './support/tcp-peer';

// `flow 9p serve --workers N`: one primary process hands connections to N worker processes.

let dir: string;
const clients: Client9p[] = [];
const blockers: Server[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flow-9p-workers-'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.abort();
  await killAllFlows();
  await Promise.all(blockers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  rmSync(dir, { recursive: true, force: true });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The processes whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // Gone while we looked.
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Open sockets of a process (its descriptors that are sockets). */
function socketCount(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n += 1;
    } catch {
      // Closed while we looked.
    }
  }
  return n;
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function serve(...extra: string[]): Promise<{ flow: FlowProcess; uri: string; workers: number[] }> {
  const flow = startFlow(['9p', 'serve', dir, '--listen', 'tcp://127.0.0.1:0', ...extra]);
  const uri = await flow.listeningOn();
  return { flow, uri, workers: childrenOf(flow.child.pid as number) };
}

async function client(uri: string): Promise<Client9p> {
  const flow = await connect(uri);
  if (!flow.ok) throw new Error(flow.error.message);
  const c = await connect9p(flow.value);
  if (!c.ok) throw c.error;
  clients.push(c.value);
  return c.value;
}

test('--workers 3: three worker processes share the connections, each client reads byte-exact', async () => {
  const data = randomData(3 * 1024 * 1024 + 5);
  writeFileSync(path.join(dir, 'data.bin'), data);
  const { flow, uri, workers } = await serve('--workers', '3');
  expect(workers).toHaveLength(3);
  expect(flow.stderr).toMatch(/in 3 worker processes/);
  const before = workers.map(socketCount);
  const sessions = await Promise.all([0, 1, 2, 3, 4, 5].map(() => client(uri)));
  // Round robin: the six connections are spread over every worker (Node hands each to the next
  // worker that is free, so under a burst one may take a third while another takes one).
  const gained = (): number[] => workers.map((w, i) => socketCount(w) - (before[i] as number));
  await until('six connections over the three workers', () => gained().reduce((a, b) => a + b, 0) === 6).catch((e: Error) => {
    throw new Error(`${e.message}: sockets gained per worker ${JSON.stringify(gained())}`);
  });
  for (const n of gained()) expect(n).toBeGreaterThanOrEqual(1);
  const read = await Promise.all(sessions.map((c) => c.readFile('/data.bin')));
  for (const r of read) expect(r.ok && sha256(Buffer.from(r.value))).toBe(sha256(data));
});

test('--workers 1 serves from the one process, and a bad --workers is a usage error', async () => {
  const { flow, uri, workers } = await serve('--workers', '1');
  expect(workers).toEqual([]);
  expect(flow.stderr).not.toMatch(/worker processes/);
  writeFileSync(path.join(dir, 'one.txt'), 'one\n');
  const r = await (await client(uri)).readFile('/one.txt');
  expect(r.ok && Buffer.from(r.value).toString()).toBe('one\n');
  for (const bad of ['0', 'many', '65']) {
    const run = await runFlow(['9p', 'serve', dir, '--workers', bad]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--workers must be a whole number from 1 to 64/);
  }
  const help = await runFlow(['9p', 'serve', '--help']);
  expect(help.stdout.toString()).toMatch(/--workers N/);
});

test('SIGTERM reaches every worker through the primary: a live session gets the grace, then all exit 0, "stopped" once', async () => {
  const { flow, uri, workers } = await serve('--workers', '2', '--grace', '400');
  // A connected, attached client is a live session until it ends.
  await client(uri);
  flow.child.kill('SIGTERM');
  const signalled = Date.now();
  await flow.waitForStderr(/no longer accepting; 1 live connection\(s\) get 400 ms to finish/);
  const exit = await flow.exited;
  expect(exit).toEqual({ code: 0, signal: null });
  expect(Date.now() - signalled).toBeLessThan(400 + 5000);
  expect(flow.stderr).toMatch(/grace period over: aborting 1 live connection/);
  expect(flow.stderr.match(/flow 9p serve: stopped/g)).toHaveLength(1);
  for (const w of workers) expect(alive(w)).toBe(false);
});

test('a worker that dies is replaced, and the export is still served', async () => {
  writeFileSync(path.join(dir, 'x.txt'), 'still here\n');
  const { flow, uri, workers } = await serve('--workers', '2');
  const pid = flow.child.pid as number;
  process.kill(workers[0] as number, 'SIGKILL');
  await flow.waitForStderr(/worker \d+ was killed by SIGKILL; starting another/);
  await until('a second worker again', () => childrenOf(pid).filter((w) => w !== workers[0]).length === 2);
  for (let i = 0; i < 4; i++) {
    const r = await (await client(uri)).readFile('/x.txt');
    expect(r.ok && Buffer.from(r.value).toString()).toBe('still here\n');
  }
});

test('a primary that is killed leaves no worker behind', async () => {
  const { flow, workers } = await serve('--workers', '2');
  expect(workers).toHaveLength(2);
  flow.child.kill('SIGKILL');
  await flow.exited;
  await until('the workers to exit', () => workers.every((w) => !alive(w)), 5000);
});

test('an address in use: exit 3 with the reason said once, and no worker left', async () => {
  const blocker = createServer();
  blockers.push(blocker);
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  const p = startFlow(['9p', 'serve', dir, '--listen', `tcp://127.0.0.1:${port}`, '--workers', '2']);
  const exit = await p.exited;
  expect(exit.code).toBe(3);
  expect(p.stderr.match(/address already in use|in use/gi)?.length).toBeGreaterThanOrEqual(1);
  expect(p.stderr.split('\n').filter((l) => l.startsWith('flow 9p serve:'))).toHaveLength(1);
});
