import {
  abortedError,
  closedError,
  createFlow,
  err,
  FlowError,
  FlowWrapper,
  OK,
  ok,
  timeoutError,
  type CloseOptions,
  type Flow,
  type FlowDriver,
  type InboundPort,
  type Result,
  type WriteResult,
} from '@flow/core';
import { XenbusState } from '../backend/paths';
import { parseState, parseU32 } from '../backend/strict-parse';
import type { EvtPort, XenPlatform } from '../platform/types';
import { resetConsolePage } from '../ring/console-page';
import { CONSOLE_LAYOUT } from '../ring/layout';
import { FrontendRing } from '../ring/frontend-ring';
import type { RingMemory } from '../ring/memory';
import type { XsClient, XsWatch } from '../xenstore/client-types';

/** Options of {@link connectFrontend}. */
export interface FrontendOptions {
  /** The guest's platform: it must be able to grant pages and allocate unbound ports. */
  readonly platform: XenPlatform;
  /** The console device, 1-9. */
  readonly devid: number;
  /** A zero page to share (in the simulator, a `SabPage`); it is reset before it is granted. */
  readonly page: RingMemory;
  /** The first value of all four indices (tests start near 2^31 or 2^32). Default 0. */
  readonly startIndex?: number;
  /** How long to wait for the console's nodes and for the backend to connect. Default 30000 ms. */
  readonly timeoutMs?: number;
  /** Abandons the connection when it aborts: the result is an `aborted` error, and the grant and port are released. */
  readonly signal?: AbortSignal;
  /**
   * What the backend's Closing means. Default false, as Linux's hvc_xen: the console closes
   * (`xenbus_frontend_closed`), so this side's writes end too. With true, it ends only the
   * backend's output (reads give what is in the ring, then EOF) and this side may go on writing
   * until it shuts down or closes: the half-close a Node guest may want.
   */
  readonly halfClose?: boolean;
}

/** A guest's console: the flow a guest program uses, plus what the tests look at. */
export interface FrontendConsole {
  /** The console as a flow: reads are the backend's input to the guest, writes the guest's output. */
  readonly flow: Flow;
  /** The grant reference of the ring page, as written to xenstore's `ring-ref`. */
  readonly ringRef: number;
  /** The event-channel port allocated for the backend, as written to xenstore's `port`. */
  readonly port: number;
  /** Live counters of the event channel. */
  readonly counters: {
    /** Events received from the backend. */
    events: number;
    /** Notifications sent to the backend. */
    notifies: number;
  };
}

const CAPABILITIES = Object.freeze({
  halfCloseWrite: 'emulated',
  halfCloseRead: 'emulated',
  abort: 'close',
  notes: Object.freeze([
    'the guest side of a PV console (as Linux hvc_xen): shutdownWrite waits until the backend has read the output ring, then sets the frontend Closing (the backend answers Closing, as QEMU does); close sets it Closed',
    "the backend's Closing is the end of its output; without halfClose it closes the console, as Linux does",
  ]),
} as const);

/**
 * Connects a console as Linux's `hvc_xen` frontend does (`xencons_connect_backend`): reads
 * `backend-id`, grants the zeroed page to the backend, allocates an unbound port for it, writes
 * `ring-ref` and `port` in a transaction, switches to Initialised, waits for the backend to be
 * Connected, then switches to Connected. Used by the simulator's guests and by tests.
 */
export async function connectFrontend(options: FrontendOptions): Promise<Result<FrontendConsole, FlowError>> {
  const { platform, devid, signal } = options;
  if (!Number.isInteger(devid) || devid < 1 || devid > 9) throw new RangeError(`devid must be 1-9, got ${String(devid)}`);
  if (!platform.grantPage || !platform.bindUnbound) throw new TypeError('the platform cannot grant pages or allocate ports (frontend side)');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const stop = signal ? AbortSignal.any([signal, deadline]) : deadline;
  const opened = await platform.xenstore();
  if (!opened.ok) return opened;
  const xs = opened.value;
  const dir = `/local/domain/${platform.selfDomid}/device/console/${devid}`;
  const fail = async (e: FlowError): Promise<Result<FrontendConsole, FlowError>> => {
    await xs.close();
    return err(e);
  };
  const stopped = (what: string): FlowError => (signal?.aborted ? abortedError(signal.reason) : timeoutError(what, timeoutMs));

  const backendId = await waitFor(xs, dir, stop, async () => {
    const id = await xs.read(`${dir}/backend-id`);
    return id.ok ? parseU32(id.value) : undefined;
  });
  if (backendId === undefined) return fail(stopped(`waiting for ${dir}/backend-id`));
  const backend = await xs.read(`${dir}/backend`);
  if (!backend.ok) return fail(backend.error);

  resetConsolePage(options.page, options.startIndex ?? 0);
  const granted = await platform.grantPage(options.page, backendId, { writable: true });
  if (!granted.ok) return fail(granted.error);
  const grant = granted.value;
  const bound = await platform.bindUnbound(backendId);
  if (!bound.ok) {
    grant.revoke();
    return fail(bound.error);
  }
  const evtchn = bound.value;
  const published = await xs.transaction(async (tx) => {
    const a = await tx.write(`${dir}/ring-ref`, String(grant.ref));
    if (!a.ok) return a;
    return tx.write(`${dir}/port`, String(evtchn.local));
  });
  const initialised = published.ok ? await xs.write(`${dir}/state`, String(XenbusState.Initialised)) : published;
  if (!initialised.ok) {
    evtchn.close();
    grant.revoke();
    return fail(initialised.error);
  }
  const backendState = await waitFor(xs, backend.value, stop, async () => {
    const s = await xs.read(`${backend.value}/state`);
    const n = s.ok ? parseState(s.value) : undefined;
    return n === XenbusState.Connected || n === XenbusState.Closing || n === XenbusState.Closed ? n : undefined;
  });
  if (backendState !== XenbusState.Connected) {
    evtchn.close();
    grant.revoke();
    // A backend that cannot serve us says so (Closing): give up now, as Linux does, not at the timeout.
    if (backendState !== undefined) await xs.write(`${dir}/state`, String(XenbusState.Closed));
    return fail(backendState === undefined ? stopped(`waiting for the backend ${backend.value} to connect`) : new FlowError('refused', `the backend ${backend.value} refused the console (state ${backendState})`));
  }
  const connected = await xs.write(`${dir}/state`, String(XenbusState.Connected));
  if (!connected.ok) {
    evtchn.close();
    grant.revoke();
    return fail(connected.error);
  }

  const counters = { events: 0, notifies: 0 };
  const ring = new FrontendRing(options.page);
  let released = false;
  let backendWatch: XsWatch | undefined;
  const teardown = (): void => {
    if (released) return;
    released = true;
    evtchn.close();
    grant.revoke();
    void backendWatch?.close();
    // Linux's xenbus_frontend_closed: the frontend says Closed, then lets go.
    void xs.write(`${dir}/state`, String(XenbusState.Closed)).then(() => xs.close());
  };
  let driver: FrontendDriver | undefined;
  const flow = createFlow(
    (port) => {
      driver = new FrontendDriver(ring, evtchn, port, counters, {
        teardown,
        // The end of our output, once the backend has read all of it.
        writeShutdown: () => xs.write(`${dir}/state`, String(XenbusState.Closing)).then(() => undefined),
      });
      return driver;
    },
    { capabilities: CAPABILITIES, label: `xen console ${devid} (guest ${platform.selfDomid})`, closeWaitsForPeer: false },
  );
  const d = driver as unknown as FrontendDriver;
  // Linux's xencons_backend_changed: the backend Closing or Closed (or gone) closes our end.
  const watched = await xs.watch(backend.value);
  if (watched.ok) {
    backendWatch = watched.value;
    void followBackend(xs, watched.value, backend.value, {
      closing: () => {
        d.backendClosing();
        if (options.halfClose !== true) {
          d.backendGone();
          teardown();
        }
      },
      gone: () => {
        d.backendGone();
        teardown();
      },
    });
  }
  return ok({ flow: new FrontendFlow(flow, () => d.closeStarting()), ringRef: grant.ref, port: evtchn.local, counters });
}

/** The guest's console flow: close() does not wait for the backend to read what is in the ring (as the backend's does not wait for the guest). */
class FrontendFlow extends FlowWrapper {
  #closing: Promise<WriteResult> | undefined;

  constructor(
    inner: Flow,
    private readonly beforeClose: () => void,
  ) {
    super(inner);
  }

  override close(options?: CloseOptions): Promise<WriteResult> {
    if (!this.#closing) {
      this.beforeClose();
      this.#closing = super.close(options);
    }
    return this.#closing;
  }
}

/** Calls `ends.closing` once the backend is Closing, then `ends.gone` once it is Closed or removed. */
async function followBackend(xs: XsClient, watch: XsWatch, backend: string, ends: { closing(): void; gone(): void }): Promise<void> {
  let closing = false;
  for (;;) {
    const e = await watch.next();
    if (!e.ok) return;
    const s = await xs.read(`${backend}/state`);
    const state = s.ok ? parseState(s.value) : undefined;
    if ((!s.ok && s.error.code === 'ENOENT') || state === XenbusState.Closed) {
      ends.gone();
      return;
    }
    if (state === XenbusState.Closing && !closing) {
      closing = true;
      ends.closing();
    }
  }
}

/** Re-checks `probe` on every change under `path` until it gives a value or `stop` fires. */
async function waitFor<T>(xs: XsClient, path: string, stop: AbortSignal, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const watched = await xs.watch(path);
  if (!watched.ok) return undefined;
  try {
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      const e = await watched.value.next({ signal: stop });
      if (!e.ok) return undefined;
    }
  } finally {
    await watched.value.close();
  }
}

/** The guest's console driver: output into `out`, input from `in`, hardened as Linux is. */
class FrontendDriver implements FlowDriver {
  private pending: { data: Uint8Array[]; index: number; offset: number; resolve: (r: WriteResult) => void } | undefined;
  private released = false;
  private failed: FlowError | undefined;
  private paused = false;
  /** The backend's output ended (its Closing): readers got EOF; writing may go on (halfClose). */
  private inputEnded = false;
  /** shutdownWrite waiting for the backend to read what is in the output ring. */
  private shutdownWaiter: ((r: WriteResult) => void) | undefined;
  /** close() started: nothing waits for the backend any more (close sets Closed). */
  private closing = false;
  private readonly stopEvents: () => void;

  constructor(
    private readonly ring: FrontendRing,
    private readonly evtchn: EvtPort,
    private readonly port: InboundPort,
    private readonly counters: { events: number; notifies: number },
    private readonly hooks: { readonly teardown: () => void; readonly writeShutdown: () => Promise<void> },
  ) {
    this.stopEvents = evtchn.onEvent(() => {
      counters.events += 1;
      this.service();
      evtchn.unmask();
    });
    this.service();
  }

  /**
   * One pass over both rings. `final`: the backend's output is ending, so what is in the input
   * ring (1 KiB at most) is taken whether or not readers have room: nothing accepted is lost.
   */
  private service(final = false): void {
    if (this.released || this.failed) return;
    let notify = false;
    while (!this.inputEnded && (final || !this.paused)) {
      const room = final ? Number.MAX_SAFE_INTEGER : this.port.highWaterMark - this.port.buffered;
      if (room <= 0) break;
      const r = this.ring.read(room);
      if (r.corrupt) return this.fail(r.corrupt.message);
      if (r.notify) notify = true;
      if (!r.bytes) break;
      this.port.push(r.bytes);
    }
    const w = this.pending;
    while (w && w.index < w.data.length) {
      const chunk = w.data[w.index] as Uint8Array;
      const r = this.ring.write(chunk.subarray(w.offset));
      if (r.corrupt) return this.fail(r.corrupt.message);
      if (r.notify) notify = true;
      w.offset += r.written;
      if (w.offset < chunk.length) break;
      w.index += 1;
      w.offset = 0;
    }
    if (w && w.index === w.data.length) {
      this.pending = undefined;
      w.resolve(OK);
    }
    if (notify) {
      this.counters.notifies += 1;
      this.evtchn.notify();
    }
    this.checkShutdown();
  }

  /** Ends a waiting shutdownWrite once the backend has read the whole output ring. */
  private checkShutdown(): void {
    if (!this.shutdownWaiter || this.pending) return;
    if (!this.released && !this.failed && !this.closing) {
      const space = this.ring.space();
      if (space.corrupt) return this.fail(space.corrupt.message);
      if (space.bytes < CONSOLE_LAYOUT.OUT_SIZE) return;
      const resolve = this.shutdownWaiter;
      this.shutdownWaiter = undefined;
      void this.hooks.writeShutdown().then(() => resolve(OK));
      return;
    }
    // The backend is gone or the console failed: there is no one left to tell.
    const resolve = this.shutdownWaiter;
    this.shutdownWaiter = undefined;
    resolve(OK);
  }

  private fail(reason: string): void {
    // Linux: "Illegal ring page indices" (-EINVAL).
    this.failed = new FlowError('protocol', `illegal ring page indices: ${reason}`);
    this.pending?.resolve(err(this.failed));
    this.pending = undefined;
    this.port.fail(this.failed);
    this.checkShutdown();
  }

  /** The backend's output ended (its Closing): what it wrote is still read, then EOF. */
  backendClosing(): void {
    if (this.released || this.failed || this.inputEnded) return;
    this.service(true);
    if (this.failed) return;
    this.inputEnded = true;
    this.port.end();
  }

  /** The backend went away: what it wrote is still read, then EOF; waiting writes fail. */
  backendGone(): void {
    if (this.released || this.failed) return;
    this.backendClosing();
    if (this.failed) return;
    this.stopEvents();
    this.pending?.resolve(err(closedError()));
    this.pending = undefined;
    this.failed = closedError();
    this.checkShutdown();
  }

  write(chunks: readonly Uint8Array[]): Promise<WriteResult> | WriteResult {
    if (this.failed) return err(this.failed);
    if (this.released) return err(closedError());
    return new Promise((resolve) => {
      this.pending = { data: [...chunks], index: 0, offset: 0, resolve };
      this.service();
    });
  }

  /**
   * close() is starting and does not wait for the backend: a write still waiting for room in
   * the ring fails with `closed` (what the ring took stays there), and a waiting shutdownWrite
   * ends (the frontend goes Closed instead).
   */
  closeStarting(): void {
    this.closing = true;
    this.pending?.resolve(err(closedError()));
    this.pending = undefined;
    this.checkShutdown();
  }

  /** Waits until the backend has read all our output, then sets the frontend Closing. */
  shutdownWrite(): Promise<WriteResult> {
    if (this.released || this.failed || this.closing) return Promise.resolve(OK);
    return new Promise<WriteResult>((resolve) => {
      this.shutdownWaiter = resolve;
      this.checkShutdown();
    });
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.service();
  }

  abort(reason: FlowError): void {
    this.pending?.resolve(err(reason));
    this.pending = undefined;
    this.release();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.stopEvents();
    this.pending?.resolve(err(closedError()));
    this.pending = undefined;
    this.checkShutdown();
    this.hooks.teardown();
  }
}
