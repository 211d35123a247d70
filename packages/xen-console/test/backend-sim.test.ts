// The backend against the Linux-like frontend, both on the simulator in this thread: the
// bring-up sequence, data both ways (hash-checked) across ring wraps and the 2^32 index wrap,
// the console signature, and the end of the stream when the guest closes or dies.
import { createHash } from 'node:crypto';
import { EOF, type Flow } from '@flow/core';
import { connectConsole, connectFrontend, createConsole, XenConsoleFlow, type FrontendConsole } from '../src';
import { SabPage } from '../src/sim/sab-page';
import { SimXen } from '../src/sim/sim-xen';

const GUEST = 5;
let sim: SimXen;

beforeEach(async () => {
  sim = new SimXen();
  const made = await sim.createGuest(GUEST);
  if (!made.ok) throw made.error;
});

afterEach(async () => {
  await sim.close();
});

async function bringUp(startIndex = 0, devid = 1): Promise<{ back: XenConsoleFlow; front: FrontendConsole }> {
  const dom0 = sim.platform(0);
  const xs = await dom0.xenstore();
  if (!xs.ok) throw xs.error;
  const created = await createConsole(xs.value, { domid: GUEST, devid });
  if (!created.ok) throw created.error;
  await xs.value.close();
  const [back, front] = await Promise.all([
    connectConsole({ platform: dom0, domid: GUEST, devid, handshakeTimeoutMs: 5000 }),
    connectFrontend({ platform: sim.platform(GUEST), devid, page: new SabPage(), startIndex, timeoutMs: 5000 }),
  ]);
  if (!back.ok) throw back.error;
  if (!front.ok) throw front.error;
  return { back: back.value, front: front.value };
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

async function readN(flow: Flow, n: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) break;
    parts.push(r.value);
    got += r.value.length;
  }
  return Buffer.concat(parts);
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('guest output reaches read() and our writes reach the guest, hash-checked both ways', async () => {
  const { back, front } = await bringUp();
  const out = pattern(100_000, 1);
  const input = pattern(50_000, 2);
  const [fromGuest, toGuest] = await Promise.all([
    readN(back, out.length),
    readN(front.flow, input.length),
    front.flow.write(out),
    back.write(input),
  ]);
  expect(sha(fromGuest)).toBe(sha(out));
  expect(sha(toGuest)).toBe(sha(input));
  await back.close();
  await front.flow.close();
});

test.each([
  ['2^32 - 100', 2 ** 32 - 100],
  ['2^31 - 100', 2 ** 31 - 100],
])('indices starting at %s wrap correctly (the shared-memory-ring Int32 bug)', async (_name, start) => {
  const { back, front } = await bringUp(start);
  const out = pattern(20_000, 3);
  const [fromGuest] = await Promise.all([readN(back, out.length), front.flow.write(out)]);
  expect(sha(fromGuest)).toBe(sha(out));
  back.abort();
  front.flow.abort();
});

test('log appends CR LF', async () => {
  const { back, front } = await bringUp();
  await back.log('hello guest');
  expect((await readN(front.flow, 13)).toString()).toBe('hello guest\r\n');
  back.abort();
  front.flow.abort();
});

test('the guest closing its console ends the flow with EOF after its last bytes', async () => {
  const { back, front } = await bringUp();
  await front.flow.write(Buffer.from('bye'));
  await front.flow.close();
  expect((await readN(back, 1000)).toString()).toBe('bye');
  const r = await back.read();
  expect(r.ok && r.value).toBe(EOF);
});

test('the guest domain dying ends the flow, and nothing is left mapped or bound', async () => {
  const { back } = await bringUp();
  sim.destroyGuest(GUEST);
  const r = await back.read();
  expect(r.ok ? r.value : r.error.kind).toBe(EOF);
  await back.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(sim.accounting()).toMatchObject({ mappings: 0, ports: 0 });
});
