import { err, ok, OK, type FlowError, type Result } from '@flow/core';
import type { PollHandle, XenBinding } from './native-binding';
import { errnoError } from './native-errors';
import type { EvtPort } from './types';

/** The part of the addon event channels use. */
export type EvtchnAccess = Pick<
  XenBinding,
  'evtchnBindInterdomain' | 'evtchnBindUnbound' | 'evtchnNotify' | 'evtchnUnbind' | 'evtchnUnmask' | 'evtchnPoll' | 'pollClose'
>;

/**
 * Failed polls in a row after which the dispatcher stops re-opening the poll (a device that keeps
 * failing must not become a busy loop); the ports then get no more events and `lastError` says why.
 */
const MAX_POLL_RESTARTS = 3;

/**
 * The event channels of one thread: every port is bound on the one /dev/xen/evtchn descriptor,
 * whose one poll reads the pending ports and hands each to its `EvtPort`. The poll is open only
 * while a port is bound (an open poll keeps the process alive, as a socket does).
 */
export class EvtchnDispatcher {
  readonly #binding: EvtchnAccess;
  readonly #ports = new Map<number, LinuxEvtPort>();
  #poll: PollHandle | undefined;
  #failuresInARow = 0;
  #overflows = 0;
  #lastError: FlowError | undefined;

  constructor(binding: EvtchnAccess) {
    this.#binding = binding;
  }

  /** How often the kernel's event ring overflowed (events lost; every port was told to re-scan). */
  get overflows(): number {
    return this.#overflows;
  }

  /** The last failure of the poll, if any. */
  get lastError(): FlowError | undefined {
    return this.#lastError;
  }

  /** The ports bound here and not closed. */
  get boundPorts(): number {
    return this.#ports.size;
  }

  /** `IOCTL_EVTCHN_BIND_INTERDOMAIN` to (domid, remotePort). */
  bindInterdomain(domid: number, remotePort: number): Result<EvtPort, FlowError> {
    const local = this.#binding.evtchnBindInterdomain(domid, remotePort);
    if (local < 0) return err(errnoError(local, 'ioctl', `binding event channel port ${remotePort} of domain ${domid}`));
    return this.#adopt(local);
  }

  /** `IOCTL_EVTCHN_BIND_UNBOUND_PORT`: a fresh port for `remoteDomid` to bind. */
  bindUnbound(remoteDomid: number): Result<EvtPort, FlowError> {
    const local = this.#binding.evtchnBindUnbound(remoteDomid);
    if (local < 0) return err(errnoError(local, 'ioctl', `allocating an event channel port for domain ${remoteDomid}`));
    return this.#adopt(local);
  }

  #adopt(local: number): Result<EvtPort, FlowError> {
    // A bind after the dispatcher gave up on a failing poll tries it afresh.
    if (this.#poll === undefined) this.#failuresInARow = 0;
    const polling = this.#startPoll();
    if (!polling.ok) {
      this.#binding.evtchnUnbind(local);
      return polling;
    }
    // The kernel hands out a number again only after it was unbound, which removed it here.
    const port = new LinuxEvtPort(local, this.#binding, (closed) => this.#release(closed));
    this.#ports.set(local, port);
    return ok(port);
  }

  #startPoll(): Result<void, FlowError> {
    if (this.#poll !== undefined) return OK;
    const handle = this.#binding.evtchnPoll((status, ports, overflowed) => this.#onPending(status, ports, overflowed));
    if (typeof handle === 'number') {
      const error = errnoError(handle, 'epoll_ctl', 'watching /dev/xen/evtchn for events');
      this.#lastError = error;
      return err(error);
    }
    this.#poll = handle;
    return OK;
  }

  #stopPoll(): void {
    if (this.#poll === undefined) return;
    this.#binding.pollClose(this.#poll);
    this.#poll = undefined;
  }

  #onPending(status: number, pending: readonly number[], overflowed: boolean): void {
    let everyPort = overflowed;
    if (overflowed) this.#overflows++;
    if (status < 0) {
      // Polling stopped. Events may have been missed: every port re-scans, and the poll is
      // re-opened a bounded number of times.
      this.#lastError = errnoError(status, 'read', 'reading pending ports from /dev/xen/evtchn');
      everyPort = true;
      this.#stopPoll();
      this.#failuresInARow++;
      if (this.#failuresInARow <= MAX_POLL_RESTARTS && this.#ports.size > 0) this.#startPoll();
    } else {
      this.#failuresInARow = 0;
    }
    const targets = everyPort ? [...this.#ports.values()] : pending.map((local) => this.#ports.get(local));
    // Ports unbound since the kernel queued them are unknown here: ignored.
    for (const port of targets) port?.deliver();
  }

  #release(port: LinuxEvtPort): void {
    if (this.#ports.get(port.local) !== port) return;
    this.#ports.delete(port.local);
    this.#binding.evtchnUnbind(port.local);
    if (this.#ports.size === 0) this.#stopPoll();
  }
}

/**
 * One bound port. A delivered event leaves the port masked in the kernel until `unmask()` (the
 * rate limiter above relies on it). An event that arrives while nobody listens is kept and given
 * to the first listener, so that a masked port is never forgotten.
 *
 * `notify` and `unmask` cannot fail for a port bound on this descriptor (LNX-EVT: NOTIFY gives
 * ENOTCONN and write() skips a port only when it is not bound here), so they return nothing.
 */
export class LinuxEvtPort implements EvtPort {
  readonly local: number;
  readonly #binding: EvtchnAccess;
  readonly #release: (port: LinuxEvtPort) => void;
  readonly #listeners = new Set<() => void>();
  #pending = false;
  #closed = false;

  constructor(local: number, binding: EvtchnAccess, release: (port: LinuxEvtPort) => void) {
    this.local = local;
    this.#binding = binding;
    this.#release = release;
  }

  get closed(): boolean {
    return this.#closed;
  }

  notify(): void {
    if (!this.#closed) this.#binding.evtchnNotify(this.local);
  }

  onEvent(listener: () => void): () => void {
    if (this.#closed) return () => undefined;
    this.#listeners.add(listener);
    if (this.#pending) {
      this.#pending = false;
      queueMicrotask(() => {
        if (!this.#closed && this.#listeners.has(listener)) listener();
      });
    }
    return () => {
      this.#listeners.delete(listener);
    };
  }

  unmask(): void {
    if (!this.#closed) this.#binding.evtchnUnmask(this.local);
  }

  /** `IOCTL_EVTCHN_UNBIND`; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#release(this);
  }

  /** Called by the dispatcher for each event. */
  deliver(): void {
    if (this.#closed) return;
    if (this.#listeners.size === 0) {
      this.#pending = true;
      return;
    }
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (error) {
        // One listener's bug must not starve the other ports of this batch: it is rethrown
        // after the batch, where it reaches process 'uncaughtException' as any callback's would.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

const dispatchers = new WeakMap<EvtchnAccess, EvtchnDispatcher>();

/** The dispatcher of `binding` (one per loaded addon, i.e. per thread). */
export function evtchnDispatcherFor(binding: EvtchnAccess): EvtchnDispatcher {
  let dispatcher = dispatchers.get(binding);
  if (dispatcher === undefined) {
    dispatcher = new EvtchnDispatcher(binding);
    dispatchers.set(binding, dispatcher);
  }
  return dispatcher;
}
