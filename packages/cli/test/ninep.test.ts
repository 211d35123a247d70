import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { busyPollDefault } from '@flow/core';
import { connect9p, type Client9p } from '@flow/9p';
import { connect } from '@flow/tcp';
import { diodTool, DiodServer, freePort, haveDiod } from './support/diod';
import { killAllFlows, runFlow, startFlow, type FlowProcess } from './support/flow-process';
import { randomData, sha256 } from './support/tcp-peer';

let dir: string;
let work: string;
const clients: Client9p[] = [];
const diods: DiodServer[] = [];
const diod = haveDiod();

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flow-9p-export-'));
  work = mkdtempSync(path.join(os.tmpdir(), 'flow-9p-work-'));
  writeFileSync(path.join(dir, 'hello.txt'), 'hello over 9p\n');
  mkdirSync(path.join(dir, 'sub'));
  writeFileSync(path.join(dir, 'sub', 'inner.txt'), 'inner\n');
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.abort();
  await killAllFlows();
  await Promise.all(diods.splice(0).map((d) => d.stop()));
  rmSync(dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

async function serveExport(...extra: string[]): Promise<{ flow: FlowProcess; uri: string; port: number }> {
  const flow = startFlow(['9p', 'serve', dir, '--listen', 'tcp://127.0.0.1:0', ...extra]);
  const uri = await flow.listeningOn();
  return { flow, uri, port: Number(/:(\d+)$/.exec(uri)?.[1]) };
}

async function client9p(uri: string, aname: string): Promise<Client9p | string> {
  const flow = await connect(uri);
  if (!flow.ok) throw new Error(flow.error.message);
  const c = await connect9p(flow.value, { aname });
  if (!c.ok) return c.error.message;
  clients.push(c.value);
  return c.value;
}

test('flow 9p serve prints the diod and Linux mount lines for its address', async () => {
  const { flow, port } = await serveExport();
  await flow.waitForStdoutLines(4);
  const out = flow.stdout.toString();
  expect(out).toContain(`diodls  -s 127.0.0.1:${port} -a ${dir} -l /`);
  expect(out).toContain(`diodcat -s 127.0.0.1:${port} -a ${dir} <file>`);
  expect(out).toContain(`mount -t 9p -o trans=tcp,port=${port},version=9p2000.L 127.0.0.1 /mnt`);
});

test("@flow/9p's client reads the export under the anames '', '/' and its absolute path, and no other", async () => {
  const { uri } = await serveExport();
  for (const aname of ['', '/', dir]) {
    const c = await client9p(uri, aname);
    if (typeof c === 'string') throw new Error(`aname '${aname}': ${c}`);
    const file = await c.readFile('hello.txt');
    expect(file.ok && Buffer.from(file.value).toString()).toBe('hello over 9p\n');
    const list = await c.readdir('/');
    expect(list.ok && list.value.map((e) => `${e.name}:${e.type}`).sort()).toEqual(['hello.txt:file', 'sub:directory']);
  }
  expect(await client9p(uri, '/some/other/path')).toMatch(/ENOENT|unknown aname/);
});

(diod ? test : test.skip)('diodls lists and diodcat reads the export (needs Debian package diod)', async () => {
  const big = randomData(2 << 20);
  writeFileSync(path.join(dir, 'big.bin'), big);
  const { port } = await serveExport();
  const server = `127.0.0.1:${port}`;
  const ls = diodTool('diodls', ['-s', server, '-a', dir, '-l', '/']);
  expect(ls.status).toBe(0);
  expect(ls.stdout.toString()).toMatch(/hello\.txt/);
  expect(ls.stdout.toString()).toMatch(/ sub\n/);
  const cat = diodTool('diodcat', ['-s', server, '-a', '/', 'hello.txt']);
  expect([cat.status, cat.stdout.toString()]).toEqual([0, 'hello over 9p\n']);
  const bigCat = diodTool('diodcat', ['-s', server, '-a', dir, '-m', '65536', 'big.bin']);
  expect(bigCat.status).toBe(0);
  expect(sha256(bigCat.stdout)).toBe(sha256(big));
});

test('flow 9p put then get carries 3 MiB both ways, hash-checked', async () => {
  const { uri } = await serveExport();
  const data = randomData(3 << 20);
  const local = path.join(work, 'up.bin');
  writeFileSync(local, data);
  const put = await runFlow(['9p', 'put', uri, '/sub/up.bin', local]);
  expect([put.code, put.stderr]).toEqual([0, '']);
  expect(sha256(readFileSync(path.join(dir, 'sub', 'up.bin')))).toBe(sha256(data));
  const back = path.join(work, 'down.bin');
  const get = await runFlow(['9p', 'get', uri, '/sub/up.bin', back]);
  expect(get.code).toBe(0);
  expect(sha256(readFileSync(back))).toBe(sha256(data));
});

/** Runs `flow` to the end, sampling its resident memory; resolves with its exit and peak RSS in MiB. */
async function runSampled(args: readonly string[]): Promise<{ code: number | null; stderr: string; peakMiB: number }> {
  const p = startFlow(args);
  p.child.stdin.end();
  let peak = 0;
  const sample = (): void => {
    try {
      const status = readFileSync(`/proc/${p.child.pid}/status`, 'utf8');
      peak = Math.max(peak, Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
    } catch {
      // The process is gone between two samples.
    }
  };
  const timer = setInterval(sample, 5);
  const exit = await p.exited;
  clearInterval(timer);
  return { code: exit.code, stderr: p.stderr, peakMiB: peak };
}

test('flow 9p get and put stream a 256 MiB file: memory stays well below the file size', async () => {
  const { uri } = await serveExport();
  const size = 256 << 20;
  const sparse = path.join(dir, 'big.img');
  writeFileSync(sparse, '');
  truncateSync(sparse, size);
  const back = path.join(work, 'big.img');
  const get = await runSampled(['9p', 'get', uri, '/big.img', back]);
  expect([get.code, get.stderr]).toEqual([0, '']);
  expect(statSync(back).size).toBe(size);
  const put = await runSampled(['9p', 'put', uri, '/sub/big-again.img', back]);
  expect([put.code, put.stderr]).toEqual([0, '']);
  expect(statSync(path.join(dir, 'sub', 'big-again.img')).size).toBe(size);
  // A process that held the file would peak above 256 MiB (whole-file reads peaked at 339 MiB for a
  // 128 MiB file); streaming stays near Node's own baseline plus garbage not yet collected.
  expect(get.peakMiB).toBeGreaterThan(0);
  expect(get.peakMiB).toBeLessThan(160);
  expect(put.peakMiB).toBeLessThan(160);
}, 60_000);

test('a failed get leaves an existing local file alone and no partial file behind', async () => {
  const { uri } = await serveExport();
  const target = path.join(work, 'keep.txt');
  writeFileSync(target, 'precious');
  const r = await runFlow(['9p', 'get', uri, '/no-such-file', target]);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe('flow 9p get: cannot get /no-such-file: no such file or directory\n');
  expect(readFileSync(target, 'utf8')).toBe('precious');
  expect(readdirSync(work)).toEqual(['keep.txt']);
});

test('a put of a missing local file exits 1 naming it, and leaves the remote file alone', async () => {
  const { uri } = await serveExport();
  const missing = path.join(work, 'absent.txt');
  const r = await runFlow(['9p', 'put', uri, '/hello.txt', missing]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(missing);
  expect(readFileSync(path.join(dir, 'hello.txt'), 'utf8')).toBe('hello over 9p\n');
});

test('flow 9p get - and cat print the file on stdout; put - reads stdin', async () => {
  const { uri } = await serveExport();
  expect((await runFlow(['9p', 'cat', uri, '/sub/inner.txt'])).stdout.toString()).toBe('inner\n');
  expect((await runFlow(['9p', 'get', uri, '/hello.txt', '-'])).stdout.toString()).toBe('hello over 9p\n');
  expect((await runFlow(['9p', 'put', uri, '/from-stdin.txt', '-'], 'typed\n')).code).toBe(0);
  expect(readFileSync(path.join(dir, 'from-stdin.txt'), 'utf8')).toBe('typed\n');
});

test('flow 9p ls and stat describe what is there', async () => {
  const { uri } = await serveExport();
  const ls = await runFlow(['9p', 'ls', uri]);
  expect([ls.code, ls.stdout.toString()]).toEqual([0, 'hello.txt\nsub/\n']);
  const long = await runFlow(['9p', 'ls', uri, '/', '--long']);
  expect(long.stdout.toString()).toMatch(/^-rw.* 14 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d hello\.txt\nd.* sub\n$/);
  const stat = await runFlow(['9p', 'stat', uri, '/hello.txt', '--json']);
  expect(JSON.parse(stat.stdout.toString())).toMatchObject({ name: 'hello.txt', type: 'file', size: 14 });
});

test('flow 9p mkdir and rm create and remove on the server', async () => {
  const { uri } = await serveExport();
  expect((await runFlow(['9p', 'mkdir', uri, '/made'])).code).toBe(0);
  expect(existsSync(path.join(dir, 'made'))).toBe(true);
  expect((await runFlow(['9p', 'rm', uri, '/made'])).code).toBe(0);
  expect((await runFlow(['9p', 'rm', uri, '/hello.txt'])).code).toBe(0);
  expect(existsSync(path.join(dir, 'made'))).toBe(false);
  expect(existsSync(path.join(dir, 'hello.txt'))).toBe(false);
});

test('a missing remote file makes flow 9p cat exit 1 with a message that names it', async () => {
  const { uri } = await serveExport();
  const r = await runFlow(['9p', 'cat', uri, '/no-such-file']);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe('flow 9p cat: cannot read /no-such-file: no such file or directory\n');
});

test('9P errors say in words what failed, once: the operation, the path and the reason', async () => {
  const { uri } = await serveExport();
  const cases: [string[], string][] = [
    [['rm', uri, '/sub'], 'flow 9p rm: cannot remove /sub: directory not empty\n'],
    [['mkdir', uri, '/sub'], 'flow 9p mkdir: cannot create directory /sub: file already exists\n'],
    [['ls', uri, '/hello.txt/x'], 'flow 9p ls: cannot list /hello.txt/x: no such file or directory\n'],
    [['put', uri, '/x', path.join(work, 'missing')], `flow 9p put: cannot read ${path.join(work, 'missing')}: no such file or directory\n`],
  ];
  for (const [args, message] of cases) {
    const r = await runFlow(['9p', ...args]);
    expect({ args, stderr: r.stderr, code: r.code }).toEqual({ args, stderr: message, code: 1 });
  }
});

test('flow 9p serve --read-only refuses a put with exit 1 and leaves the file alone', async () => {
  const { uri } = await serveExport('--read-only');
  const r = await runFlow(['9p', 'put', uri, '/hello.txt', '-'], 'overwritten');
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/EROFS|read-only/i);
  expect(readFileSync(path.join(dir, 'hello.txt'), 'utf8')).toBe('hello over 9p\n');
});

test('flow 9p serve of a directory that does not exist, or of a file, exits 2 saying which', async () => {
  const missing = await runFlow(['9p', 'serve', path.join(dir, 'missing'), '--listen', 'tcp://127.0.0.1:0']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/'[^']*missing' does not exist/);
  const file = await runFlow(['9p', 'serve', path.join(dir, 'hello.txt'), '--listen', 'tcp://127.0.0.1:0']);
  expect(file.code).toBe(2);
  expect(file.stderr).toMatch(/hello\.txt' is not a directory/);
  const under = await runFlow(['9p', 'serve', path.join(dir, 'hello.txt', 'x'), '--listen', 'tcp://127.0.0.1:0']);
  expect(under.code).toBe(2);
  expect(under.stderr).toMatch(/is not a directory \(a component of the path is a file\)/);
});

test('flow 9p serve: connections that send nothing or a byte at a time do not lock clients out; --help says the limits', async () => {
  const { uri, port, flow } = await serveExport('--max-connections', '4', '--handshake-timeout', '60000');
  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = createConnection(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
  const loris: Socket[] = [];
  for (let i = 0; i < 8; i++) {
    const s = await open();
    s.on('error', () => undefined);
    loris.push(s);
  }
  // Half of them dribble a Tversion, one byte at a time, never finishing it.
  const tversion = Buffer.from('1300000064ffff00200000060039503230303000', 'hex');
  let k = 0;
  const drip = setInterval(() => {
    for (const s of loris.slice(4)) if (!s.destroyed) s.write(tversion.subarray(k % 12, (k % 12) + 1));
    k++;
  }, 25);
  try {
    for (let round = 0; round < 3; round++) {
      const ls = await runFlow(['9p', 'ls', uri, '/']);
      expect(ls.stderr).toBe('');
      expect(ls.stdout.toString()).toBe('hello.txt\nsub/\n');
    }
  } finally {
    clearInterval(drip);
    for (const s of loris) s.destroy();
  }
  expect(flow.stderr).toMatch(/to make room for a new one/);
  const help = await runFlow(['9p', 'serve', '--help']);
  expect(help.stdout.toString()).toMatch(/--handshake-timeout MS/);
  expect(help.stdout.toString()).toMatch(/Limits: a client that connects must complete Tversion/);
});

test('flow 9p serve --sync-read-max 0 serves reads through the thread pool byte-exact; a bad value is a usage error', async () => {
  const data = Buffer.alloc(200 * 1024 + 7, 'x');
  writeFileSync(path.join(dir, 'pool.bin'), data);
  const { uri } = await serveExport('--sync-read-max', '0');
  const c = await client9p(uri, '');
  if (typeof c === 'string') throw new Error(c);
  const back = await c.readFile('/pool.bin');
  expect(back.ok && Buffer.from(back.value).equals(data)).toBe(true);
  const bad = await runFlow(['9p', 'serve', dir, '--sync-read-max', 'lots']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--sync-read-max must be a whole number/);
  const help = await runFlow(['9p', 'serve', '--help']);
  expect(help.stdout.toString()).toMatch(/--sync-read-max BYTES/);
});

test('flow 9p serve polls after replies by default (with two CPUs or more), --busy-poll 0 not at all; reads stay byte-exact', async () => {
  const data = Buffer.alloc(300 * 1024 + 3, 'p');
  writeFileSync(path.join(dir, 'poll.bin'), data);
  for (const [extra, said] of [
    [[], busyPollDefault() > 0 ? `busy polling up to ${busyPollDefault()} µs after each reply` : undefined],
    [['--busy-poll', '0'], undefined],
    [['--busy-poll', '250'], 'busy polling up to 250 µs after each reply'],
  ] as const) {
    const { flow, uri } = await serveExport(...extra);
    const c = await client9p(uri, '');
    if (typeof c === 'string') throw new Error(c);
    const back = await c.readFile('/poll.bin');
    expect(back.ok && Buffer.from(back.value).equals(data)).toBe(true);
    const line = flow.stderr.split('\n').find((l) => l.includes('listening on')) ?? '';
    if (said === undefined) expect(line).not.toMatch(/busy polling/);
    else expect(line).toContain(said);
  }
  for (const badValue of ['fast', '-1', '10001']) {
    const bad = await runFlow(['9p', 'serve', dir, '--busy-poll', badValue]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--busy-poll/);
  }
  const help = await runFlow(['9p', 'serve', '--help']);
  expect(help.stdout.toString()).toMatch(/--busy-poll US/);
});

test('flow 9p serve --memory bounds what a client can make it hold: a listing past it fails with ENOMEM', async () => {
  mkdirSync(path.join(dir, 'many'));
  for (let i = 0; i < 4500; i++) writeFileSync(path.join(dir, 'many', `${String(i).padStart(5, '0')}${'m'.repeat(200)}`), '');
  const { uri } = await serveExport('--memory', '1');
  const flow = await connect(uri);
  if (!flow.ok) throw new Error(flow.error.message);
  const c = await connect9p(flow.value, { version: '9P2000.u' });
  if (!c.ok) throw c.error;
  clients.push(c.value);
  const listed = await c.value.readdir('/many'); // a 9P2000.u snapshot of ~1.2 MB
  expect(listed.ok).toBe(false);
  expect(!listed.ok && listed.error.message).toMatch(/ENOMEM|memory budget/);
  expect(await c.value.readdir('/sub')).toMatchObject({ ok: true }); // small ones still list
  const bad = await runFlow(['9p', 'serve', dir, '--memory', '0']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--memory must be a whole number/);
}, 60000);

test('flow 9p serve --ids: no-root (the default as root) refuses setgid directories, squash gives new files away, passthrough does as asked', async () => {
  const asRoot = process.getuid?.() === 0;
  const mkdirWith = async (extra: string[], name: string): Promise<{ ok: boolean; error?: string; stderr: string }> => {
    const { uri, flow } = await serveExport(...extra);
    const c = await client9p(uri, '');
    if (typeof c === 'string') throw new Error(c);
    const r = await c.mkdir(`/${name}`, 0o2755);
    return { ok: r.ok, ...(r.ok ? {} : { error: r.error.message }), stderr: flow.stderr };
  };
  const byDefault = await mkdirWith([], 'sgid-default');
  expect(byDefault.stderr).toMatch(asRoot ? /\(ids: no-root\)/ : /\(ids: passthrough\)/);
  expect(byDefault.ok).toBe(!asRoot);
  if (asRoot) expect(byDefault.error).toMatch(/EPERM|setuid and setgid bits are refused/);
  const noRoot = await mkdirWith(['--ids', 'no-root'], 'sgid-noroot');
  expect(noRoot.ok).toBe(false);
  expect(existsSync(path.join(dir, 'sgid-noroot'))).toBe(false);
  const passthrough = await mkdirWith(['--ids', 'passthrough'], 'sgid-pass');
  expect(passthrough.ok).toBe(true);
  expect(statSync(path.join(dir, 'sgid-pass')).isDirectory()).toBe(true); // (mkdir(2) itself drops S_ISGID)
  const to = asRoot ? 65534 : process.getuid!();
  const { uri } = await serveExport('--ids', `squash:${to}:${asRoot ? 65534 : process.getgid!()}`);
  const c = await client9p(uri, '');
  if (typeof c === 'string') throw new Error(c);
  expect((await c.mkdir('/squashed', 0o755)).ok).toBe(true);
  expect(statSync(path.join(dir, 'squashed')).uid).toBe(to);
  const bad = await runFlow(['9p', 'serve', dir, '--ids', 'everyone']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--ids must be passthrough, no-root or squash:UID:GID/);
});

/**
 * Runs `flow` as a process without the right to bypass file permissions: as root, with
 * CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped (setpriv, util-linux), so that mode bits
 * bind it as they bind any user; otherwise as it is.
 */
function runFlowUnprivileged(args: readonly string[]): { status: number | null; stderr: string } {
  const bin = path.resolve(__dirname, '..', 'bin', 'flow.js');
  const caps = '-dac_override,-dac_read_search';
  const [cmd, argv] =
    process.getuid?.() === 0
      ? ['setpriv', [`--inh-caps=${caps}`, `--bounding-set=${caps}`, '--', process.execPath, bin, ...args]]
      : [process.execPath, [bin, ...args]];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 30000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw r.error;
  return { status: r.status, stderr: r.stderr };
}

test('flow 9p serve refuses at start a directory it cannot read or cannot reach, with the reason', () => {
  const locked = path.join(work, 'locked');
  mkdirSync(path.join(locked, 'inner'), { recursive: true });
  chmodSync(locked, 0o000);
  try {
    // Unreadable: every attach would fail with EACCES.
    const unreadable = runFlowUnprivileged(['9p', 'serve', locked, '--listen', 'tcp://127.0.0.1:0']);
    expect(unreadable.status).toBe(2);
    expect(unreadable.stderr).toMatch(/locked' is not accessible to this process: permission denied \(EACCES\)/);
    // Cannot even be looked at (a directory above it is not searchable): not "not a directory".
    const unreachable = runFlowUnprivileged(['9p', 'serve', path.join(locked, 'inner'), '--listen', 'tcp://127.0.0.1:0']);
    expect(unreachable.status).toBe(2);
    expect(unreachable.stderr).toMatch(/inner' is not accessible to this process: permission denied \(EACCES\)/);
    // Readable but not searchable.
    chmodSync(locked, 0o444);
    const unsearchable = runFlowUnprivileged(['9p', 'serve', locked, '--listen', 'tcp://127.0.0.1:0']);
    expect(unsearchable.status).toBe(2);
    expect(unsearchable.stderr).toMatch(/permission denied \(EACCES\)/);
  } finally {
    chmodSync(locked, 0o755);
  }
});

test('on SIGTERM flow 9p serve lets a live session go on within the grace and exits 0', async () => {
  const { flow, uri, port } = await serveExport('--grace', '60000');
  const c = await client9p(uri, '');
  if (typeof c === 'string') throw new Error(c);
  flow.child.kill('SIGTERM');
  await flow.waitForStderr(/no longer accepting; 1 live connection/);
  const file = await c.readFile('sub/inner.txt');
  expect(file.ok && Buffer.from(file.value).toString()).toBe('inner\n');
  const refused = await connect(`tcp://127.0.0.1:${port}`);
  expect(refused.ok ? 'connected' : refused.error.kind).toBe('refused');
  await c.close();
  expect(await flow.exited).toEqual({ code: 0, signal: null });
});

(spawnSync('sh', ['-c', 'command -v script'], { stdio: 'ignore' }).status === 0 ? test : test.skip)(
  'flow 9p get draws a progress bar with the rate when stderr is a terminal (needs script(1))',
  async () => {
    writeFileSync(path.join(dir, 'big.bin'), randomData(1 << 20));
    const { uri } = await serveExport();
    const bin = path.resolve(__dirname, '..', 'bin', 'flow.js');
    const target = path.join(work, 'big.bin');
    // script(1) gives the command a pseudo-terminal, so stderr is a TTY as for a user.
    const r = spawnSync('script', ['-qec', `${process.execPath} ${bin} 9p get ${uri} /big.bin ${target}`, '/dev/null'], { timeout: 30000 });
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toMatch(/\[#{24}\] 100\.0% {2}1\.00 MiB \/ 1\.00 MiB {2}[\d.]+ (B|KiB|MiB|GiB)\/s/);
  },
);

(diod ? test : test.skip)('flow 9p ls and cat work against a diod server (needs Debian package diod)', async () => {
  const port = await freePort();
  const server = new DiodServer(dir, port);
  diods.push(server);
  await server.ready();
  const uri = `tcp://127.0.0.1:${port}`;
  const ls = await runFlow(['9p', 'ls', uri, '/', '--aname', dir]);
  expect([ls.code, ls.stdout.toString()]).toEqual([0, 'hello.txt\nsub/\n']);
  const cat = await runFlow(['9p', 'cat', uri, '/sub/inner.txt', '--aname', dir]);
  expect(cat.stdout.toString()).toBe('inner\n');
});
