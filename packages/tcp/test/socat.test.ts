import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, listen, type TcpFlow } from '../src';
import { expectOk, freePort, hashAll, writeRandom } from './helpers';

// socat (Debian's socat package) is the real peer here: an echo server, and a client on stdio.
const children = new Set<ChildProcess>();

function socat(args: string[]): ChildProcess {
  const child = spawn('socat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Resolves once socat logs (with -d -d) that it listens; its log keeps being drained after. */
function listening(child: ChildProcess): Promise<void> {
  let log = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      log += String(chunk);
      if (log.includes('listening on')) resolve();
    });
    child.once('exit', () => reject(new Error(`socat exited before listening: ${log}`)));
  });
}

async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

function hashOf(stream: NodeJS.ReadableStream): Promise<{ hash: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  stream.on('data', (d: Buffer) => {
    h.update(d);
    bytes += d.length;
  });
  return new Promise((resolve) => stream.on('end', () => resolve({ hash: h.digest('hex'), bytes })));
}

afterEach(async () => {
  for (const c of [...children]) {
    c.kill('SIGKILL');
    await exited(c);
  }
});

describe.each([
  ['127.0.0.1', 'TCP4-LISTEN', 64 * 1024 * 1024],
  ['::1', 'TCP6-LISTEN', 8 * 1024 * 1024],
])('socat echo server on %s', (host, listenAddress, size) => {
  test(`${size / (1024 * 1024)} MiB echoed back intact (sha256), our FIN first and the echo goes on after it`, async () => {
    const port = await freePort(host);
    const server = socat(['-d', '-d', '-t', '30', `${listenAddress}:${port},bind=${host.includes(':') ? `[${host}]` : host},reuseaddr`, 'PIPE']);
    await listening(server);
    const flow: TcpFlow = expectOk(await connect({ host, port }));
    const [sent, received] = await Promise.all([
      (async () => {
        const hash = await writeRandom(flow, size);
        expectOk(await flow.shutdownWrite());
        return hash;
      })(),
      hashAll(flow),
    ]);
    expect(received.bytes).toBe(size);
    expect(received.hash).toBe(sent);
    expectOk(await flow.close());
    expect(await exited(server)).toBe(0);
  });
});

describe('socat as a client', () => {
  test('socat half-closes first: we read all of its data to EOF, then our reply reaches it', async () => {
    const listener = expectOk(await listen('tcp://127.0.0.1:0'));
    const port = (listener.address as { port: number }).port;
    const client = socat(['-t', '30', '-', `TCP4:127.0.0.1:${port}`]);
    const fromUs = hashOf(client.stdout!);
    const flow = expectOk(await listener.accept());
    const request = randomBytes(8 * 1024 * 1024);
    client.stdin!.end(request);
    const got = await hashAll(flow);
    expect(got.bytes).toBe(request.length);
    expect(got.hash).toBe(createHash('sha256').update(request).digest('hex'));
    expect(flow.readState).toBe('eof');
    const sent = await writeRandom(flow, 8 * 1024 * 1024);
    expectOk(await flow.close());
    expect(await fromUs).toEqual({ hash: sent, bytes: 8 * 1024 * 1024 });
    expect(await exited(client)).toBe(0);
    await listener.close();
  });

  test('we half-close first: socat sees EOF, and its data still reaches us after our FIN', async () => {
    const listener = expectOk(await listen('tcp://[::1]:0'));
    const port = (listener.address as { port: number }).port;
    const client = socat(['-t', '30', '-', `TCP6:[::1]:${port}`]);
    const fromUs = hashOf(client.stdout!);
    const flow = expectOk(await listener.accept());
    const greeting = await writeRandom(flow, 1024 * 1024);
    expectOk(await flow.shutdownWrite());
    // socat has printed everything we sent and seen our EOF before it sends a byte.
    expect(await fromUs).toEqual({ hash: greeting, bytes: 1024 * 1024 });
    const late = randomBytes(4 * 1024 * 1024);
    client.stdin!.end(late);
    const got = await hashAll(flow);
    expect(got).toEqual({ hash: createHash('sha256').update(late).digest('hex'), bytes: late.length });
    expectOk(await flow.close());
    expect(await exited(client)).toBe(0);
    await listener.close();
  });
});
