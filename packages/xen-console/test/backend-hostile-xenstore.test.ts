// Spec §11.1, the xenstore and handshake items: junk ring-ref/port, grants and ports that are
// not ours, state flapping and junk states, nodes deleted and the domain dying mid-handshake
// and mid-transfer, a guest that never initialises. Each ends in the right typed error or EOF,
// with nothing mapped, bound or left open.
import { EOF } from '@flow/core';
import type { XenConsoleFlow } from '../src';
import type { SimXen } from '../src/sim/sim-xen';
import { pattern, ScriptedGuest } from './support/backend-guest';
import { connectBackend, create, dom0Holds, failure, GUEST, must, node, readToEnd, readUpTo, settles, startSim, turns, until } from './support/backend-harness';

const FRONT = `/local/domain/${GUEST}/device/console/1`;
const BACK = `/local/domain/0/backend/console/${GUEST}/1`;

let sim: SimXen;
beforeEach(async () => {
  sim = await startSim();
  await create(sim);
});
afterEach(async () => {
  await sim.close();
});

/** Nothing of dom0's is left: no mapping, no port, no xenstore connection or watch beyond the guest's. */
function expectDom0Clean(guest?: ScriptedGuest): void {
  expect(dom0Holds(sim)).toEqual({ mappings: 0, dom0Ports: 0 });
  const dom0Connections = sim.xenstored.connectionInfo().filter((c) => c.domid === 0);
  expect(dom0Connections).toEqual([]);
  if (guest) expect(sim.xenstored.connectionInfo().filter((c) => c.domid === GUEST).every((c) => c.watches === 0)).toBe(true);
}

describe('1. junk ring-ref or port: refused by the strict parse, never mapped, the backend goes Closing', () => {
  const huge = '9'.repeat(2000);
  test.each([
    ['ring-ref non-numeric', 'eight', undefined],
    ['ring-ref "8abc" (sscanf would map ref 8)', '8abc', undefined],
    ['ring-ref negative', '-8', undefined],
    ['ring-ref 2^32', '4294967296', undefined],
    ['ring-ref huge', huge, undefined],
    ['ring-ref binary', Uint8Array.of(0x38, 0, 0xff), undefined],
    ['port "1x"', undefined, '1x'],
    ['port empty', undefined, ''],
    ['port with a leading zero', undefined, '01'],
    ['port 2^32 + 1', undefined, '4294967297'],
  ])('%s', async (_name, ref, port) => {
    const guest = await ScriptedGuest.start(sim, GUEST);
    const { probe, result } = connectBackend(sim);
    await guest.publish(ref ?? String(guest.ref), port ?? String(guest.port.local));
    await guest.setState(3);
    const e = failure(await result);
    expect(e.kind).toBe('protocol');
    expect(e.message).toContain('invalid ring-ref or port');
    expect(probe.maps).toEqual([]);
    expect(probe.binds).toEqual([]);
    expect(sim.hypervisor.grants.mapCount(GUEST, guest.ref)).toBe(0);
    expect(node(sim, `${BACK}/state`)).toBe('5');
    expectDom0Clean(guest);
    await guest.close();
  });

  test('ring-ref or port missing when the guest says Initialised', async () => {
    const guest = await ScriptedGuest.start(sim, GUEST);
    const { probe, result } = connectBackend(sim);
    must(await guest.xs.write(`${FRONT}/ring-ref`, String(guest.ref)));
    await guest.setState(3);
    expect(failure(await result).kind).toBe('protocol');
    expect(probe.maps).toEqual([]);
    expect(node(sim, `${BACK}/state`)).toBe('5');
    expectDom0Clean(guest);
    await guest.close();
  });
});

describe('2. grants and ports that are not ours', () => {
  test.each([
    ['the page granted to another domain', { grantTo: 7 }, 'permission'],
    ['the page granted read-only', { writable: false }, 'permission'],
  ] as const)('%s: the map fails cleanly with %s', async (_name, options, kind) => {
    const guest = await ScriptedGuest.start(sim, GUEST, options);
    const { probe, result } = connectBackend(sim);
    await guest.initialise();
    expect(failure(await result).kind).toBe(kind);
    expect(probe.binds).toEqual([]);
    expect(node(sim, `${BACK}/state`)).toBe('5');
    expectDom0Clean(guest);
    await guest.close();
  });

  test('a grant ref the guest never made: not-found, nothing held', async () => {
    const guest = await ScriptedGuest.start(sim, GUEST);
    const { result } = connectBackend(sim);
    await guest.publish('999');
    await guest.setState(3);
    expect(failure(await result).kind).toBe('not-found');
    expectDom0Clean(guest);
    await guest.close();
  });

  test('a port allocated for another domain, or not allocated at all: the bind fails and the page is unmapped again', async () => {
    for (const [port, kind] of [
      [String(must(await sim.hypervisor.domain(GUEST).bindUnbound(7)).local), 'permission'],
      ['1000', 'not-found'],
    ] as const) {
      const guest = await ScriptedGuest.start(sim, GUEST);
      const { probe, result } = connectBackend(sim);
      await guest.publish(String(guest.ref), port);
      await guest.setState(3);
      expect(failure(await result).kind).toBe(kind);
      expect(probe.maps).toHaveLength(1);
      expect(sim.hypervisor.grants.mapCount(GUEST, guest.ref)).toBe(0);
      expectDom0Clean(guest);
      await guest.close();
      await create(sim);
    }
  });
});

describe('3. state flapping and junk states', () => {
  test('before Initialised: thousands of changes and junk values, then one clean connect (one map, one bind)', async () => {
    const guest = await ScriptedGuest.start(sim, GUEST);
    const { probe, result } = connectBackend(sim);
    for (let i = 0; i < 2000; i++) await guest.setState(i % 2 === 0 ? 2 : 1);
    for (const junk of ['9', '', '33', ' 3', Uint8Array.of(3), Uint8Array.of(0xff, 0xfe)]) await guest.setState(junk);
    await turns(20);
    expect(probe.maps).toEqual([]);
    await guest.initialise();
    const back = must(await result);
    expect(probe.maps).toHaveLength(1);
    expect(probe.binds).toHaveLength(1);
    await back.close();
    await guest.close();
    expectDom0Clean();
  });

  test('after Connected: 1 <-> 4 flapping, junk states and a new ring-ref are ignored (no reconnect), watch events stay bounded, service goes on', async () => {
    const guest = await ScriptedGuest.start(sim, GUEST);
    const { probe, result } = connectBackend(sim);
    await guest.initialise();
    const back = must(await result);
    await guest.setState(4);
    const flaps: Promise<unknown>[] = [];
    // Pipelined, as fast as xenstored takes them: the backend's watch must coalesce, not queue.
    for (let i = 0; i < 3000; i++) flaps.push(guest.setState(i % 2 === 0 ? 1 : 4));
    for (const junk of ['9', '', '44', Uint8Array.of(0)]) flaps.push(guest.setState(junk));
    flaps.push(guest.publish('9', '1'));
    await Promise.all(flaps);
    await guest.setState(4);
    await turns(50);
    for (const c of sim.xenstored.connectionInfo()) expect(c.queuedEvents).toBeLessThanOrEqual(1024);
    expect(probe.maps).toHaveLength(1);
    expect(probe.binds).toHaveLength(1);
    expect(node(sim, `${BACK}/state`)).toBe('4');
    guest.produce(Buffer.from('still here'));
    guest.notify();
    expect((await readUpTo(back, 10)).data.toString()).toBe('still here');
    // A real Closing still ends it.
    await guest.setState(5);
    const r = await back.read();
    expect(r.ok && r.value).toBe(EOF);
    await back.close();
    await guest.close();
    expectDom0Clean();
  });
});

describe('4. nodes deleted and the domain dying', () => {
  test('the frontend directory deleted mid-handshake: a protocol error, nothing held', async () => {
    const guest = await ScriptedGuest.start(sim, GUEST);
    const { probe, result } = connectBackend(sim);
    await turns(10);
    must(await guest.xs.rm(FRONT));
    const e = failure(await result);
    expect(e.kind).toBe('protocol');
    expect(e.message).toContain('went away');
    expect(probe.maps).toEqual([]);
    expectDom0Clean(guest);
    await guest.close();
  });

  test('the domain dies mid-handshake: a protocol error, nothing held', async () => {
    const guest = await ScriptedGuest.start(sim, GUEST);
    const { result } = connectBackend(sim);
    await guest.publish();
    await turns(10);
    sim.destroyGuest(GUEST);
    expect(failure(await result).kind).toBe('protocol');
    expectDom0Clean();
    expect(sim.accounting()).toMatchObject({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0 });
  });

  async function midTransfer(): Promise<{ back: XenConsoleFlow; guest: ScriptedGuest; writing: Promise<{ kind: string; accepted?: number }> }> {
    const guest = await ScriptedGuest.start(sim, GUEST);
    const { result } = connectBackend(sim);
    await guest.initialise();
    const back = must(await result);
    guest.produce(pattern(1500, 1));
    guest.notify();
    // Our 100 KiB for a guest that reads none of it: the write waits for room.
    const writing = back.write(pattern(100 * 1024, 2)).then((r) => (r.ok ? { kind: 'ok' } : { kind: r.error.kind, accepted: r.error.bytesAccepted }));
    await until(() => guest.indices().inProd === 1024, 'the input ring full');
    return { back, guest, writing };
  }

  test('the frontend directory deleted mid-transfer: the data, then EOF; the write fails with closed; the page and port go without close()', async () => {
    const { back, guest, writing } = await midTransfer();
    must(await guest.xs.rm(FRONT));
    const got = await readToEnd(back);
    expect(got.data).toEqual(pattern(1500, 1));
    expect(got.end).toBe('eof');
    expect(await writing).toEqual({ kind: 'closed', accepted: 1024 });
    await until(() => dom0Holds(sim).mappings === 0 && dom0Holds(sim).dom0Ports === 0, 'unmapped and unbound');
    await until(() => node(sim, `${BACK}/state`) === '6', 'backend Closed');
    expect(back.state).toBe('open');
    await back.close();
    await guest.close();
    await turns(10);
    expectDom0Clean();
    expect(sim.accounting()).toMatchObject({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0 });
  });

  test('the domain dies mid-transfer: the data, then EOF; its grant can end at once since we unmap; after close nothing is left', async () => {
    const { back, guest, writing } = await midTransfer();
    void guest; // its handles die with the domain
    sim.destroyGuest(GUEST);
    const got = await readToEnd(back);
    expect(got.data).toEqual(pattern(1500, 1));
    expect(got.end).toBe('eof');
    expect((await writing).kind).toBe('closed');
    // A dying domain whose page is still mapped in dom0 cannot finish dying (a zombie): we let go.
    await until(() => sim.accounting().pendingRevokes === 0, 'the dead guest\'s grant released');
    expect(sim.accounting()).toMatchObject({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0 });
    expect(await settles(back.close())).toBe(true);
    await turns(10);
    expectDom0Clean();
  });
});

describe('5. a guest that never reaches Initialised', () => {
  test('the handshake timeout fires: timeout, the watch and the connection released', async () => {
    const guest = await ScriptedGuest.start(sim, GUEST);
    const { result } = connectBackend(sim, { handshakeTimeoutMs: 100 });
    await guest.setState(2);
    const e = failure(await result);
    expect(e.kind).toBe('timeout');
    expectDom0Clean(guest);
    expect(node(sim, `${BACK}/state`)).toBe('1'); // a guest that may still come: nothing refused
    await guest.close();
  });

  test('the AbortSignal fires: aborted, everything released; an already aborted signal does nothing at all', async () => {
    const guest = await ScriptedGuest.start(sim, GUEST);
    const abort = new AbortController();
    const { result } = connectBackend(sim, { signal: abort.signal });
    await turns(10);
    abort.abort(new Error('operator gave up'));
    expect(failure(await result).kind).toBe('aborted');
    expectDom0Clean(guest);
    const early = connectBackend(sim, { signal: AbortSignal.abort() });
    expect(failure(await early.result).kind).toBe('aborted');
    expectDom0Clean(guest);
    await guest.close();
  });

  test('a console that was never created: not-found; a guest that closes before connecting: refused', async () => {
    const missing = connectBackend(sim, { devid: 2 });
    expect(failure(await missing.result).kind).toBe('not-found');
    const guest = await ScriptedGuest.start(sim, GUEST);
    const { result } = connectBackend(sim);
    await guest.setState(6);
    expect(failure(await result).kind).toBe('refused');
    expectDom0Clean(guest);
    await guest.close();
  });
});
