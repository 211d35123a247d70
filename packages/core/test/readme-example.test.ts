// Runs the README's example as written there, in a child process, with two changes the test
// makes visible: the ports (8080 and 80 become free ones) and a few lines appended that use it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import ts from 'typescript';

const README = join(__dirname, '..', 'README.md');

function exampleBlock(): string {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf('## Example');
  const m = /```ts\n([\s\S]*?)```/.exec(text.slice(start));
  if (start < 0 || !m) throw new Error('no ```ts block under "## Example" in the README');
  return m[1];
}

function substitute(source: string, from: string, to: string): string {
  if (!source.includes(from)) throw new Error(`the README example no longer contains ${JSON.stringify(from)}`);
  return source.replace(from, to);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Appended to the example: ask the forwarder a question through `ask`, print the answer. */
const DRIVER = `
const { fromDuplex: wrapSocket } = require('@flow/core');
setTimeout(() => {
  const socket = net.connect({ host: '127.0.0.1', port: Number(process.env.LISTEN_PORT), allowHalfOpen: true });
  socket.once('connect', async () => console.log('answer: ' + (await ask(wrapSocket(socket), 'ping'))));
}, 100);
`;

let dir = '';
beforeAll(() => {
  // Inside the package, so that require('@flow/core') resolves to this package itself.
  dir = mkdtempSync(join(__dirname, '..', '.readme-run-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runExample(listenPort: number, upstreamPort: number): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  let source = exampleBlock();
  source = substitute(source, ".listen(8080, '127.0.0.1')", '.listen(Number(process.env.LISTEN_PORT), \'127.0.0.1\')');
  source = substitute(source, 'port: 80,', 'port: Number(process.env.UPSTREAM_PORT),');
  const js = ts.transpileModule(source + DRIVER, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  const file = join(dir, `example-${listenPort}.js`);
  writeFileSync(file, js);
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, LISTEN_PORT: String(listenPort), UPSTREAM_PORT: String(upstreamPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffered = '';
  const take = (d: Buffer): void => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

async function waitForLine(lines: string[], pattern: RegExp, exited: Promise<number | null>): Promise<string> {
  let done = false;
  void exited.then(() => (done = true));
  for (let i = 0; i < 500; i++) {
    const found = lines.find((l) => pattern.test(l));
    if (found) return found;
    if (done) throw new Error(`the example exited; it printed:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no line matching ${pattern}; printed:\n${lines.join('\n')}`);
}

test('the example forwards to the upstream and reports both directions', async () => {
  const upstream: Server = createServer({ allowHalfOpen: true }, (s) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => s.end(`pong to ${Buffer.concat(parts).toString()}`));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const { child, lines, exited } = runExample(await freePort(), (upstream.address() as AddressInfo).port);
  try {
    expect(await waitForLine(lines, /^answer: /, exited)).toBe('answer: pong to ping');
    expect(await waitForLine(lines, /^up /, exited)).toBe('up 4 B (eof), down 12 B (eof)');
  } finally {
    child.kill();
    await exited;
    await new Promise((r) => upstream.close(r));
  }
});

test('an upstream that refuses: the client is told, and the example keeps running', async () => {
  const { child, lines, exited } = runExample(await freePort(), await freePort());
  try {
    expect(await waitForLine(lines, /^upstream: /, exited)).toMatch(/ECONNREFUSED/);
    expect(await waitForLine(lines, /^answer: /, exited)).toMatch(/^answer: no answer: /);
    // Still serving: no unhandled 'error' took the process down.
    await new Promise((r) => setTimeout(r, 200));
    expect(child.exitCode).toBeNull();
  } finally {
    child.kill();
    await exited;
  }
});
