import { connectConsole, createConsole, type ConsolePolicy, type XenConsoleFlow } from '@flow/xen-console';
import { SimXen, startSimGuest, type GuestBehaviour, type SabPage, type SimGuest, type WriteStamps } from '@flow/xen-console/sim';

/** The guest's domain id and console in every run (each run has a machine of its own). */
const GUEST = 1;
const DEVID = 1;

/** dom0's backend in this thread, a guest's frontend in a worker, on a fresh simulated machine. */
export interface XenPair {
  readonly back: XenConsoleFlow;
  readonly guest: SimGuest;
  /** The shared console page (the guest's view, read-only): for looking at its indices. */
  readonly page: SabPage;
  /** Shuts the guest down, closes the backend and the machine. */
  close(): Promise<void>;
}

/** The xenconsoled-style default (30 events per 200 ms), or lifted out of the way. */
export type RateLimit = 'default' | 'lifted';

export function policyFor(limit: RateLimit): ConsolePolicy {
  return limit === 'default' ? {} : { eventsPerPeriod: 1_000_000_000 };
}

/** Creates console 1 of a guest, starts the guest's worker with `behaviour`, and connects dom0. */
export async function startXenPair(behaviour: GuestBehaviour, limit: RateLimit, writeStamps?: WriteStamps): Promise<XenPair> {
  const sim = new SimXen();
  let guest: SimGuest | undefined;
  try {
    const made = await sim.createGuest(GUEST);
    if (!made.ok) throw made.error;
    const dom0 = sim.platform(0);
    const xs = await dom0.xenstore();
    if (!xs.ok) throw xs.error;
    const created = await createConsole(xs.value, { domid: GUEST, devid: DEVID });
    await xs.value.close();
    if (!created.ok) throw created.error;
    guest = startSimGuest(sim, GUEST, { devid: DEVID, behaviour, writeStamps, timeoutMs: 20_000 });
    const [back, console] = await Promise.all([
      connectConsole({ platform: dom0, domid: GUEST, devid: DEVID, handshakeTimeoutMs: 20_000, policy: policyFor(limit) }),
      guest.connected,
    ]);
    if (!back.ok) throw back.error;
    if (!console.ok) throw console.error;
    const g = guest;
    const b = back.value;
    return {
      back: b,
      guest: g,
      page: console.value.page,
      close: async () => {
        await g.close();
        await b.close();
        await sim.close();
      },
    };
  } catch (error) {
    await guest?.terminate();
    await sim.close();
    throw error;
  }
}
