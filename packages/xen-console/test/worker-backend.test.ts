// dom0's backend (this thread) against a guest whose frontend runs in a worker thread: real
// concurrency on the shared page and the event channel. Data both ways is hash-checked over
// many wraps of the 2 KiB `out` and 1 KiB `in` rings, with indices that cross 2^31 and 2^32
// (shared-memory-ring's Int32 comparison bug); a guest that dies mid-transfer ends the flow
// with EOF and leaves nothing mapped or bound; no worker outlives its test.
import { randomBytes } from 'node:crypto';
import { readConsoleIndices } from '../src';
import { sourceBytes } from '../src/sim/guest-behaviours';
import { parseGuestMessage } from '../src/sim/guest-messages';
import { startSimGuest, type SimGuest } from '../src/sim/guest-runner';
import { WriteStamps } from '../src/sim/guest-write-stamps';
import { SimXen } from '../src/sim/sim-xen';
import { bringUp, readToEnd, readUpTo, sha256, turnsUntil } from './support/worker-guest';

const GUEST = 7;
const DEVID = 1;
const MiB = 1024 * 1024;
/** 1 MiB wraps `in` (1 KiB) 1024 times and `out` (2 KiB) 512 times. */
const BULK = MiB + 333;

const STARTS = [
  ['0', 0],
  ['2^32 - 700 (the indices wrap to 0 mid-transfer)', 2 ** 32 - 700],
  ['2^31 - 700 (the indices cross the sign bit mid-transfer)', 2 ** 31 - 700],
] as const;

let sim: SimXen;
let guests: SimGuest[];
let exitedGuests: Set<SimGuest>;

beforeEach(async () => {
  sim = new SimXen();
  guests = [];
  exitedGuests = new Set();
  const made = await sim.createGuest(GUEST);
  if (!made.ok) throw made.error;
});

afterEach(async () => {
  // Every test shuts its guests down itself; one still running here is a leaked worker.
  const running = guests.filter((g) => !exitedGuests.has(g));
  await Promise.all(guests.map((g) => g.terminate()));
  await sim.close();
  expect(running.map((g) => g.domid)).toEqual([]);
});

/** Tracks the exit of every guest the test starts. */
function track(started: SimGuest[]): SimGuest[] {
  for (const g of started) void g.exited.then(() => exitedGuests.add(g));
  return started;
}

async function expectNothingHeld(): Promise<void> {
  await turnsUntil(() => {
    const a = sim.accounting();
    return a.mappings === 0 && a.ports === 0 && a.grants === 0 && a.exportedDomains === 0;
  }, 'every mapping, port, grant and exported domain released');
  expect(sim.accounting()).toEqual({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0, exportedDomains: 0 });
}

describe.each(STARTS)('indices starting at %s', (_name, startIndex) => {
  test('guest → dom0: a source guest’s bytes reach read() intact, in order (sha256 against its report)', async () => {
    const { back, guest, console } = await bringUp(sim, GUEST, { devid: DEVID, behaviour: { kind: 'source', bytes: BULK, seed: 11, chunkSize: 4093 }, startIndex }, undefined, guests);
    track(guests);
    const got = await readUpTo(back, BULK);
    const report = await guest.report;
    if (!report.ok) throw report.error;
    expect(report.value).toMatchObject({ behaviour: 'source', ended: 'done', written: { bytes: BULK } });
    expect(got.bytes.length).toBe(BULK);
    expect(sha256(got.bytes)).toBe(report.value.written.sha256);
    expect(sha256(got.bytes)).toBe(sha256(sourceBytes(BULK, 11)));
    // The indices really moved past the start (and wrapped where the start says so).
    const out = readConsoleIndices(console.page);
    expect(out.outProd).toBe((startIndex + BULK) >>> 0);
    expect(out.outCons).toBe(out.outProd);
    expect(back.consoleStats.corruptRings).toBe(0);
    expect(guest.malformed).toBe(0);

    expect(await guest.close()).toBe(0);
    expect(await readToEnd(back)).toBe(0);
    await back.close();
    await expectNothingHeld();
  });

  test('dom0 → guest: a sink guest reads exactly what write() sent (sha256 in its report)', async () => {
    const { back, guest, console } = await bringUp(sim, GUEST, { devid: DEVID, behaviour: { kind: 'sink', bytes: BULK }, startIndex }, undefined, guests);
    track(guests);
    const data = randomBytes(BULK);
    for (let at = 0; at < BULK; at += 65537) {
      const w = await back.write(data.subarray(at, at + 65537));
      if (!w.ok) throw w.error;
    }
    const report = await guest.report;
    if (!report.ok) throw report.error;
    expect(report.value).toMatchObject({ behaviour: 'sink', ended: 'done', read: { bytes: BULK, sha256: sha256(data) } });
    const ring = readConsoleIndices(console.page);
    expect(ring.inProd).toBe((startIndex + BULK) >>> 0);
    expect(ring.inCons).toBe(ring.inProd);

    expect(await guest.close()).toBe(0);
    expect(await readToEnd(back)).toBe(0);
    await back.close();
    await expectNothingHeld();
  });

  test('both ways at once: an echo guest returns every byte while dom0 is still writing', async () => {
    const { back, guest } = await bringUp(sim, GUEST, { devid: DEVID, behaviour: { kind: 'echo' }, startIndex }, undefined, guests);
    track(guests);
    const data = randomBytes(BULK);
    const writing = (async () => {
      for (let at = 0; at < BULK; at += 7919) {
        const w = await back.write(data.subarray(at, at + 7919));
        if (!w.ok) throw w.error;
      }
    })();
    const [got] = await Promise.all([readUpTo(back, BULK), writing]);
    expect(got.bytes.length).toBe(BULK);
    expect(sha256(got.bytes)).toBe(sha256(data));

    expect(await guest.close()).toBe(0);
    const report = await guest.report;
    if (!report.ok) throw report.error;
    expect(report.value).toMatchObject({ ended: 'stopped', read: { bytes: BULK, sha256: sha256(data) }, written: { bytes: BULK } });
    expect(await readToEnd(back)).toBe(0);
    await back.close();
    await expectNothingHeld();
  });
});

test('with the default rate limit (30 events per 200 ms) data still flows both ways, and the limiter engaged', async () => {
  const { back, guest } = await bringUp(sim, GUEST, { devid: DEVID, behaviour: { kind: 'echo' } }, {}, guests);
  track(guests);
  const data = randomBytes(64 * 1024 + 1);
  const [got, w] = await Promise.all([readUpTo(back, data.length), back.write(data)]);
  if (!w.ok) throw w.error;
  expect(sha256(got.bytes)).toBe(sha256(data));
  // 64 KiB through a 1 KiB ring takes at least 64 guest notifications: more than one period's allowance.
  expect(back.consoleStats.rateLimitedPeriods).toBeGreaterThan(0);
  expect(await guest.close()).toBe(0);
  await back.close();
  await expectNothingHeld();
});

test('a guest on a cooked tty echoes as it types, erases, and writes each line back with CR LF', async () => {
  const { back, guest } = await bringUp(sim, GUEST, { devid: DEVID, behaviour: { kind: 'line-echo' } }, undefined, guests);
  track(guests);
  const typed = 'hello\rwolrd\x7f\x7f\x7frld\r';
  const w = await back.write(Buffer.from(typed, 'latin1'));
  if (!w.ok) throw w.error;
  const expected = 'hello\r\nhello\r\n' + 'wolrd\b \b\b \b\b \brld\r\nworld\r\n';
  const got = await readUpTo(back, expected.length);
  expect(got.bytes.toString('latin1')).toBe(expected);
  expect(await guest.close()).toBe(0);
  await back.close();
  await expectNothingHeld();
});

test('the guest stamps each write: the time of its last write is before dom0’s read of it resolved', async () => {
  const stamps = WriteStamps.create(16);
  const { back, guest } = await bringUp(sim, GUEST, { devid: DEVID, behaviour: { kind: 'echo' }, writeStamps: stamps }, undefined, guests);
  track(guests);
  for (let i = 0; i < 40; i++) {
    const w = await back.write(Uint8Array.of(i));
    if (!w.ok) throw w.error;
    const r = await readUpTo(back, 1);
    const readAt = process.hrtime.bigint();
    expect([...r.bytes]).toEqual([i]);
    expect(stamps.count).toBe(i + 1);
    expect(stamps.latest()).toBeLessThanOrEqual(readAt);
  }
  expect(stamps.at(0)).toBeUndefined(); // fell out of the 16 slots
  expect(stamps.at(39)).toBe(stamps.latest());
  expect(await guest.close()).toBe(0);
  await back.close();
  await expectNothingHeld();
});

test('the guest dies mid-transfer (its worker stops, the domain is destroyed): read() ends with EOF and nothing stays mapped or bound', async () => {
  const { back, guest } = await bringUp(sim, GUEST, { devid: DEVID, behaviour: { kind: 'source', bytes: 1024 * MiB } }, undefined, guests);
  track(guests);
  const before = await readUpTo(back, 200_000);
  expect(before.eof).toBe(false);
  const during = back.write(new Uint8Array(64 * 1024)); // stuck: the source guest never reads
  await guest.destroy();
  expect(typeof (await guest.exited)).toBe('number');
  // Whatever the guest had written before it died is still delivered, then EOF.
  const rest = await readToEnd(back);
  expect(before.bytes.length + rest).toBeGreaterThan(200_000);
  const w = await during;
  expect(w.ok ? 'ok' : w.error.kind).toBe('closed');
  const report = await guest.report;
  expect(report.ok ? 'reported' : report.error.kind).toBe('closed');
  await back.close();
  await expectNothingHeld();
  expect(sim.xenstored.isIntroduced(GUEST)).toBe(false);
});

test('a guest whose worker is terminated without the domain dying holds its grant until the domain is destroyed', async () => {
  const { back, guest } = await bringUp(sim, GUEST, { devid: DEVID, behaviour: { kind: 'source', bytes: 1024 * MiB } }, undefined, guests);
  track(guests);
  await readUpTo(back, 50_000);
  await guest.terminate();
  // The worker's channel closed: the hypervisor took back its ports; dom0's mapping keeps the
  // page (and the grant, pending its end) alive, as Xen does.
  await turnsUntil(() => sim.accounting().exportedDomains === 0, 'the worker channel closed');
  expect(sim.accounting()).toMatchObject({ mappings: 1, pendingRevokes: 1 });
  sim.destroyGuest(GUEST);
  await readToEnd(back);
  await back.close();
  await expectNothingHeld();
});

test('the guest closing its console (as hvc_xen on shutdown) ends read() with EOF after its last bytes', async () => {
  const { back, guest } = await bringUp(sim, GUEST, { devid: DEVID, behaviour: { kind: 'source', bytes: 5000, seed: 3 } }, undefined, guests);
  track(guests);
  const report = await guest.report;
  if (!report.ok) throw report.error;
  // The source is done, but the last bytes may still be in the ring when the guest closes.
  expect(await guest.close()).toBe(0);
  const got = await readUpTo(back, 10_000);
  expect(got.eof).toBe(true);
  expect(sha256(got.bytes)).toBe(sha256(sourceBytes(5000, 3)));
  await back.close();
  await expectNothingHeld();
});

test('startSimGuest refuses bad options; the runner ignores guest messages of the wrong shape', async () => {
  expect(() => startSimGuest(sim, GUEST, { devid: 0, behaviour: { kind: 'echo' } })).toThrow(RangeError);
  expect(() => startSimGuest(sim, GUEST, { devid: 1, behaviour: { kind: 'source', bytes: -1 } })).toThrow(RangeError);
  expect(() => startSimGuest(sim, GUEST, { devid: 1, behaviour: { kind: 'source', bytes: 1, chunkSize: 0 } })).toThrow(RangeError);
  expect(() => startSimGuest(sim, GUEST, { devid: 1, behaviour: { kind: 'echo' }, startIndex: 2 ** 32 })).toThrow(RangeError);
  // Nothing was exported by the refused calls: the domain can still go to a worker.
  expect(sim.accounting().exportedDomains).toBe(0);
  const page = new SharedArrayBuffer(4096);
  const transfer = { bytes: 1, sha256: 'a'.repeat(64) };
  for (const junk of [
    null,
    'report',
    { type: 'connected', ringRef: 8, port: 0, page },
    { type: 'connected', ringRef: 8, port: 3, page: new SharedArrayBuffer(8) },
    { type: 'status', id: 1, events: -1, notifies: 0, bytesRead: 0, bytesWritten: 0 },
    { type: 'report', report: { behaviour: 'rm -rf', ended: 'done', read: transfer, written: transfer, events: 0, notifies: 0 } },
    { type: 'report', report: { behaviour: 'echo', ended: 'done', read: { bytes: 1, sha256: 'zz' }, written: transfer, events: 0, notifies: 0 } },
    { type: 'report', report: { behaviour: 'echo', ended: 'done', read: transfer, written: transfer, events: 0, notifies: 0, lastReadAt: 5 } },
    { type: 'failed', error: { kind: 'io' } },
  ]) {
    expect(parseGuestMessage(junk)).toBeUndefined();
  }
  const failed = parseGuestMessage({ type: 'failed', error: { kind: 'made-up', message: 'x'.repeat(100_000) } });
  expect(failed).toEqual({ type: 'failed', error: { kind: 'protocol', message: 'x'.repeat(4096) } });
  expect(parseGuestMessage({ type: 'connected', ringRef: 8, port: 3, page })).toEqual({ type: 'connected', ringRef: 8, port: 3, page });
});
