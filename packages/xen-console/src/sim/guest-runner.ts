import * as path from 'node:path';
import { MessageChannel, Worker, type TransferListItem } from 'node:worker_threads';
import { err, FlowError, ok, type Result } from '@flow/core';
import { deserializeError } from './domain-rpc';
import { checkBehaviour } from './guest-behaviours';
import { parseGuestMessage, type GuestBehaviour, type GuestCommand, type GuestWorkerData, type SimGuestReport, type SimGuestStatus } from './guest-messages';
import type { WriteStamps } from './guest-write-stamps';
import { SabPage } from './sab-page';
import { portDuplex } from './port-duplex';
import type { ExportedSimPlatform, SimXen } from './sim-xen';

/** Options of {@link startSimGuest}. */
export interface SimGuestOptions {
  /** The console device, 1-9; dom0 creates it (`createConsole`) and connects to it. */
  readonly devid: number;
  /** The program on the guest's console: what it writes and reads; see {@link GuestBehaviour}. */
  readonly behaviour: GuestBehaviour;
  /** The first value of the page's four indices (tests start near 2^31 or 2^32). Default 0. */
  readonly startIndex?: number;
  /** How long the guest waits for its console's nodes and for the backend. Default 30000 ms. */
  readonly timeoutMs?: number;
  /** The guest stamps every write it issues here (to measure the latency to dom0's read). */
  readonly writeStamps?: WriteStamps;
  /** How long `close()` waits for the worker to exit before it terminates it. Default 10000 ms. */
  readonly closeTimeoutMs?: number;
}

/** What the guest published for its console, and a read-only view of the shared page. */
export interface SimGuestConsole {
  /** The grant reference of the console page, as the guest wrote it to `ring-ref`. */
  readonly ringRef: number;
  /** The guest's event-channel port for the console, as it wrote it to `port`. */
  readonly port: number;
  /** The console page as the guest shares it: for looking at the indices (`readConsoleIndices`). */
  readonly page: SabPage;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

/**
 * A guest domain running in a `worker_thread`: its frontend (Linux `hvc_xen`-like, over a
 * `SabPage`) and a program on its console, with real concurrency against dom0 on the shared
 * page and event channel. Start it with `startSimGuest`.
 */
export class SimGuest {
  /** The guest's domain id. */
  readonly domid: number;
  /** The guest's console device number. */
  readonly devid: number;
  /** Resolves once the console is Connected, or with why it could not connect. */
  readonly connected: Promise<Result<SimGuestConsole, FlowError>>;
  /** The behaviour's report: when it is done (source, sink), its input ended, or the guest was closed. */
  readonly report: Promise<Result<SimGuestReport, FlowError>>;
  /** The worker's exit code, once it exited. */
  readonly exited: Promise<number>;

  readonly #sim: SimXen;
  readonly #worker: Worker;
  readonly #closeTimeoutMs: number;
  readonly #statusWaiters = new Map<number, (r: Result<SimGuestStatus, FlowError>) => void>();
  #settleConnected!: (r: Result<SimGuestConsole, FlowError>) => void;
  #settleReport!: (r: Result<SimGuestReport, FlowError>) => void;
  #nextStatus = 1;
  #gone = false;
  #malformed = 0;

  /** @internal use `startSimGuest`. */
  constructor(sim: SimXen, domid: number, options: SimGuestOptions) {
    checkBehaviour(options.behaviour);
    if (!Number.isInteger(options.devid) || options.devid < 1 || options.devid > 9) throw new RangeError(`devid must be 1-9, got ${options.devid}`);
    const startIndex = options.startIndex ?? 0;
    if (!Number.isInteger(startIndex) || startIndex < 0 || startIndex > 0xffffffff) throw new RangeError(`startIndex must be a u32, not ${startIndex}`);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be > 0');
    this.#sim = sim;
    this.domid = domid;
    this.devid = options.devid;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.connected = new Promise((resolve) => (this.#settleConnected = resolve));
    this.report = new Promise((resolve) => (this.#settleReport = resolve));

    const { exported, transferList } = exportGuest(sim, domid);
    const guest: GuestWorkerData = {
      exported,
      devid: options.devid,
      behaviour: options.behaviour,
      startIndex,
      timeoutMs,
      ...(options.writeStamps ? { writeStamps: options.writeStamps.buffer } : {}),
    };
    this.#worker = startWorker(guest, transferList);
    this.exited = new Promise((resolve) => this.#worker.once('exit', resolve));
    this.#worker.on('message', (data: unknown) => this.#receive(data));
    this.#worker.on('error', (error: Error) => this.#fail(new FlowError('io', `the guest's worker failed: ${error.message}`, { cause: error })));
    this.#worker.once('exit', (code: number) => {
      this.#gone = true;
      this.#fail(new FlowError('closed', `the guest's worker exited (code ${code})`));
    });
  }

  /** Messages from the worker that were not valid (a guest's garbage is ignored). */
  get malformed(): number {
    return this.#malformed;
  }

  /** The frontend's counters and the bytes the guest moved, now. */
  status(): Promise<Result<SimGuestStatus, FlowError>> {
    if (this.#gone) return Promise.resolve(err(new FlowError('closed', "the guest's worker has exited")));
    const id = this.#nextStatus++;
    return new Promise((resolve) => {
      this.#statusWaiters.set(id, resolve);
      this.#send({ type: 'status', id });
    });
  }

  /**
   * Shuts the guest down cleanly: its program stops, its console closes (frontend Closed, as
   * `hvc_xen` does when removed), the worker exits. Terminates it if it has not exited within
   * `closeTimeoutMs`. Resolves with the exit code.
   */
  async close(): Promise<number> {
    if (!this.#gone) this.#send({ type: 'close' });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#closeTimeoutMs)));
    const code = await Promise.race([this.exited, late.then(() => undefined)]);
    clearTimeout(timer);
    return code ?? this.terminate();
  }

  /** Stops the worker at once (its vCPUs stop; the domain itself stays until destroyed). */
  async terminate(): Promise<number> {
    if (!this.#gone) await this.#worker.terminate();
    return this.exited;
  }

  /** The domain dies: the hypervisor tears it down (@releaseDomain fires) and its worker stops. */
  async destroy(): Promise<void> {
    this.#sim.destroyGuest(this.domid);
    await this.terminate();
  }

  #send(command: GuestCommand): void {
    this.#worker.postMessage(command);
  }

  #receive(data: unknown): void {
    const message = parseGuestMessage(data);
    if (!message) {
      this.#malformed++;
      return;
    }
    switch (message.type) {
      case 'connected':
        this.#settleConnected(ok({ ringRef: message.ringRef, port: message.port, page: new SabPage(message.page, { writable: false }) }));
        return;
      case 'report':
        this.#settleReport(ok(message.report));
        return;
      case 'status': {
        const { type: _type, id, ...status } = message;
        this.#statusWaiters.get(id)?.(ok(status));
        this.#statusWaiters.delete(id);
        return;
      }
      case 'failed':
        this.#fail(deserializeError(message.error));
        return;
    }
  }

  /** Settles whatever is still waiting (a promise settles once; later calls change nothing). */
  #fail(error: FlowError): void {
    this.#settleConnected(err(error));
    this.#settleReport(err(error));
    for (const settle of this.#statusWaiters.values()) settle(err(error));
    this.#statusWaiters.clear();
  }
}

/**
 * Starts a simulated guest in a worker thread: exports `domid`'s platform (grants, event
 * channels, its xenstore connection) to the worker, which connects console `devid` as Linux's
 * `hvc_xen` does and runs `behaviour` on it. `domid` must be a guest of `sim`
 * (`sim.createGuest`) that does not run anywhere yet; dom0 creates the console and connects.
 */
export function startSimGuest(sim: SimXen, domid: number, options: SimGuestOptions): SimGuest {
  return new SimGuest(sim, domid, options);
}

/**
 * `sim.exportPlatform(domid)`, with the xenstore relay's errors handled: when the domain dies,
 * xenstored cuts its connection (and when the worker stops, its port closes), and either end
 * of the relay then fails; that is the end of the connection, not an error of the process.
 */
function exportGuest(sim: SimXen, domid: number): { readonly exported: ExportedSimPlatform; readonly transferList: TransferListItem[] } {
  const served = sim.xenstored.connectDuplex(domid);
  if (!served.ok) throw new Error(`cannot connect domain ${domid} to xenstored: ${served.error.message}`);
  let domain: ReturnType<SimXen['hypervisor']['exportDomain']>;
  try {
    domain = sim.hypervisor.exportDomain(domid);
  } catch (error) {
    served.value.destroy();
    throw error;
  }
  const { port1, port2 } = new MessageChannel();
  const relay = portDuplex(port1);
  const end = (): void => {
    relay.destroy();
    served.value.destroy();
  };
  relay.on('error', end).on('close', end);
  served.value.on('error', end).on('close', end);
  relay.pipe(served.value);
  served.value.pipe(relay);
  return { exported: { domain: domain.descriptor, xenstore: port2 }, transferList: [...domain.transferList, port2] };
}

/**
 * Compiled, the worker is `guest-worker.js` next to this file. From TypeScript sources (under
 * ts-jest), the worker compiles what it requires with `typescript.transpileModule`; types were
 * checked already.
 */
const TS_BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const ts = require(workerData.typescript);
require.extensions['.ts'] = (module, filename) => {
  const output = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
  });
  module._compile(output.outputText, filename);
};
require(workerData.file);
`;

function startWorker(guest: GuestWorkerData, transferList: readonly TransferListItem[]): Worker {
  const list = [...transferList];
  if (__filename.endsWith('.ts')) {
    const file = path.join(__dirname, 'guest-worker.ts');
    return new Worker(TS_BOOTSTRAP, { eval: true, workerData: { guest, file, typescript: require.resolve('typescript') }, transferList: list });
  }
  return new Worker(path.join(__dirname, 'guest-worker.js'), { workerData: { guest }, transferList: list });
}
