'use strict';
// Micro-benchmark of the copy engine: one proxied loopback TCP connection, SIZE bytes from a
// source to a sink (both in a child process), copied in this process by the engine (read/write
// and splice) or by Node's `socket.pipe`. Prints Gbit/s and this process's CPU seconds per GiB
// (process.cpuUsage(): user + system), the proxy's own cost.
//
// Usage (after `pnpm build`): node scripts/bench.js [GiB, default 2] [runs per mode, default 1] [modes]
// where modes is a comma-separated subset of: readwrite 64,readwrite 256,splice 64,splice 256,pipe
const { fork } = require('node:child_process');
const net = require('node:net');
const { startCopy, lendSocket } = require('../dist');

const GiB = 1024 ** 3;
const MiB = 1024 * 1024;
const size = Math.round((Number(process.argv[2] ?? 2) * GiB) / MiB) * MiB;
const runs = Number(process.argv[3] ?? 1);

if (process.argv[2] === '--peer') {
  peer();
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

/** The child: a sink that counts and a source that writes `bytes` then ends, through the proxy. */
function peer() {
  process.on('message', ({ proxyPort, bytes }) => {
    const sink = net.createServer((socket) => {
      let got = 0;
      socket.on('data', (chunk) => (got += chunk.length));
      socket.on('end', () => {
        socket.end();
        sink.close();
        process.send({ got });
      });
    });
    sink.listen(0, '127.0.0.1', () => {
      process.send({ sinkPort: sink.address().port });
      const source = net.connect({ port: proxyPort, host: '127.0.0.1' }, async () => {
        const chunk = Buffer.alloc(1024 * 1024, 0x5a);
        for (let sent = 0; sent < bytes; sent += chunk.length) {
          if (!source.write(chunk)) await new Promise((resolve) => source.once('drain', resolve));
        }
        source.end();
      });
      source.on('data', () => {});
    });
  });
}

async function once(mode) {
  const child = fork(__filename, ['--peer'], { stdio: 'inherit' });
  const proxy = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise((resolve) => proxy.once('connection', resolve));
  const sinkPort = await new Promise((resolve) => {
    child.once('message', (m) => resolve(m.sinkPort));
    child.send({ proxyPort: proxy.address().port, bytes: size });
  });
  const received = new Promise((resolve) => child.on('message', (m) => m.got !== undefined && resolve(m.got)));
  const client = await accepted;
  proxy.close();
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const upstream = net.connect({ port: sinkPort, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise((resolve) => upstream.once('connect', resolve));
  if (mode === 'pipe') {
    client.pipe(upstream);
    client.resume();
  } else {
    const from = lendSocket(client);
    const to = lendSocket(upstream);
    if (!from.ok || !to.ok) throw new Error('cannot lend');
    const [how, kib] = mode.split(' ');
    const bufferSize = Number(kib) * 1024;
    const copy = startCopy(from.value.fd, to.value.fd, { mode: how, bufferSize });
    if (!copy.ok) throw copy.error;
    const result = await copy.value.done;
    if (result.outcome !== 'eof') throw result.error;
    upstream.end();
  }
  const got = await received;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  client.destroy();
  upstream.destroy();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill();
  await exited;
  if (got !== size) throw new Error(`${mode}: the sink got ${got} of ${size} bytes`);
  return { seconds, cpu: (used.user + used.system) / 1e6 };
}

async function main() {
  const all = ['readwrite 64', 'readwrite 256', 'splice 64', 'splice 256', 'pipe'];
  const modes = process.argv[4] ? process.argv[4].split(',') : all;
  const unknown = modes.filter((mode) => !all.includes(mode));
  if (unknown.length > 0) throw new Error(`unknown modes: ${unknown.join(', ')} (known: ${all.join(', ')})`);
  console.log(`${(size / GiB).toFixed(2)} GiB through one loopback TCP proxy connection, ${runs} run(s) per mode`);
  console.log('mode                        Gbit/s   CPU s/GiB (this process)');
  for (const mode of modes) {
    for (let i = 0; i < runs; i++) {
      const { seconds, cpu } = await once(mode);
      const label = mode === 'pipe' ? 'node socket.pipe' : `engine ${mode} KiB`;
      const gbits = (size * 8) / seconds / 1e9;
      console.log(`${label.padEnd(26)} ${gbits.toFixed(2).padStart(7)}   ${(cpu / (size / GiB)).toFixed(3).padStart(8)}`);
    }
  }
}
