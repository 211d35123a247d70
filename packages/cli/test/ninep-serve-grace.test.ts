// `flow 9p serve` keeps its grace period: after SIGINT, a session still busy (a `flow 9p get`
// whose output nobody reads, so the server's replies back up) is cut when the grace ends, and the
// server exits right then, not seconds later.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killAllFlows, startFlow } from './support/flow-process';

const BIN = path.resolve(__dirname, '..', 'bin', 'flow.js');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flow-9p-grace-'));
  // A large sparse file: the get is still going when the signal comes.
  writeFileSync(path.join(dir, 'big.bin'), '');
  truncateSync(path.join(dir, 'big.bin'), 8 * 1024 ** 3);
});

afterEach(async () => {
  await killAllFlows();
  rmSync(dir, { recursive: true, force: true });
});

test('SIGINT during a live get: the session is cut when the grace ends and the server exits then', async () => {
  const graceMs = 500;
  const server = startFlow(['9p', 'serve', dir, '--listen', 'tcp://127.0.0.1:0', '--grace', String(graceMs)]);
  const uri = await server.listeningOn();
  const get = spawn(process.execPath, [BIN, '9p', 'get', uri, '/big.bin', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const getExited = new Promise<number | null>((r) => get.once('close', (code) => r(code)));
  try {
    // Some bytes arrived: the session is live. Then nobody reads: the server's replies back up.
    await new Promise<void>((r) => get.stdout.once('data', () => r()));
    get.stdout.pause();
    server.child.kill('SIGINT');
    const signalled = Date.now();
    await server.waitForStderr(/no longer accepting; 1 live connection\(s\) get 500 ms to finish/);
    const exit = await server.exited;
    const tookMs = Date.now() - signalled;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(server.stderr).toMatch(/grace period over: aborting 1 live connection/);
    expect(server.stderr).toMatch(/session ended \(aborted\)/);
    // Not a performance figure: a liveness bound, several times the slack a loaded machine needs.
    expect(tookMs).toBeLessThan(graceMs + 5000);
    get.stdout.resume();
    expect(await getExited).not.toBe(0);
  } finally {
    get.kill('SIGKILL');
  }
});
