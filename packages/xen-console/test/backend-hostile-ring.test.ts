// Spec §11.1, the ring items, at the level of the backend flow: a scripted guest writes the
// shared page and notifies as it likes. No crash, bounded memory, the right typed error, the
// backend going Closing, nothing leaked. (The ring algorithm alone is in ring-hostile.test.ts.)
import { createHash } from 'node:crypto';
import { EOF } from '@flow/core';
import type { ConsolePolicy, XenConsoleFlow } from '../src';
import { CONSOLE_LAYOUT } from '../src/ring/layout';
import type { SimXen } from '../src/sim/sim-xen';
import { pattern, ScriptedGuest, type ScriptedGuestOptions } from './support/backend-guest';
import type { PlatformProbe } from './support/backend-platform';
import { connectBackend, create, dom0Holds, GUEST, must, node, readUpTo, settles, startSim, turns, until } from './support/backend-harness';
import { startFlipper } from './support/ring-flipper';

const BACK = `/local/domain/0/backend/console/${GUEST}/1`;
const { OUT_CONS, OUT_PROD, IN_PROD } = CONSOLE_LAYOUT;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let sim: SimXen;
beforeEach(async () => {
  sim = await startSim();
});
afterEach(async () => {
  await sim.close();
});

async function connected(
  policy: ConsolePolicy = {},
  guestOptions: ScriptedGuestOptions = {},
  beforeInitialised?: (guest: ScriptedGuest) => void,
): Promise<{ back: XenConsoleFlow; guest: ScriptedGuest; probe: PlatformProbe }> {
  await create(sim);
  const guest = await ScriptedGuest.start(sim, GUEST, guestOptions);
  beforeInitialised?.(guest);
  const { probe, result } = connectBackend(sim, { policy });
  await guest.initialise();
  return { back: must(await result, 'connect'), guest, probe };
}

/** After a close: the page unmapped, our port unbound, backend Closed, no xenstore left open. */
async function expectReleased(back: XenConsoleFlow, guest: ScriptedGuest): Promise<void> {
  await back.close();
  await until(() => node(sim, `${BACK}/state`) === '6', 'backend Closed');
  expect(dom0Holds(sim)).toEqual({ mappings: 0, dom0Ports: 0 });
  await guest.close();
  expect(sim.accounting()).toMatchObject({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0 });
  expect(sim.xenstored.stats).toMatchObject({ connections: 0, watches: 0, transactions: 0 });
}

describe('1. out_prod - out_cons > 2048', () => {
  test.each([
    ['2049', 0, 2049],
    ['0xFFFFFFFF (prod one behind cons)', 100, 0xffffffff],
    ['2^31', 0, 0x80000000],
    ['2^31 across the 2^32 wrap', 0xfffffff0, 0x80000000],
  ])('%s: no data, the ring marked corrupt, a protocol error, backend Closing, then no more work per event', async (_name, cons, distance) => {
    const { back, guest, probe } = await connected({}, { start: cons });
    guest.produce(Buffer.from('fine so far'));
    guest.notify();
    expect((await readUpTo(back, 11)).data.toString()).toBe('fine so far');
    guest.storeIndex(OUT_PROD, guest.indices().outCons + distance);
    guest.notify();
    const r = await back.read();
    expect(r.ok ? 'data' : r.error.kind).toBe('protocol');
    expect(r.ok ? '' : r.error.message).toContain('exceeds the 2048-byte out ring');
    expect(back.consoleStats.corruptRings).toBe(1);
    expect(guest.indices().outCons).toBe((cons + 11) >>> 0);
    await until(() => node(sim, `${BACK}/state`) === '5', 'backend Closing');
    // The guest keeps notifying: the backend does nothing for it any more (no busy loop).
    const handled = probe.events.length;
    must(await sim.hypervisor.events.storm(GUEST, guest.port.local, 10_000, 100));
    await turns(20);
    expect(probe.events.length - handled).toBeLessThanOrEqual(1);
    expect(back.consoleStats.corruptRings).toBe(1);
    const w = await back.write(Buffer.from('x'));
    expect(w.ok ? 'ok' : w.error.kind).toBe('protocol');
    await expectReleased(back, guest);
  });

  test('indices already impossible when the backend connects: refused at the first look', async () => {
    const { back, guest, probe } = await connected({}, {}, (g) => g.storeIndex(OUT_PROD, 0xffffffff));
    const r = await back.read();
    expect(r.ok ? 'data' : r.error.kind).toBe('protocol');
    expect(probe.events).toHaveLength(0);
    expect(guest.indices().outCons).toBe(0);
    await expectReleased(back, guest);
  });
});

test.each([
  ['2^32', 0xfffff000],
  ['2^31', 0x7ffff000],
])('2. indices wrapping across %s with a well-behaved guest: byte-exact both ways', async (_name, start) => {
  const { back, guest } = await connected({ eventsPerPeriod: 100_000 }, { start });
  const out = pattern(40_000, 4);
  const input = pattern(10_000, 5);
  const received: Uint8Array[] = [];
  const offGuest = guest.onEvent(() => received.push(guest.consume()));
  const flood = guest.flood(out);
  const [fromGuest, wrote] = await Promise.all([readUpTo(back, out.length), back.write(input)]);
  await flood.done;
  expect(wrote.ok).toBe(true);
  await until(() => received.reduce((n, b) => n + b.length, 0) === input.length, 'the guest has all input');
  offGuest();
  expect(sha(fromGuest.data)).toBe(sha(out));
  expect(sha(Buffer.concat(received))).toBe(sha(input));
  expect(guest.indices().outCons).toBe((start + out.length) >>> 0);
  await expectReleased(back, guest);
});

describe('3. the guest writes the backend\'s own indices', () => {
  test('out_cons rewritten: detected as tampering, never trusted', async () => {
    const { back, guest } = await connected();
    guest.produce(Buffer.from('abc'));
    guest.storeIndex(OUT_CONS, 1000); // pretend we consumed what we never saw
    guest.notify();
    const r = await back.read();
    expect(r.ok ? 'data' : r.error.kind).toBe('protocol');
    expect(r.ok ? '' : r.error.message).toContain('out_cons on the page is 1000');
    expect(back.consoleStats.corruptRings).toBe(1);
    await until(() => node(sim, `${BACK}/state`) === '5', 'backend Closing');
    await expectReleased(back, guest);
  });

  test('in_prod rewritten: our next write refuses with a protocol error instead of trusting it', async () => {
    const { back, guest } = await connected();
    must(await back.write(Buffer.from('ok')));
    guest.storeIndex(IN_PROD, 0x12345);
    const w = await back.write(Buffer.from('more'));
    expect(w.ok ? 'ok' : w.error.kind).toBe('protocol');
    expect(w.ok ? '' : w.error.message).toContain('in_prod');
    const r = await back.read();
    expect(r.ok ? 'data' : r.error.kind).toBe('protocol');
    expect(guest.indices().inProd).toBe(0x12345);
    await expectReleased(back, guest);
  });
});

test('4. out_prod flipped from another thread during our copies: only validated windows are delivered, then a protocol error; no crash, nothing leaked', async () => {
  const { back, guest } = await connected({ eventsPerPeriod: 100_000 });
  const flipper = await startFlipper(guest.page.buffer);
  const chunks: number[] = [];
  let end: string | undefined;
  try {
    let reading = back.read();
    for (let round = 0; round < 5000 && end === undefined; round++) {
      guest.notify();
      const r = await Promise.race([reading, turns(5).then(() => undefined)]);
      if (r === undefined) continue;
      if (!r.ok) end = r.error.kind;
      else if (r.value === EOF) end = 'eof';
      else chunks.push(r.value.length);
      reading = back.read();
    }
  } finally {
    await flipper.stop();
  }
  expect(flipper.flips()).toBeGreaterThan(0);
  expect(end).toBe('protocol');
  // A read is at most one ring's worth of one snapshot (the flow hands out what the driver pushed).
  for (const n of chunks) expect(n).toBeLessThanOrEqual(CONSOLE_LAYOUT.OUT_SIZE);
  expect(back.consoleStats.corruptRings).toBe(1);
  await expectReleased(back, guest);
});

test('5. a guest that never consumes: write() stays pending with the ring full, memory does not grow, close() releases it with Closed', async () => {
  const { back, guest } = await connected({ eventsPerPeriod: 100_000 });
  const big = pattern(4 * 1024 * 1024, 6);
  const before = process.memoryUsage().arrayBuffers;
  let settled: { ok: boolean; kind?: string; accepted?: number } | undefined;
  const writing = back.write(big).then((r) => {
    settled = r.ok ? { ok: true } : { ok: false, kind: r.error.kind, accepted: r.error.bytesAccepted };
  });
  // The guest pokes the backend over and over without reading anything.
  for (let i = 0; i < 200; i++) {
    guest.notify();
    await turns(1);
  }
  expect(settled).toBeUndefined();
  const { inProd, inCons } = guest.indices();
  expect((inProd - inCons) >>> 0).toBe(CONSOLE_LAYOUT.IN_SIZE);
  // The 4 MiB are the caller's and stay so: nothing like it was copied.
  expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1024 * 1024);

  const closing = back.close();
  expect(await settles(writing)).toBe(true);
  expect(settled).toEqual({ ok: false, kind: 'closed', accepted: CONSOLE_LAYOUT.IN_SIZE });
  // The close could not deliver everything: it says so, with the same error, and still releases.
  const closed = await closing;
  expect(closed.ok ? 'ok' : closed.error.kind).toBe('closed');
  await expectReleased(back, guest);
});

describe('6. output floods faster than read() drains it', () => {
  test('block: the backend takes no more than its buffer, the guest waits on a full ring, and nothing is lost once read() catches up', async () => {
    const { back, guest } = await connected({ eventsPerPeriod: 100_000, maxBufferedBytes: 16 * 1024 });
    const data = pattern(1024 * 1024, 7);
    const flood = guest.flood(data);
    const ringFull = (): boolean => ((guest.indices().outProd - guest.indices().outCons) >>> 0) === CONSOLE_LAYOUT.OUT_SIZE;
    // Wait until the guest is stuck: its ring full and the backend taking nothing more.
    let taken = -1;
    for (let i = 0; i < 200 && !(ringFull() && guest.indices().outCons === taken); i++) {
      taken = guest.indices().outCons;
      await turns(20);
    }
    expect(ringFull()).toBe(true);
    expect(guest.indices().outCons).toBe(taken);
    // What the backend holds for the reader is bounded by its buffer.
    expect(taken).toBeLessThanOrEqual(16 * 1024);
    expect(flood.written()).toBe(taken + CONSOLE_LAYOUT.OUT_SIZE);
    const all = await readUpTo(back, data.length);
    expect(await flood.done).toBe(data.length);
    expect(sha(all.data)).toBe(sha(data));
    expect(back.consoleStats.discardedBytes).toBe(0);
    await expectReleased(back, guest);
  });

  test('discardMiddle: the guest never waits, at most 5/4 of the cap is held, the head and the tail are kept', async () => {
    const limit = 16 * 1024;
    const { back, guest } = await connected({ eventsPerPeriod: 100_000, overflow: 'discardMiddle', maxBufferedBytes: limit });
    const data = pattern(1024 * 1024, 8);
    const flood = guest.flood(data);
    expect(await flood.done).toBe(data.length);
    await turns(20);
    const stats = back.consoleStats;
    expect(stats.peakHeldBytes).toBeGreaterThan(limit);
    expect(stats.peakHeldBytes).toBeLessThanOrEqual((limit * 5) / 4);
    expect(stats.discardedBytes).toBeGreaterThan(0);
    const got = await readUpTo(back, data.length - stats.discardedBytes);
    expect(got.data.length + stats.discardedBytes).toBe(data.length);
    // A contiguous head (the reader's buffer, then limit/2 kept), then a contiguous tail to the last byte.
    let head = 0;
    while (head < got.data.length && got.data[head] === data[head]) head++;
    expect(head).toBeGreaterThanOrEqual(limit / 2);
    const tail = got.data.length - head;
    expect(tail).toBeGreaterThanOrEqual(limit / 2);
    expect(got.data.subarray(head)).toEqual(data.subarray(data.length - tail));
    await expectReleased(back, guest);
  });
});

test('7. event storm of 10^6 notifies: at most 30 handled per 200 ms, the port masked meanwhile, and service resumes after', async () => {
  const { back, guest, probe } = await connected();
  const start = performance.now();
  let sent = 0;
  // At least 10^6 notifies, and long enough to span several periods whatever this machine's speed.
  while (sent < 1_000_000 || performance.now() - start < 1000) {
    must(await sim.hypervisor.events.storm(GUEST, guest.port.local, 20_000, 200));
    sent += 20_000;
  }
  const elapsed = performance.now() - start;
  const stats = back.consoleStats;
  expect(stats.events).toBe(probe.events.length);
  expect(stats.events).toBeLessThanOrEqual(30 * (Math.ceil(elapsed / 200) + 1));
  expect(stats.events).toBeGreaterThanOrEqual(61); // several periods were exercised
  expect(stats.rateLimitedPeriods).toBeGreaterThanOrEqual(2);
  // The port stays masked after exactly one event per limited period (the 30th): none is
  // handled past the allowance, and every other event is followed by an unmask at once.
  expect(probe.events.filter((x) => x.maskedAfter === true)).toHaveLength(stats.rateLimitedPeriods);
  expect(probe.events.every((x) => x.maskedAfter !== undefined)).toBe(true);
  // No 61 consecutive events within 200 ms: at most 30 per period (bounds around the backend's clock).
  const e = probe.events;
  for (let i = 0; i + 60 < e.length; i++) expect((e[i + 60]?.after ?? 0) - (e[i]?.before ?? 0)).toBeGreaterThan(200);
  // After the storm, ordinary service.
  guest.produce(Buffer.from('after the storm'));
  guest.notify();
  expect((await readUpTo(back, 15)).data.toString()).toBe('after the storm');
  must(await back.write(Buffer.from('ack')));
  await until(() => guest.indices().inProd === 3, 'input delivered');
  expect(Buffer.from(guest.consume()).toString()).toBe('ack');
  await expectReleased(back, guest);
});

test('8. spurious events move nothing and notify nobody; after an event-channel overflow the backend re-scans and finds what was written silently', async () => {
  const { back, guest, probe } = await connected({ eventsPerPeriod: 100_000 });
  for (let i = 0; i < 100; i++) {
    guest.notify();
    await turns(1);
  }
  expect(probe.events.length).toBeGreaterThan(0);
  expect(back.consoleStats.notifies).toBe(0);
  expect(guest.events).toBe(0);
  guest.produce(Buffer.from('written without a notify'));
  await turns(20);
  sim.hypervisor.events.injectOverflow(0);
  expect((await readUpTo(back, 24)).data.toString()).toBe('written without a notify');
  await expectReleased(back, guest);
});
