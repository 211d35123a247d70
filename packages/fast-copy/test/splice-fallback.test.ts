// Splice mode when the kernel will not give the pipe the buffer's size: the copy reads and writes
// instead of splicing a few KiB per call. Only processes without CAP_SYS_RESOURCE are refused
// (such a process may size pipes beyond /proc/sys/fs/pipe-max-size), so when the tests hold it
// the copy runs in a child process with that one capability dropped by util-linux's setpriv:
// the same user still, so that it can read a checkout another user may not (a clone in a
// private temporary directory).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = join(__dirname, '..', 'dist');
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? 'setpriv';
const CAP_SYS_RESOURCE = 24n;

/** Whether this process may size pipes past pipe-max-size (its effective capability set). */
function holdsSysResource(): boolean {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
  return line !== undefined && ((BigInt(`0x${line.split(/\s+/)[1]}`) >> CAP_SYS_RESOURCE) & 1n) === 1n;
}

/** Runs a splice-mode copy of `bytes` in an unprivileged child; what it saw, as JSON. */
function spliceInChild(bufferSize: number, bytes: number): Promise<{ engineFds: number; outcome: string; copied: number; received: number; intact: boolean }> {
  const script = `
    const net = require('node:net');
    const fs = require('node:fs');
    const { once } = require('node:events');
    const { startCopy, lendSocket } = require(${JSON.stringify(dist)});
    async function connection() {
      const server = net.createServer().listen(0, '127.0.0.1');
      await once(server, 'listening');
      const far = net.connect(server.address().port, '127.0.0.1');
      const [near] = await once(server, 'connection');
      server.close();
      return { near, far };
    }
    (async () => {
      const [bufferSize, bytes] = process.argv.slice(1).map(Number);
      const a = await connection();
      const b = await connection();
      const from = lendSocket(a.near);
      const to = lendSocket(b.near);
      if (!from.ok || !to.ok) throw new Error('cannot lend');
      const before = fs.readdirSync('/proc/self/fd').length;
      const started = startCopy(from.value.fd, to.value.fd, { mode: 'splice', bufferSize });
      if (!started.ok) throw started.error;
      const engineFds = fs.readdirSync('/proc/self/fd').length - before;
      const sent = Buffer.alloc(bytes);
      for (let i = 0; i < bytes; i += 1) sent[i] = (i * 7 + (i >> 13)) & 255;
      const parts = [];
      b.far.on('data', (d) => parts.push(d));
      const ended = once(b.far, 'end');
      a.far.end(sent);
      const result = await started.value.done;
      b.near.end();
      await ended;
      const received = Buffer.concat(parts);
      process.stdout.write(JSON.stringify({ engineFds, outcome: result.outcome, copied: result.bytes, received: received.length, intact: received.equals(sent) }));
      for (const s of [a.near, a.far, b.near, b.far]) s.destroy();
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const node = [process.execPath, '-e', script, String(bufferSize), String(bytes)];
  const command = holdsSysResource() ? [SETPRIV, '--inh-caps=-sys_resource', '--bounding-set=-sys_resource', ...node] : node;
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let errors = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (errors += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`the child failed (${code}): ${errors}`))));
  });
}

const pipeMaxSize = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8'));
const bytes = 3 * 1024 * 1024;

test('a pipe the kernel sizes as asked: the copy splices through it (a pipe: two more descriptors)', async () => {
  expect(await spliceInChild(64 * 1024, bytes)).toEqual({ engineFds: 4, outcome: 'eof', copied: bytes, received: bytes, intact: true });
});

// Above 16 MiB (the largest bufferSize) no size is refused.
(pipeMaxSize < 16 * 1024 * 1024 ? test : test.skip)(
  `a pipe larger than pipe-max-size (${pipeMaxSize}): the copy reads and writes, with the engine's two duplicates only`,
  async () => {
    expect(await spliceInChild(pipeMaxSize * 2, bytes)).toEqual({ engineFds: 2, outcome: 'eof', copied: bytes, received: bytes, intact: true });
  },
);
