import { abortedError, createFlow, err, FlowError, ok, timeoutError, type FlowCapabilities, type Result } from '@flow/core';
import type { XenPlatform } from '../platform/types';
import type { XsClient, XsWatch } from '../xenstore/client-types';
import { ConsoleDriver, type BackendRingPort, type ConsolePolicy } from './console-driver';
import { DEFAULT_LIMIT } from './create';
import { backendPath, checkDevid, checkDomid, frontendPath, XenbusState } from './paths';
import { openBackendRing } from './ring-port';
import { parseState, parseU32 } from './strict-parse';
import { XenConsoleFlow } from './xen-console-flow';

export interface ConnectOptions {
  readonly platform: XenPlatform;
  /** The guest. */
  readonly domid: number;
  /** The console: 1-9 for a secondary console; 0, the primary console, only with `primary: true`. */
  readonly devid: number;
  /** The backend directory's name. Default `console`. */
  readonly backendName?: string;
  /** The guest must reach Initialised within this long. Default 30000 ms. */
  readonly handshakeTimeoutMs?: number;
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

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 30_000;

const CAPABILITIES: FlowCapabilities = Object.freeze({
  halfCloseWrite: 'none',
  halfCloseRead: 'emulated',
  abort: 'close',
  notes: Object.freeze([
    'a PV console has no end of stream: shutdownWrite signals nothing to the guest',
    'close() does not wait for the guest: it flushes, then unmaps, unbinds and sets the backend Closed',
    'the guest ends the stream by closing its console (frontend Closing/Closed), by removing it, or by dying',
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
  let limit = DEFAULT_LIMIT;
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
    const waited = await waitForFrontend(xs, front, options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS, signal);
    if (!waited.ok) return failed(waited.error);
    ({ ringRef, remotePort } = waited.value);
    limit = await trustedLimit(xs, front, domid);
  }

  const mapped = await platform.mapGrant(domid, ringRef, { writable: true });
  if (!mapped.ok) return failed(mapped.error);
  const page = mapped.value;
  const bound = await platform.bindInterdomain(domid, remotePort);
  if (!bound.ok) {
    page.unmap();
    return failed(bound.error);
  }
  const evtchn = bound.value;
  const ring: BackendRingPort = openBackendRing(page);
  const connected = devid === 0 ? ok(undefined) : await xs.write(`${back}/state`, String(XenbusState.Connected));
  if (!connected.ok) {
    evtchn.close();
    page.unmap();
    return failed(connected.error);
  }

  let driver: ConsoleDriver | undefined;
  let frontWatch: XsWatch | undefined;
  let torn = false;
  const teardown = (): void => {
    if (torn) return;
    torn = true;
    evtchn.close();
    page.unmap();
    void frontWatch?.close();
    void (async () => {
      if (devid !== 0) await xs.write(`${back}/state`, String(XenbusState.Closed));
      if (ownXs) await xs.close();
    })();
  };
  const inner = createFlow(
    (port) => {
      driver = new ConsoleDriver(ring, evtchn, port, options.policy ?? {}, limit, {
        onCorrupt: () => void xs.write(`${back}/state`, String(XenbusState.Closing)),
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
    void followFrontend(xs, frontWatch, front, domid, () => d.peerGone());
  }
  d.start();
  return ok(new XenConsoleFlow(inner, { domid, devid, frontend: front, backend: back, xenstore: xs, stats: d.stats }));
}

/**
 * Waits until the frontend is Initialised or Connected, then reads its ring reference and port.
 * Junk values (not a strict decimal u32) are refused; the frontend vanishing is an error.
 */
async function waitForFrontend(
  xs: XsClient,
  front: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Result<{ ringRef: number; remotePort: number }, FlowError>> {
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
        if (ringRef === undefined || remotePort === undefined) {
          return err(new FlowError('protocol', `the guest wrote an invalid ring-ref or port under ${front} (not a decimal u32)`));
        }
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

/** The `limit` key counts only when the guest cannot have written it (its owner is not the guest). */
async function trustedLimit(xs: XsClient, front: string, domid: number): Promise<number> {
  const [value, perms] = await Promise.all([xs.read(`${front}/limit`), xs.getPerms(`${front}/limit`)]);
  if (!value.ok || !perms.ok) return DEFAULT_LIMIT;
  const owner = perms.value[0];
  const n = parseU32(value.value);
  if (owner === undefined || owner.domid === domid || n === undefined || n < 4) return DEFAULT_LIMIT;
  return n;
}

/** Ends the flow (EOF after the data) when the frontend closes, is removed, or the domain dies. */
async function followFrontend(xs: XsClient, watch: XsWatch, front: string, domid: number, gone: () => void): Promise<void> {
  const death = await xs.watch('@releaseDomain');
  try {
    const deathLoop = death.ok
      ? (async () => {
          for (;;) {
            const e = await death.value.next();
            if (!e.ok) return;
            const alive = await xs.directory(`/local/domain/${domid}`);
            if (!alive.ok && alive.error.code === 'ENOENT') return gone();
          }
        })()
      : Promise.resolve();
    for (;;) {
      const e = await watch.next();
      if (!e.ok) break;
      const state = await xs.read(`${front}/state`);
      if (!state.ok) {
        if (state.error.code === 'ENOENT') {
          gone();
          break;
        }
        continue;
      }
      const s = parseState(state.value);
      if (s === XenbusState.Closing || s === XenbusState.Closed || s === XenbusState.Unknown) {
        gone();
        break;
      }
    }
    void deathLoop;
  } finally {
    if (death.ok) await death.value.close();
  }
}
