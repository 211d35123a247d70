import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, listen, type TcpFlow } from '../src';
import { expectOk, freePort, hashAll, writeRandom } from './support';

// socat (Debian's socat package) is the real peer here: an echo server, and a client on stdio.
// The echo server runs cat rather than socat's PIPE: with PIPE socat both fills and drains one
// pipe with blocking writes and can stall itself on large transfers.
const children = new Set<ChildProcess>();

function socat(args: string[]): ChildProcess {
  const child = spawn('socat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.stdin!.on('error', () => undefined);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Resolves once socat's log (it runs with -d -d) contains `text`; the log is drained throughout. */
function logged(child: ChildProcess, text: string): Promise<void> {
  let log = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      log += String(chunk);
      if (log.includes(text)) {
        child.stderr!.off('data', onData);
        child.stderr!.resume();
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', () => reject(new Error(`socat exited before logging "${text}": ${log}`)));
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
    const server = socat(['-d', '-d', '-t', '30', `${listenAddress}:${port},bind=${host.includes(':') ? `[${host}]` : host},reuseaddr`, 'EXEC:cat']);
    await logged(server, 'listening on');
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
    const port = listener.address.port;
    const client = socat(['-d', '-d', '-t', '30', '-', `TCP4:127.0.0.1:${port}`]);
    client.stderr!.resume();
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
    const port = listener.address.port;
    // A dual address (read stdin, write stdout) so that our EOF closes only socat's stdout.
    const client = socat(['-d', '-d', '-t', '30', 'STDIN!!STDOUT', `TCP6:[::1]:${port}`]);
    const sawOurEof = logged(client, 'is at EOF');
    let fromUs = 0;
    const greetingHash = createHash('sha256');
    client.stdout!.on('data', (d: Buffer) => {
      fromUs += d.length;
      greetingHash.update(d);
    });
    const flow = expectOk(await listener.accept());
    const greeting = await writeRandom(flow, 1024 * 1024);
    expectOk(await flow.shutdownWrite());
    // socat has seen our EOF (after all our data) before it sends a byte.
    await sawOurEof;
    const late = randomBytes(4 * 1024 * 1024);
    client.stdin!.end(late);
    const got = await hashAll(flow);
    expect(got).toEqual({ hash: createHash('sha256').update(late).digest('hex'), bytes: late.length });
    expectOk(await flow.close());
    expect(await exited(client)).toBe(0);
    expect({ hash: greetingHash.digest('hex'), bytes: fromUs }).toEqual({ hash: greeting, bytes: 1024 * 1024 });
    await listener.close();
  });
});
