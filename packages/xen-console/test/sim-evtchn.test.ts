import type { FlowError, Result } from '@flow/core';
import { SimHypervisor } from '../src/sim/hypervisor';
import type { LocalSimDomain } from '../src/sim/sim-domain';
import type { SimEvtPort } from '../src/sim/sim-evt-port';

function value<T>(result: Result<T, FlowError>): T {
  if (!result.ok) throw result.error;
  return result.value;
}

function failure<T>(result: Result<T, FlowError>): FlowError {
  if (result.ok) throw new Error('expected an error');
  return result.error;
}

const DOM0 = 0;
const GUEST = 1;

/** A connected channel: the guest allocates, dom0 binds (the console's order). */
async function channel(hv: SimHypervisor): Promise<{ guest: LocalSimDomain; dom0: LocalSimDomain; front: SimEvtPort; back: SimEvtPort }> {
  const guest = hv.domain(GUEST);
  const dom0 = hv.domain(DOM0);
  const front = value(await guest.bindUnbound(DOM0));
  const back = value(await dom0.bindInterdomain(GUEST, front.local));
  return { guest, dom0, front, back };
}

/** Counts deliveries to `port`. */
function counter(port: SimEvtPort, unmask = false): { count: number; next(): Promise<void> } {
  const waiting: Array<() => void> = [];
  const state = {
    count: 0,
    next: () => new Promise<void>((resolve) => waiting.push(resolve)),
  };
  port.onEvent(() => {
    state.count++;
    if (unmask) port.unmask();
    for (const resolve of waiting.splice(0)) resolve();
  });
  return state;
}

/**
 * Waits until `domain`'s dispatcher has run past everything raised so far: a loopback event
 * raised now is delivered in the same scan as, or after, anything already deliverable.
 */
async function settle(domain: LocalSimDomain): Promise<void> {
  const a = value(await domain.bindUnbound(domain.domid));
  const b = value(await domain.bindInterdomain(domain.domid, a.local));
  const delivered = new Promise<void>((resolve) => b.onEvent(resolve));
  a.notify();
  await delivered;
  a.close();
  b.close();
}

describe('binding', () => {
  test('alloc_unbound then bind_interdomain connects both ends; ports are the lowest free from 1', async () => {
    const hv = new SimHypervisor();
    const { front, back } = await channel(hv);
    expect(front.local).toBe(1);
    expect(back.local).toBe(1);
    expect(hv.events.status(GUEST, 1)).toEqual({ state: 'interdomain', remoteDomid: DOM0, remotePort: 1 });
    expect(hv.events.status(DOM0, 1)).toEqual({ state: 'interdomain', remoteDomid: GUEST, remotePort: 1 });
    hv.close();
    expect(hv.accounting().ports).toBe(0);
  });

  test('binding checks the port exists, is unbound and is meant for the caller', async () => {
    const hv = new SimHypervisor();
    const guest = hv.domain(GUEST);
    const dom0 = hv.domain(DOM0);
    expect(failure(await dom0.bindInterdomain(9, 1))).toMatchObject({ kind: 'not-found', code: 'ESRCH' });
    expect(failure(await dom0.bindInterdomain(GUEST, 5))).toMatchObject({ kind: 'not-found', code: 'EINVAL' });
    const forOther = value(await guest.bindUnbound(7));
    const error = failure(await dom0.bindInterdomain(GUEST, forOther.local));
    expect(error).toMatchObject({ kind: 'permission', code: 'EINVAL', syscall: 'bind_interdomain' });
    expect(error.message).toBe('port 1 of domain 1 was allocated for domain 7, not 0');
    const forDom0 = value(await guest.bindUnbound(DOM0));
    value(await dom0.bindInterdomain(GUEST, forDom0.local));
    expect(failure(await dom0.bindInterdomain(GUEST, forDom0.local))).toMatchObject({ kind: 'in-use' });
    hv.close();
  });

  test('a domain runs out of ports with a limit error (ENOSPC)', async () => {
    const hv = new SimHypervisor({ maxPorts: 32 });
    const guest = hv.domain(GUEST);
    for (let i = 1; i < 32; i++) value(await guest.bindUnbound(DOM0));
    expect(failure(await guest.bindUnbound(DOM0))).toMatchObject({ kind: 'limit', code: 'ENOSPC' });
    hv.close();
  });
});

describe('delivery and masking (as /dev/xen/evtchn)', () => {
  test('a notify is delivered asynchronously, in both directions', async () => {
    const hv = new SimHypervisor();
    const { front, back } = await channel(hv);
    const atBack = counter(back);
    const atFront = counter(front);
    const arrived = atBack.next();
    front.notify();
    expect(atBack.count).toBe(0);
    await arrived;
    expect(atBack.count).toBe(1);
    const reply = atFront.next();
    back.notify();
    await reply;
    expect(atFront.count).toBe(1);
    hv.close();
  });

  test('a delivered port stays masked: many notifies meanwhile make exactly one event after unmask', async () => {
    const hv = new SimHypervisor();
    const { dom0, front, back } = await channel(hv);
    const events = counter(back);
    const first = events.next();
    front.notify();
    await first;
    expect(back.masked).toBe(true);
    for (let i = 0; i < 100; i++) front.notify();
    await settle(dom0);
    expect(events.count).toBe(1);
    const second = events.next();
    back.unmask();
    await second;
    expect(events.count).toBe(2);
    await settle(dom0);
    expect(events.count).toBe(2);
    expect(hv.events.counters.coalesced).toBe(99);
    hv.close();
  });

  test('unmasking with nothing pending delivers nothing', async () => {
    const hv = new SimHypervisor();
    const { dom0, front, back } = await channel(hv);
    const events = counter(back);
    const first = events.next();
    front.notify();
    await first;
    back.unmask();
    await settle(dom0);
    expect(events.count).toBe(1);
    hv.close();
  });

  test('an event that arrives before anyone listens is kept for the first listener', async () => {
    const hv = new SimHypervisor();
    const { dom0, front, back } = await channel(hv);
    front.notify();
    await settle(dom0);
    expect(back.delivered).toBe(1);
    const late = counter(back);
    await late.next();
    expect(late.count).toBe(1);
    hv.close();
  });

  test('two listeners on one port both hear each event; an unsubscribed one does not', async () => {
    const hv = new SimHypervisor();
    const { front, back } = await channel(hv);
    const a = counter(back);
    let b = 0;
    const stop = back.onEvent(() => b++);
    const first = a.next();
    front.notify();
    await first;
    stop();
    back.unmask();
    const second = a.next();
    front.notify();
    await second;
    expect([a.count, b]).toEqual([2, 1]);
    hv.close();
  });
});

describe('closing', () => {
  test('closing one end leaves the other unbound; its sends are discarded silently, as Xen does', async () => {
    const hv = new SimHypervisor();
    const { guest, front, back } = await channel(hv);
    const events = counter(front);
    back.close();
    back.close();
    expect(hv.events.status(GUEST, front.local)).toEqual({ state: 'unbound', remoteDomid: DOM0 });
    expect(hv.events.status(DOM0, back.local)).toBeUndefined();
    front.notify();
    back.notify();
    expect(hv.events.counters.unbound).toBe(1);
    await settle(guest);
    expect(events.count).toBe(0);
    expect(hv.accounting().ports).toBe(1);
    front.close();
    expect(hv.accounting().ports).toBe(0);
    hv.close();
  });

  test('an unbound port can be bound again by the domain it names (a backend reconnecting)', async () => {
    const hv = new SimHypervisor();
    const { dom0, front, back } = await channel(hv);
    back.close();
    const again = value(await dom0.bindInterdomain(GUEST, front.local));
    const events = counter(again);
    const arrived = events.next();
    front.notify();
    await arrived;
    hv.close();
  });

  test('destroying a domain closes its ports; the peer keeps an unbound port and nothing else leaks', async () => {
    const hv = new SimHypervisor();
    const { dom0, front, back } = await channel(hv);
    hv.destroyDomain(GUEST);
    expect(front.closed).toBe(true);
    expect(hv.events.status(DOM0, back.local)).toEqual({ state: 'unbound', remoteDomid: GUEST });
    expect(failure(await dom0.bindInterdomain(GUEST, 1))).toMatchObject({ code: 'ESRCH' });
    dom0.close();
    expect(hv.accounting()).toEqual({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0, exportedDomains: 0 });
  });
});

describe('fault injection', () => {
  test('a dropped event never arrives', async () => {
    const hv = new SimHypervisor();
    const { dom0, front, back } = await channel(hv);
    const events = counter(back);
    hv.events.setFaults({ onSend: (send) => (send.fromDomid === GUEST ? 'drop' : 'deliver') });
    front.notify();
    await settle(dom0);
    expect(events.count).toBe(0);
    expect(hv.events.counters.dropped).toBe(1);
    hv.events.setFaults(undefined);
    const arrived = events.next();
    front.notify();
    await arrived;
    hv.close();
  });

  test('a duplicated event arrives twice: once now, once more after the unmask', async () => {
    const hv = new SimHypervisor();
    const { dom0, front, back } = await channel(hv);
    const events = counter(back);
    hv.events.setFaults({ onSend: (send) => (send.fromDomid === GUEST ? 'duplicate' : 'deliver') });
    const first = events.next();
    front.notify();
    await first;
    await settle(dom0);
    expect(events.count).toBe(1);
    const second = events.next();
    back.unmask();
    await second;
    back.unmask();
    await settle(dom0);
    expect(events.count).toBe(2);
    expect(hv.events.counters.duplicated).toBe(1);
    hv.close();
  });

  test('a storm of 10^6 notifies on a port left masked is one event', async () => {
    const hv = new SimHypervisor();
    const { dom0, front, back } = await channel(hv);
    const events = counter(back);
    const stormed = value(await hv.events.storm(GUEST, front.local, 1_000_000));
    await settle(dom0);
    expect(events.count).toBe(1);
    // The first send raises; after its delivery one more sets pending behind the mask; the rest merge.
    expect(stormed).toBeLessThanOrEqual(2);
    expect(back.masked).toBe(true);
    hv.close();
  });

  test('a storm of 10^6 notifies on a port unmasked at once is at most one event per event-loop turn', async () => {
    const hv = new SimHypervisor();
    const { dom0, front, back } = await channel(hv);
    const events = counter(back, true);
    const stormed = value(await hv.events.storm(GUEST, front.local, 1_000_000, 10_000));
    await settle(dom0);
    expect(events.count).toBe(stormed);
    expect(events.count).toBeLessThanOrEqual(1_000_000 / 10_000 + 1);
    expect(events.count).toBeGreaterThanOrEqual(1);
    hv.close();
  });

  test('an evtchn overflow leaves a spurious event on every bound port, so the reader re-scans', async () => {
    const hv = new SimHypervisor();
    const { dom0, back } = await channel(hv);
    const other = value(await hv.domain(2).bindUnbound(DOM0));
    const second = value(await dom0.bindInterdomain(2, other.local));
    const a = counter(back);
    const b = counter(second);
    const both = Promise.all([a.next(), b.next()]);
    hv.events.injectOverflow(DOM0);
    await both;
    expect([a.count, b.count]).toEqual([1, 1]);
    hv.close();
  });
});
