// What the backend tests share: a simulated machine with one guest, the console created by
// dom0, the backend connected through a probed platform, reading helpers and the leak check.
import { EOF, type Flow, type FlowError, type Result } from '@flow/core';
import { connectConsole, createConsole, type ConnectOptions, type CreateOptions, type XenConsoleFlow } from '../../src';
import { SimXen } from '../../src/sim/sim-xen';
import type { XenstoreClient } from '../../src/xenstore';
import { probePlatform, type PlatformProbe } from './backend-platform';

export const GUEST = 5;

export function must<T>(r: Result<T, FlowError>, what = 'result'): T {
  if (!r.ok) throw new Error(`${what}: expected ok, got ${r.error.kind}: ${r.error.message}`);
  return r.value;
}

export function failure<T>(r: Result<T, FlowError>): FlowError {
  if (r.ok) throw new Error('expected an error, got ok');
  return r.error;
}

/** A machine with dom0 and the guest `GUEST` started as the toolstack does. */
export async function startSim(): Promise<SimXen> {
  const sim = new SimXen();
  must(await sim.createGuest(GUEST), 'createGuest');
  return sim;
}

/** A dom0 xenstore connection (closed by the caller). */
export function dom0Xs(sim: SimXen): XenstoreClient {
  return must(sim.xenstored.connect(0), 'dom0 xenstore');
}

export async function create(sim: SimXen, options: Partial<CreateOptions> = {}): Promise<void> {
  const xs = dom0Xs(sim);
  try {
    must(await createConsole(xs, { domid: GUEST, devid: 1, ...options }), 'createConsole');
  } finally {
    await xs.close();
  }
}

/** Starts `connectConsole` on a probed dom0 platform (await `.result`). */
export function connectBackend(
  sim: SimXen,
  options: Partial<Omit<ConnectOptions, 'platform'>> = {},
): { readonly probe: PlatformProbe; readonly result: Promise<Result<XenConsoleFlow, FlowError>> } {
  const probe = probePlatform(sim.platform(0));
  const result = connectConsole({ platform: probe.platform, domid: GUEST, devid: 1, handshakeTimeoutMs: 5000, ...options });
  return { probe, result };
}

/** Reads until `n` bytes arrived, EOF or an error; returns what arrived and how it ended. */
export async function readUpTo(flow: Flow, n: number): Promise<{ data: Buffer; end: 'count' | 'eof' | FlowError }> {
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const r = await flow.read();
    if (!r.ok) return { data: Buffer.concat(parts), end: r.error };
    if (r.value === EOF) return { data: Buffer.concat(parts), end: 'eof' };
    parts.push(r.value);
    got += r.value.length;
  }
  return { data: Buffer.concat(parts), end: 'count' };
}

/** Reads everything until EOF or an error. */
export function readToEnd(flow: Flow): Promise<{ data: Buffer; end: 'count' | 'eof' | FlowError }> {
  return readUpTo(flow, Number.POSITIVE_INFINITY);
}

/** Lets the event loop run until `condition` holds (polling, bounded; no timing assertion). */
export async function until(condition: () => boolean, what = 'condition', rounds = 5000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** A few turns of the event loop (deliveries in the simulator take a turn each). */
export async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** The node's value in the simulated store now. */
export function node(sim: SimXen, path: string): string | undefined {
  return sim.xenstored.tree.readString(path);
}

/**
 * Everything dom0 held for the console is gone: no mapping, no bound port of dom0, and no
 * xenstore connection or watch beyond those the test itself still holds.
 */
export function dom0Holds(sim: SimXen): { mappings: number; dom0Ports: number } {
  return { mappings: sim.hypervisor.grants.openMappings(0), dom0Ports: sim.hypervisor.events.openPorts(0) };
}

/**
 * Whether `promise` settles within `ms` (a liveness bound for something that must not hang,
 * generous enough to say nothing about speed).
 */
export async function settles(promise: Promise<unknown>, ms = 5000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
