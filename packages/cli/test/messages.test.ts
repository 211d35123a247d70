// What the command says when something goes wrong, read as a user reads it: each thing once, an
// example of the scheme that was wrong, and --stats lines shaped as the README shows them.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { families, parseEndpoint } from '../src/endpoints/registry';
import { UsageError } from '../src/usage-error';
import { runFlow, startFlow } from './support/flow-process';
import { connectTcp, TcpPeer } from './support/tcp-peer';
import { closedAfterEach } from './support/cleanup';

const { peers, sockets } = closedAfterEach();

function occurrences(text: string, phrase: string): number {
  return text.split(phrase).length - 1;
}

describe('an address in use is said once', () => {
  let busy: net.Server;
  let port: number;
  beforeAll(async () => {
    busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    port = (busy.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  test.each([
    ['listen', (p: number) => ['listen', `tcp://127.0.0.1:${p}`]],
    ['proxy', (p: number) => ['proxy', `tcp://127.0.0.1:${p}`, 'tcp://127.0.0.1:9']],
    ['9p serve', (p: number) => ['9p', 'serve', __dirname, '--listen', `tcp://127.0.0.1:${p}`]],
  ])('flow %s', async (name, args) => {
    const r = await runFlow(args(port));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`flow ${name}: cannot listen on tcp://127.0.0.1:${port}: the address is already in use (EADDRINUSE)`);
    expect(occurrences(r.stderr, 'cannot listen on')).toBe(1);
  });
});

describe('a bad URI is answered with an example of its own scheme', () => {
  const schemes = families.flatMap((f) => f.schemes.map((scheme) => [scheme, f] as const));

  test.each(schemes)('%s: the example parses', (scheme, family) => {
    const example = family.examples[scheme];
    expect(example).toMatch(new RegExp(`^${scheme.replace(/[.+-]/g, '\\$&')}:`));
    const asConnect = family.parse(example as string, scheme, 'connect');
    const asListen = family.parse(example as string, scheme, 'listen');
    expect(asConnect.ok || asListen.ok).toBe(true);
  });

  test.each([
    ['unix:', 'unix:///run/app.sock'],
    ['unix://relative', 'unix:///run/app.sock'],
    ['tcp://127.0.0.1', 'tcp://127.0.0.1:8080'],
    ['vsock://x', 'vsock://3:1024'],
    ['hybrid-vsock://:52', 'hybrid-vsock://:52/run/fc/v.sock'],
    ['9p://', '9p://127.0.0.1:564/path/to/file'],
  ])('%s', (uri, example) => {
    let thrown: unknown;
    try {
      parseEndpoint(uri, 'connect', '<uri>', 'connect');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as UsageError).example).toBe(example);
  });

  test('as the user sees it: the Example line of a bad unix: URI is a unix: URI', async () => {
    const r = await runFlow(['connect', 'unix:']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Example: unix:///run/app.sock');
    expect(r.stderr).not.toContain('tcp://');
  });
});

/** The --stats example of the README, as one JSON object. */
function readmeStatsExample(): Record<string, unknown> {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const block = /A `--stats` line looks like this[^\n]*\n\n```json\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('the README has no --stats example');
  return JSON.parse(block.replace(/\n/g, '')) as Record<string, unknown>;
}

/** The shape of a JSON value: its keys (recursively) and the types of its leaves. */
function shape(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return typeof value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, shape(v)]),
  );
}

test('a --stats line has the shape and the peer form of the README example', async () => {
  const peer = new TcpPeer((s) => s.end('hello'));
  peers.push(peer);
  const target = await peer.listen();
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${target}`, '--stats']);
  const listening = await flow.listeningOn();
  const socket = await connectTcp(Number(/:(\d+)$/.exec(listening)?.[1]));
  sockets.push(socket);
  socket.resume();
  socket.end('GET');
  const [line] = await flow.waitForStdoutLines(1);
  const stats = JSON.parse(line as string) as Record<string, unknown>;
  const example = readmeStatsExample();
  expect(shape(stats)).toEqual(shape(example));
  expect(stats.peer).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+ -> tcp:\/\/127\.0\.0\.1:\d+$/);
  expect(example.peer).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+ -> tcp:\/\/127\.0\.0\.1:\d+$/);
});

test('a connection aborted at the end of the grace period says "aborted" once in its --stats line', async () => {
  // A target that never answers nor ends: the connection is still live when the grace runs out.
  let arrived = 0;
  const peer = new TcpPeer((s) => {
    arrived += 1;
    s.resume();
  });
  peers.push(peer);
  const target = await peer.listen();
  const flow = startFlow(['proxy', 'tcp://127.0.0.1:0', `tcp://127.0.0.1:${target}`, '--stats', '--grace', '100']);
  const listening = await flow.listeningOn();
  const socket = await connectTcp(Number(/:(\d+)$/.exec(listening)?.[1]));
  sockets.push(socket);
  socket.on('error', () => undefined);
  socket.resume();
  socket.write('held');
  while (arrived === 0) await new Promise((r) => setTimeout(r, 10));
  flow.child.kill('SIGTERM');
  const [line] = await flow.waitForStdoutLines(1);
  const stats = JSON.parse(line as string) as { outcome: string; clientToTarget: { error?: string }; targetToClient: { error?: string } };
  expect(stats.outcome).toBe('aborted');
  const errors = [stats.clientToTarget.error, stats.targetToClient.error].filter((e): e is string => e !== undefined);
  expect(errors.length).toBeGreaterThan(0);
  for (const e of errors) expect(occurrences(e, 'aborted')).toBe(1);
  expect(await flow.exited).toEqual({ code: 0, signal: null });
});
