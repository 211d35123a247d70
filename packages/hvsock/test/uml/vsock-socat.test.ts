// socat 1.7.4 as an independent AF_VSOCK peer: its VSOCK-LISTEN against our connect, and our
// listener against its VSOCK-CONNECT.
import { spawn, type ChildProcess } from 'node:child_process';
import { EOF, type Flow } from '@flow/core';
import { connectVsock } from '../../src/vsock/connect';
import { listener, LOCAL } from './support';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

async function readAll(flow: Flow): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) return Buffer.concat(parts);
    parts.push(r.value);
  }
}

/** A vsock port nobody uses right now: bind one, read it, release it. */
async function freePort(): Promise<number> {
  const l = await listener();
  const port = l.address.port;
  await l.close();
  return port;
}

test("our client against socat VSOCK-LISTEN:<port>,fork EXEC:'tr a-z A-Z', with half-close", async () => {
  const port = await freePort();
  const socat = spawn('socat', [`VSOCK-LISTEN:${port},reuseaddr,fork`, "EXEC:tr a-z A-Z"], { stdio: 'ignore' });
  children.push(socat);
  let c = await connectVsock({ kind: 'vsock', cid: LOCAL, port });
  for (let i = 0; i < 100 && !c.ok; i++) {
    await new Promise((r) => setTimeout(r, 50));
    c = await connectVsock({ kind: 'vsock', cid: LOCAL, port });
  }
  if (!c.ok) throw c.error;
  const text = 'hello over vsock '.repeat(20_000);
  expect((await c.value.write(Buffer.from(text))).ok).toBe(true);
  expect((await c.value.shutdownWrite()).ok).toBe(true);
  expect((await readAll(c.value)).toString()).toBe(text.toUpperCase());
  expect((await c.value.close()).ok).toBe(true);
});

test('socat VSOCK-CONNECT:1:<port> against our listener: its stdin arrives, our reply reaches its stdout', async () => {
  const l = await listener();
  const socat = spawn('socat', ['-', `VSOCK-CONNECT:1:${l.address.port}`], { stdio: ['pipe', 'pipe', 'ignore'] });
  children.push(socat);
  const out: Buffer[] = [];
  socat.stdout!.on('data', (d: Buffer) => out.push(d));
  const exited = new Promise<number | null>((resolve) => socat.once('close', resolve));
  socat.stdin!.end('ping from socat\n');
  const s = await l.accept();
  if (!s.ok) throw s.error;
  expect((await readAll(s.value)).toString()).toBe('ping from socat\n');
  expect((await s.value.write(Buffer.from('pong from flow\n'))).ok).toBe(true);
  expect((await s.value.close()).ok).toBe(true);
  expect(await exited).toBe(0);
  expect(Buffer.concat(out).toString()).toBe('pong from flow\n');
  await l.close();
});
