// Bringing up dom0's backend against a simulated guest in a worker thread, and the small
// helpers the worker tests share.
import { createHash } from 'node:crypto';
import { EOF, type Flow } from '@flow/core';
import { connectConsole, createConsole, type ConsolePolicy, type XenConsoleFlow } from '../../src';
import { startSimGuest, type SimGuest, type SimGuestConsole, type SimGuestOptions } from '../../src/sim/guest-runner';
import type { SimXen } from '../../src/sim/sim-xen';

/** The rate limit out of the way, for tests about data rather than about the limiter. */
export const UNLIMITED: ConsolePolicy = { eventsPerPeriod: 1_000_000_000 };

export interface Connected {
  readonly back: XenConsoleFlow;
  readonly guest: SimGuest;
  readonly console: SimGuestConsole;
}

/** Creates console `devid` of `domid` (a guest of `sim`), starts its guest in a worker and connects dom0. */
export async function bringUp(
  sim: SimXen,
  domid: number,
  guestOptions: SimGuestOptions,
  policy: ConsolePolicy = UNLIMITED,
  started: SimGuest[] = [],
): Promise<Connected> {
  const dom0 = sim.platform(0);
  const xs = await dom0.xenstore();
  if (!xs.ok) throw xs.error;
  const created = await createConsole(xs.value, { domid, devid: guestOptions.devid });
  await xs.value.close();
  if (!created.ok) throw created.error;
  const guest = startSimGuest(sim, domid, guestOptions);
  started.push(guest);
  const [back, console] = await Promise.all([
    connectConsole({ platform: dom0, domid, devid: guestOptions.devid, handshakeTimeoutMs: 20_000, policy }),
    guest.connected,
  ]);
  if (!back.ok) throw back.error;
  if (!console.ok) throw console.error;
  return { back: back.value, guest, console: console.value };
}

/** Reads until `n` bytes or EOF; what arrived, and how it ended. */
export async function readUpTo(flow: Flow, n: number): Promise<{ bytes: Buffer; eof: boolean }> {
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) return { bytes: Buffer.concat(parts), eof: true };
    parts.push(r.value);
    got += r.value.length;
  }
  return { bytes: Buffer.concat(parts), eof: false };
}

/** Reads until EOF (or an error, which fails the test); how many bytes came first. */
export async function readToEnd(flow: Flow): Promise<number> {
  let got = 0;
  for (;;) {
    const r = await flow.read();
    if (!r.ok) throw r.error;
    if (r.value === EOF) return got;
    got += r.value.length;
  }
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Lets the event loop turn until `done()` holds (bounded by turns, not by time). */
export async function turnsUntil(done: () => boolean, what: string, maxTurns = 200_000): Promise<void> {
  for (let turn = 0; !done(); turn++) {
    if (turn >= maxTurns) throw new Error(`never happened: ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
