import { abortedError, createFlow, err, FlowError, ok, timeoutError, type FlowCapabilities, type Result } from '@flow/core';
import type { XenPlatform } from '../platform/types';
import type { XsClient, XsPerm, XsWatch } from '../xenstore/client-types';
import { checkPolicy, ConsoleDriver, type BackendRingPort, type ConsolePolicy } from './console-driver';
import { DEFAULT_LIMIT } from './create';
import { writeBackendState } from './backend-state';
import { backendPath, checkDevid, checkDomid, frontendPath, XenbusState } from './paths';
import { openBackendRing } from './ring-port';
import { parseState, parseU32 } from './strict-parse';
import { XenConsoleFlow } from './xen-console-flow';

/** Options of {@link connectConsole}. */
export interface ConnectOptions {
  /** The grant, event-channel and xenstore access to use, e.g. a `LinuxPlatform` or the simulator's. */
  readonly platform: XenPlatform;
  /** The guest. */
  readonly domid: number;
  /** The console: 1-9 for a secondary console; 0, the primary console, only with `primary: true`. */
  readonly devid: number;
  /** The backend directory's name. Default `console`. */
  readonly backendName?: string;
  /** The guest must reach Initialised within this long. Default 30000 ms. */
  readonly handshakeTimeoutMs?: number;
  /** Abandons the handshake when it aborts: the result is an `aborted` error and nothing stays mapped or bound. */
  readonly signal?: AbortSignal;
  /** Rate limit and overflow handling against a guest that floods. */
  readonly policy?: ConsolePolicy;
  /** The primary console (devid 0) is the toolstack's (xenconsoled's): serving it is an explicit opt-in. */
  readonly primary?: boolean;
  /** With `primary`: serve it even while its `type` says xenconsoled owns it. */
  readonly force?: boolean;
  /** A xenstore connection to use (and not close); default: a new one from the platform. */
  readonly xenstore?: XsClient;
}

/** How long `connectConsole` waits for the guest to reach Initialised unless told otherwise, in milliseconds. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;

const CAPABILITIES: FlowCapabilities = Object.freeze({
  halfCloseWrite: 'emulated',
  halfCloseRead: 'emulated',
  abort: 'close',
  notes: Object.freeze([
    "shutdownWrite waits until the guest has read everything in its input ring, then sets the backend Closing: the guest's end of stream. A Linux hvc_xen guest answers by closing its console (xenbus_frontend_closed), so its output ends too; our frontend with halfClose keeps writing",
    'the guest ends its output by setting its console Closing (read EOF after what is in the ring); the backend answers Closing as QEMU does, which ends writing to the guest too',
    'close() does not wait for the guest: a write still waiting for ring space fails with closed; then it unmaps, unbinds and sets the backend Closed',
    'when the guest closes, removes its console or dies, reads end with EOF and the page and port are released at once',
  ]),
});

/**
 * Connects to a guest's console as its backend (spec: the dom0 bring-up sequence): waits for
 * the frontend to reach Initialised or Connected, reads `ring-ref` and `port` (strict decimal
 * u32), maps the page, binds the event channel, marks the page connected, sets the backend
 * Connected and looks at the ring at once. Errors: `timeout` (the guest never initialised),
 * `aborted`, `not-found` (no such console: create it first), `protocol` (junk ring-ref/port,
 * or the guest went away during the handshake), `permission`/`io` from mapping or binding,
 * `unsupported` (no Xen here).
 */
export async function connectConsole(options: ConnectOptions): Promise<Result<XenConsoleFlow, FlowError>> {
  const domid = checkDomid(options.domid);
  const devid = checkDevid(options.devid);
  if (devid === 0 && options.primary !== true) {
    throw new RangeError('devid 0 is the primary console, which xenconsoled serves; pass { primary: true } to serve it anyway');
  }
  checkPolicy(options.policy ?? {});
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  if (!(Number.isFinite(handshakeTimeoutMs) && handshakeTimeoutMs > 0)) {
    throw new RangeError(`handshakeTimeoutMs must be a positive number, got ${String(handshakeTimeoutMs)}`);
  }
  const { platform, signal } = options;
  if (signal?.aborted) return err(abortedError(signal.reason));
  let xs: XsClient;
  if (options.xenstore) {
    xs = options.xenstore;
  } else {
    const opened = await platform.xenstore();
    if (!opened.ok) return opened;
    xs = opened.value;
  }
  const ownXs = !options.xenstore;
  const front = frontendPath(domid, devid);
  const back = backendPath(platform.selfDomid, options.backendName ?? 'console', domid, devid);
  const failed = async (e: FlowError): Promise<Result<XenConsoleFlow, FlowError>> => {
    if (ownXs) await xs.close();
    return err(e);
  };

  let ringRef: number;
  let remotePort: number;
  if (devid === 0) {
    const type = await xs.read(`${front}/type`);
    if (type.ok && type.value === 'xenconsoled' && options.force !== true) {
      return failed(new FlowError('in-use', `the primary console of domain ${domid} belongs to xenconsoled (type=xenconsoled); stop it or pass { force: true }`));
    }
    const port = await xs.read(`${front}/port`);
    const p = port.ok ? parseU32(port.value) : undefined;
    if (p === undefined) return failed(new FlowError('protocol', `the primary console of domain ${domid} has no valid port`));
    // The domain builder grants the console page as the reserved grant 0 (GNTTAB_RESERVED_CONSOLE).
    ringRef = 0;
    remotePort = p;
  } else {
    const exists = await xs.read(`${back}/frontend`);
    if (!exists.ok) {
      return failed(new FlowError('not-found', `domain ${domid} has no console ${devid} served from ${back}: create it first`, { code: exists.error.code, cause: exists.error }));
    }
    const waited = await waitForFrontend(xs, front, handshakeTimeoutMs, signal);
    if (!waited.ok) return failed(waited.error);
    if (waited.value === 'junk') {
      await writeBackendState(xs, back, XenbusState.Closing);
      return failed(new FlowError('protocol', `the guest wrote an invalid ring-ref or port under ${front} (not a decimal u32)`));
    }
    ({ ringRef, remotePort } = waited.value);
  }
  const limit = await trustedLimit(xs, front, domid, platform.selfDomid);

  // From here on the guest waits for us: if we cannot serve it, say so (backend Closing, as
  // QEMU does) rather than leave it waiting for ever.
  const refuse = async (e: FlowError): Promise<Result<XenConsoleFlow, FlowError>> => {
    if (devid !== 0) await writeBackendState(xs, back, XenbusState.Closing);
    return failed(e);
  };
  const mapped = await platform.mapGrant(domid, ringRef, { writable: true });
  if (!mapped.ok) return refuse(mapped.error);
  const page = mapped.value;
  const bound = await platform.bindInterdomain(domid, remotePort);
  if (!bound.ok) {
    page.unmap();
    return refuse(bound.error);
  }
  const evtchn = bound.value;
  const ring: BackendRingPort = openBackendRing(page);
  const connected = devid === 0 ? ok(true) : await writeBackendState(xs, back, XenbusState.Connected);
  if (!connected.ok || !connected.value) {
    evtchn.close();
    page.unmap();
    return failed(connected.ok ? new FlowError('not-found', `the console ${back} was removed during the handshake`) : connected.error);
  }

  let driver: ConsoleDriver | undefined;
  let frontWatch: XsWatch | undefined;
  let ringReleased = false;
  let torn = false;
  /** The backend's xenstore state, written only when it changes (never again after teardown's Closed). */
  let backendState: number = XenbusState.Connected;
  const setBackendState = (state: number): Promise<unknown> => {
    if (devid === 0 || backendState === state || backendState === XenbusState.Closed) return Promise.resolve();
    backendState = state;
    return writeBackendState(xs, back, state);
  };
  const releaseRing = (): void => {
    if (ringReleased) return;
    ringReleased = true;
    evtchn.close();
    page.unmap();
  };
  let tornDown: Promise<void> | undefined;
  const teardown = (): void => {
    if (torn) return;
    torn = true;
    releaseRing();
    const watchClosed = frontWatch?.close();
    tornDown = (async () => {
      if (devid !== 0 && backendState !== XenbusState.Closed) {
        backendState = XenbusState.Closed;
        await writeBackendState(xs, back, XenbusState.Closed);
      }
      await watchClosed;
      if (ownXs) await xs.close();
    })();
  };
  const inner = createFlow(
    (port) => {
      driver = new ConsoleDriver(ring, evtchn, port, options.policy ?? {}, limit, {
        onCorrupt: () => void setBackendState(XenbusState.Closing),
        // The end of our output, once the guest has read all of it: the guest's EOF.
        onWriteShutdown: () => setBackendState(XenbusState.Closing).then(() => undefined),
        releaseRing,
        teardown,
      });
      return driver;
    },
    {
      capabilities: CAPABILITIES,
      label: `xen-console://${domid}/${devid}`,
      highWaterMark: options.policy?.overflow === 'discardMiddle' ? 64 * 1024 : (options.policy?.maxBufferedBytes ?? 64 * 1024),
      closeWaitsForPeer: false,
    },
  );
  const d = driver as unknown as ConsoleDriver;
  const watched = await xs.watch(front);
  if (watched.ok) {
    frontWatch = watched.value;
    void followFrontend(xs, frontWatch, front, domid, devid === 0, {
      // QEMU's xen_console_frontend_changed: frontend Closing -> backend Closing; frontend
      // Closed, Unknown or gone -> unmap, unbind, backend Closed.
      closing: () => {
        d.peerGone();
        void setBackendState(XenbusState.Closing);
      },
      gone: () => {
        d.peerGone();
        void setBackendState(XenbusState.Closed);
      },
    });
  }
  d.start();
  return ok(
    new XenConsoleFlow(inner, {
      domid,
      devid,
      frontend: front,
      backend: back,
      xenstore: xs,
      stats: d.stats,
      beforeClose: () => d.cancelWaitingWrite(),
      afterRelease: () => tornDown ?? Promise.resolve(),
    }),
  );
}

/**
 * Waits until the frontend is Initialised or Connected, then reads its ring reference and port:
 * `junk` when either is not a strict decimal u32 (missing, "12abc", negative, too big). The
 * frontend vanishing or closing first is an error.
 */
async function waitForFrontend(
  xs: XsClient,
  front: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Result<{ ringRef: number; remotePort: number } | 'junk', FlowError>> {
  const watched = await xs.watch(front);
  if (!watched.ok) return watched;
  const watch = watched.value;
  const deadline = AbortSignal.timeout(timeoutMs);
  const stop = signal ? AbortSignal.any([signal, deadline]) : deadline;
  try {
    for (;;) {
      const state = await xs.read(`${front}/state`);
      if (!state.ok && state.error.code === 'ENOENT') {
        const dir = await xs.directory(front);
        if (!dir.ok) return err(new FlowError('protocol', `the guest's console ${front} went away during the handshake`, { code: dir.error.code }));
      }
      const s = state.ok ? parseState(state.value) : undefined;
      if (s === XenbusState.Initialised || s === XenbusState.Connected) {
        const [ref, port] = await Promise.all([xs.read(`${front}/ring-ref`), xs.read(`${front}/port`)]);
        const ringRef = ref.ok ? parseU32(ref.value) : undefined;
        const remotePort = port.ok ? parseU32(port.value) : undefined;
        if (ringRef === undefined || remotePort === undefined) return ok('junk');
        return ok({ ringRef, remotePort });
      }
      if (s === XenbusState.Closing || s === XenbusState.Closed) {
        return err(new FlowError('refused', `the guest closed its console ${front} before connecting`));
      }
      const event = await watch.next({ signal: stop });
      if (!event.ok) {
        if (signal?.aborted) return err(abortedError(signal.reason));
        if (deadline.aborted) return err(timeoutError(`waiting for the guest to initialise ${front}`, timeoutMs));
        return event;
      }
    }
  } finally {
    await watch.close();
  }
}

/**
 * The `limit` key counts only when the guest cannot have written it: its owner is dom0 or this
 * backend, and no permission entry (nor the default for everyone, the first entry's) lets the
 * guest write. Anything else, or a value that is not a strict decimal >= 4, gives the default.
 */
async function trustedLimit(xs: XsClient, front: string, domid: number, selfDomid: number): Promise<number> {
  const [value, perms] = await Promise.all([xs.read(`${front}/limit`), xs.getPerms(`${front}/limit`)]);
  if (!value.ok || !perms.ok) return DEFAULT_LIMIT;
  const [owner, ...others] = perms.value;
  if (owner === undefined || (owner.domid !== 0 && owner.domid !== selfDomid)) return DEFAULT_LIMIT;
  const writes = (p: XsPerm): boolean => p.access === 'w' || p.access === 'b';
  if (writes(owner) || others.some((p) => p.domid === domid && writes(p))) return DEFAULT_LIMIT;
  const n = parseU32(value.value);
  return n === undefined || n < 4 ? DEFAULT_LIMIT : n;
}

interface FrontendEnds {
  /** The frontend is Closing. */
  readonly closing: () => void;
  /** The frontend is Closed or Unknown, its directory is gone, or its domain died. */
  readonly gone: () => void;
}

/**
 * Follows the frontend until it is gone. A secondary console's `state` says it; the primary
 * console has no state (only its directory and its domain). Junk states are ignored; ring-ref
 * and port changes while connected are ignored too (no reconnect loop). Every watch event costs
 * one read at most, and the watch's queue coalesces a storm.
 */
async function followFrontend(xs: XsClient, watch: XsWatch, front: string, domid: number, primary: boolean, ends: FrontendEnds): Promise<void> {
  const death = await xs.watch('@releaseDomain');
  let over = false;
  const gone = (): void => {
    if (over) return;
    over = true;
    ends.gone();
    void watch.close();
  };
  try {
    if (death.ok) {
      void (async () => {
        for (;;) {
          const e = await death.value.next();
          if (!e.ok || over) return;
          const alive = await xs.directory(`/local/domain/${domid}`);
          if (!alive.ok && alive.error.code === 'ENOENT') return gone();
        }
      })();
    }
    let closing = false;
    for (;;) {
      const e = await watch.next();
      if (!e.ok || over) break;
      if (primary) {
        const dir = await xs.directory(front);
        if (!dir.ok && dir.error.code === 'ENOENT') gone();
        continue;
      }
      const state = await xs.read(`${front}/state`);
      if (!state.ok) {
        if (state.error.code === 'ENOENT') gone();
        continue;
      }
      const s = parseState(state.value);
      if (s === XenbusState.Closed || s === XenbusState.Unknown) gone();
      else if (s === XenbusState.Closing && !closing) {
        closing = true;
        ends.closing();
      }
    }
  } finally {
    over = true;
    if (death.ok) await death.value.close();
  }
}
