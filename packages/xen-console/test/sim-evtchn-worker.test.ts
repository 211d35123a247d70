// Cross-thread simulator: a guest domain in a worker_thread holds one end of an event channel
// and of a grant; dom0 in the test thread holds the other. Pages are SharedArrayBuffers, events
// go through the domain's shared pending/mask bitmap and Atomics.waitAsync.
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { FlowError, Result } from '@flow/core';
import { BackendRing } from '../src/ring/backend-ring';
import { SimHypervisor } from '../src/sim/hypervisor';
import { SabPage } from '../src/sim/sab-page';
import type { LocalSimDomain } from '../src/sim/sim-domain';
import { patternByte, type WorkerScenario } from './support/ring-sim-scenarios';
import { exited, nextMessage, startTsWorker } from './support/ring-ts-worker';

const WORKER = path.join(__dirname, 'support', 'ring-sim-worker.ts');
const DOM0 = 0;
const GUEST = 1;

function value<T>(result: Result<T, FlowError>): T {
  if (!result.ok) throw result.error;
  return result.value;
}

function isType<T extends string>(type: T) {
  return (message: unknown): message is { type: T } & Record<string, unknown> =>
    typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

function start(hv: SimHypervisor, job: (descriptor: WorkerScenario['descriptor']) => WorkerScenario): Worker {
  const { descriptor, transferList } = hv.exportDomain(GUEST);
  const worker = startTsWorker(WORKER, job(descriptor), transferList);
  worker.on('message', (m: unknown) => {
    if (isType('error')(m)) throw new Error(`worker: ${String(m.message)}`);
  });
  return worker;
}

/** Lets this thread's event loop turn until `done()` (bounded by turns, not by time). */
async function turnsUntil(done: () => boolean, maxTurns = 100_000): Promise<void> {
  for (let turn = 0; !done(); turn++) {
    if (turn >= maxTurns) throw new Error('condition not reached');
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** dom0's side of the console: maps, binds, moves bytes both ways on every event. */
async function serveConsole(dom0: LocalSimDomain, ref: number, evtPort: number, input: Uint8Array) {
  const page = value(await dom0.mapGrant(GUEST, ref, { writable: true }));
  const port = value(await dom0.bindInterdomain(GUEST, evtPort));
  const ring = new BackendRing(page);
  const output: number[] = [];
  let written = 0;
  const pump = (): void => {
    let notify = false;
    for (;;) {
      const r = ring.read();
      if (r.corrupt) throw new Error(r.corrupt.message);
      if (!r.bytes) break;
      output.push(...r.bytes);
      notify = true;
    }
    while (written < input.length) {
      const w = ring.write(input.subarray(written));
      if (w.written === 0) break;
      written += w.written;
      notify = true;
    }
    if (notify) port.notify();
  };
  port.onEvent(() => {
    port.unmask();
    pump();
  });
  pump();
  return { page, port, output };
}

describe('a guest domain in a worker thread', () => {
  test.each([
    ['0', 0],
    ['just below 2^32', 0xffffffff - 5000],
  ])('a console round trip through a shared page and event channel (indices from %s), then no leaks', async (_name, startIndex) => {
    const hv = new SimHypervisor();
    const outputBytes = 64 * 1024;
    const inputBytes = 16 * 1024;
    const worker = start(hv, (descriptor) => ({ scenario: 'console', descriptor, start: startIndex, outputBytes, inputBytes }));
    const ready = await nextMessage(worker, isType('ready'));
    const dom0 = hv.domain(DOM0);
    const input = Uint8Array.from({ length: inputBytes }, (_, i) => patternByte(i, 2));
    const gotInput = nextMessage(worker, isType('input'));
    const side = await serveConsole(dom0, ready.ref as number, ready.port as number, input);
    const echoed = (await gotInput).bytes as Uint8Array;
    await turnsUntil(() => side.output.length >= outputBytes);
    expect(side.output.length).toBe(outputBytes);
    expect(side.output.every((b, i) => b === patternByte(i, 1))).toBe(true);
    expect(Buffer.from(echoed).equals(Buffer.from(input))).toBe(true);
    expect(hv.accounting()).toEqual({ mappings: 1, ports: 2, grants: 1, pendingRevokes: 0, exportedDomains: 1 });

    // The guest shuts down: its port closes (ours becomes unbound), its grant end waits for our unmap.
    worker.postMessage('stop');
    expect(await exited(worker)).toBe(0);
    await turnsUntil(() => hv.accounting().exportedDomains === 0);
    expect(hv.events.status(DOM0, side.port.local)).toEqual({ state: 'unbound', remoteDomid: GUEST });
    expect(hv.accounting()).toEqual({ mappings: 1, ports: 1, grants: 1, pendingRevokes: 1, exportedDomains: 0 });
    dom0.close();
    expect(side.page.mapped).toBe(false);
    expect(hv.accounting()).toEqual({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0, exportedDomains: 0 });
  });

  test('a worker that dies mid-transfer gives back everything it held', async () => {
    const hv = new SimHypervisor();
    const worker = start(hv, (descriptor) => ({ scenario: 'console', descriptor, start: 0, outputBytes: 1 << 20, inputBytes: 1 << 20 }));
    const ready = await nextMessage(worker, isType('ready'));
    const dom0 = hv.domain(DOM0);
    const side = await serveConsole(dom0, ready.ref as number, ready.port as number, new Uint8Array(1 << 20));
    await turnsUntil(() => side.output.length > 10_000);
    await worker.terminate();
    await turnsUntil(() => hv.accounting().exportedDomains === 0);
    expect(hv.accounting()).toMatchObject({ ports: 1, mappings: 1, pendingRevokes: 1 });
    // dom0's mapping of the dead guest's page still works until dom0 lets go, as in Xen.
    expect(side.page.loadU32(3084)).toBeGreaterThan(0);
    dom0.close();
    expect(hv.accounting()).toEqual({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0, exportedDomains: 0 });
  });

  test('a worker maps a grant of dom0: permissions are checked and its unmap reaches the grant table', async () => {
    const hv = new SimHypervisor();
    const dom0 = hv.domain(DOM0);
    const page = new SabPage();
    const grant = value(await dom0.grantPage(page, GUEST, { writable: true }));
    const worker = start(hv, (descriptor) => ({ scenario: 'map', descriptor, ref: grant.ref }));
    const done = await nextMessage(worker, isType('mapped'));
    expect(done.refused).toEqual({ kind: 'not-found', code: 'ENOENT' });
    expect(done.synced).toBe(true);
    const text = new Uint8Array(20);
    page.readBytes(0, 20, text, 0);
    expect(new TextDecoder().decode(text)).toBe('written by the guest');
    expect(hv.grants.mapCount(DOM0, grant.ref)).toBe(0);
    expect(await exited(worker)).toBe(0);
    grant.revoke();
    dom0.close();
    await turnsUntil(() => hv.accounting().exportedDomains === 0);
    expect(hv.accounting()).toEqual({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0, exportedDomains: 0 });
  });

  test('10^6 notifies from a worker merge in the doorbell: one event while the port stays masked', async () => {
    const hv = new SimHypervisor();
    const dom0 = hv.domain(DOM0);
    const worker = start(hv, (descriptor) => ({ scenario: 'storm', descriptor, notifies: 1_000_000 }));
    const ready = await nextMessage(worker, isType('ready'));
    const port = value(await dom0.bindInterdomain(GUEST, ready.port as number));
    let events = 0;
    port.onEvent(() => events++);
    worker.postMessage('go');
    await nextMessage(worker, isType('stormed'));
    hv.flushWorkerSends();
    await turnsUntil(() => events > 0);
    expect(events).toBe(1);
    expect(port.masked).toBe(true);
    // Far fewer sends reached the hypervisor than were made: the doorbell coalesces.
    expect(hv.events.counters.sent).toBeLessThan(1_000_000);
    worker.postMessage('close');
    expect(await exited(worker)).toBe(0);
    dom0.close();
    await turnsUntil(() => hv.accounting().exportedDomains === 0);
    expect(hv.accounting().ports).toBe(0);
  });

  test('garbage from a worker is counted and ignored; the channel still answers afterwards', async () => {
    const hv = new SimHypervisor();
    const worker = start(hv, (descriptor) => ({ scenario: 'garbage', descriptor }));
    const done = await nextMessage(worker, isType('garbage-done'));
    expect(done).toMatchObject({ synced: true, granted: true });
    // Every message without a valid id and shape: 8 of them (the grant of an ArrayBuffer included).
    expect(hv.malformedCalls(GUEST)).toBe(8);
    worker.postMessage('close');
    expect(await exited(worker)).toBe(0);
    await turnsUntil(() => hv.accounting().exportedDomains === 0);
    expect(hv.accounting()).toEqual({ mappings: 0, ports: 0, grants: 0, pendingRevokes: 0, exportedDomains: 0 });
  });

  test('a domain cannot run in two threads at once', () => {
    const hv = new SimHypervisor();
    const { descriptor } = hv.exportDomain(GUEST);
    expect(() => hv.domain(GUEST)).toThrow(/worker/);
    expect(() => hv.exportDomain(GUEST)).toThrow(/already/);
    hv.domain(DOM0);
    expect(() => hv.exportDomain(DOM0)).toThrow(/handles/);
    descriptor.port.close();
    hv.close();
  });
});
