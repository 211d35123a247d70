// A guest domain in a worker thread, for the cross-thread simulator tests. Run it with
// `startTsWorker(__filename-of-this-file, { scenario, descriptor, ... }, transferList)`.
import { parentPort, workerData } from 'node:worker_threads';
import { resetConsolePage } from '../../src/ring/console-page';
import { FrontendRing } from '../../src/ring/frontend-ring';
import { attachSimDomain } from '../../src/sim/remote-domain';
import { SabPage } from '../../src/sim/sab-page';
import { patternByte, type WorkerScenario } from './ring-sim-scenarios';

function post(message: unknown): void {
  parentPort?.postMessage(message);
}

function fail(error: unknown): never {
  throw error instanceof Error ? error : new Error(String(error));
}

async function consoleGuest(job: Extract<WorkerScenario, { scenario: 'console' }>): Promise<void> {
  const domain = attachSimDomain(job.descriptor);
  const page = new SabPage();
  resetConsolePage(page, job.start);
  const grant = await domain.grantPage(page, 0, { writable: true });
  if (!grant.ok) fail(grant.error);
  const port = await domain.bindUnbound(0);
  if (!port.ok) fail(port.error);
  const ring = new FrontendRing(page);
  const output = Uint8Array.from({ length: job.outputBytes }, (_, i) => patternByte(i, 1));
  let sent = 0;
  let reported = false;
  const input: number[] = [];
  const pump = (): void => {
    let notify = false;
    for (;;) {
      const r = ring.read();
      if (r.corrupt) fail(new Error(r.corrupt.message));
      if (!r.bytes) break;
      input.push(...r.bytes);
      notify = true;
    }
    while (sent < output.length) {
      const w = ring.write(output.subarray(sent));
      if (w.corrupt) fail(new Error(w.corrupt.message));
      if (w.written === 0) break;
      sent += w.written;
      notify = true;
    }
    if (notify) port.value.notify();
    if (!reported && input.length >= job.inputBytes && sent === output.length) {
      reported = true;
      post({ type: 'input', bytes: Uint8Array.from(input) });
    }
  };
  port.value.onEvent(() => {
    port.value.unmask();
    pump();
  });
  post({ type: 'ready', ref: grant.value.ref, port: port.value.local });
  pump();
  // The test tells us when it has everything; then the guest shuts down like Linux does.
  parentPort?.once('message', () => {
    grant.value.revoke();
    port.value.close();
    domain.close();
    parentPort?.close();
  });
}

async function mapper(job: Extract<WorkerScenario, { scenario: 'map' }>): Promise<void> {
  const domain = attachSimDomain(job.descriptor);
  const refused = await domain.mapGrant(0, job.ref + 1, { writable: true });
  const page = await domain.mapGrant(0, job.ref, { writable: true });
  if (!page.ok) fail(page.error);
  page.value.writeBytes(0, new TextEncoder().encode('written by the guest'));
  page.value.unmap();
  const synced = await domain.sync();
  post({ type: 'mapped', refused: refused.ok ? undefined : { kind: refused.error.kind, code: refused.error.code }, synced: synced.ok });
  domain.close();
}

async function storm(job: Extract<WorkerScenario, { scenario: 'storm' }>): Promise<void> {
  const domain = attachSimDomain(job.descriptor);
  const port = await domain.bindUnbound(0);
  if (!port.ok) fail(port.error);
  post({ type: 'ready', port: port.value.local });
  parentPort?.once('message', () => {
    for (let i = 0; i < job.notifies; i++) port.value.notify();
    post({ type: 'stormed' });
    parentPort?.once('message', () => domain.close());
  });
}

async function garbage(job: Extract<WorkerScenario, { scenario: 'garbage' }>): Promise<void> {
  const raw = job.descriptor.port;
  for (const junk of ['hello', null, 42, { op: 'grant' }, { id: -1, op: 'sync' }, { id: 1, op: 'nope' }, { id: 2, op: 'grant', page: new ArrayBuffer(4096), grantee: 0, writable: true }, { id: 3, op: 'map', granter: 1e9, ref: 8, writable: true }]) {
    raw.postMessage(junk);
  }
  // The same channel still answers a well-formed call afterwards.
  const domain = attachSimDomain(job.descriptor);
  const granted = await domain.grantPage(new SabPage(), 0, { writable: true });
  const synced = await domain.sync();
  post({ type: 'garbage-done', synced: synced.ok, granted: granted.ok });
  parentPort?.once('message', () => domain.close());
}

const job = (workerData as { data: WorkerScenario }).data;
const run = { console: consoleGuest, map: mapper, storm, garbage }[job.scenario] as (job: WorkerScenario) => Promise<void>;
void run(job).catch((error: unknown) => {
  post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
