// A double of the Xen side of the addon, for LinuxPlatform tests on a machine without Xen. It
// imitates Linux's drivers/xen/evtchn.c (LNX-EVT 0edce91dcd83160019867a00746c679344dc0bbd) and
// gntdev as seen from one process, and keeps the addon's real code wherever it can run here:
//   - pending ports travel through a FIFO read by the addon's real reader (pollFd, the code
//     evtchnPoll runs on the evtchn descriptor); `notify(port)` of a bound port queues that port,
//     as a peer that answers every notification;
//   - binding hands out local ports from 25 up (the observed first port, spec §7.2);
//   - grants are anonymous pages from the real allocTestPage behind the real page accessors.
// Every call is recorded; `mapResults`/`bindResults` script failures (-errno) for the next calls.
import type { PendingPortsCallback, PollHandle, XenBinding } from '../../src/platform/native-binding';
import { fifo, type Fifo } from './native-addon';

export interface EvtchnDouble {
  readonly binding: XenBinding;
  /** Every call into the double, as `name(args)`. */
  readonly calls: string[];
  /** Results for the next mapGrant calls (then a page): -errno values. */
  readonly mapResults: number[];
  /** Results for the next bind calls (then a fresh port): -errno values. */
  readonly bindResults: number[];
  /** Results for the next evtchnPoll calls (then the real reader): -errno values. */
  readonly pollResults: number[];
  /** Ports currently bound. */
  readonly bound: ReadonlySet<number>;
  /** Queues `ports` as pending, as the kernel's event ring would. */
  deliver(ports: readonly number[]): void;
  /** Calls the dispatcher's callback as the addon does after a ring overflow and reset. */
  overflow(): void;
  /** Calls the dispatcher's callback with a failure, as the addon does when a read fails. */
  fail(errno: number): void;
  cleanup(): void;
}

export function evtchnDouble(real: XenBinding): EvtchnDouble {
  const pipe: Fifo = fifo();
  const calls: string[] = [];
  const mapResults: number[] = [];
  const bindResults: number[] = [];
  const pollResults: number[] = [];
  const bound = new Set<number>();
  let nextPort = 25;
  let callback: PendingPortsCallback | undefined;
  const polls = new Set<PollHandle>();

  const bind = (call: string): number => {
    calls.push(call);
    const scripted = bindResults.shift();
    if (scripted !== undefined) return scripted;
    const port = nextPort++;
    bound.add(port);
    return port;
  };

  const binding: XenBinding = {
    ...real,
    available: () => 0,
    mapGrant: (domid, ref, writable) => {
      calls.push(`mapGrant(${domid}, ${ref}, ${writable})`);
      const scripted = mapResults.shift();
      return scripted ?? real.allocTestPage(writable);
    },
    unmapGrant: (page) => {
      calls.push('unmapGrant');
      return real.unmapGrant(page);
    },
    evtchnBindInterdomain: (domid, remotePort) => bind(`evtchnBindInterdomain(${domid}, ${remotePort})`),
    evtchnBindUnbound: (domid) => bind(`evtchnBindUnbound(${domid})`),
    evtchnNotify: (port) => {
      calls.push(`evtchnNotify(${port})`);
      if (!bound.has(port)) return -107; // ENOTCONN, as LNX-EVT for a port not bound here
      pipe.writePorts([port]);
      return 0;
    },
    evtchnUnbind: (port) => {
      calls.push(`evtchnUnbind(${port})`);
      return bound.delete(port) ? 0 : -107;
    },
    evtchnUnmask: (port) => {
      calls.push(`evtchnUnmask(${port})`);
      return 0;
    },
    evtchnPoll: (cb) => {
      calls.push('evtchnPoll');
      const scripted = pollResults.shift();
      if (scripted !== undefined) return scripted;
      callback = cb;
      const handle = real.pollFd(pipe.reader, cb);
      if (typeof handle !== 'number') polls.add(handle);
      return handle;
    },
    pollClose: (handle) => {
      calls.push('pollClose');
      polls.delete(handle);
      real.pollClose(handle);
    },
  };

  return {
    binding: Object.freeze(binding),
    calls,
    mapResults,
    bindResults,
    pollResults,
    bound,
    deliver: (ports) => pipe.writePorts(ports),
    overflow: () => callback?.(0, [], true),
    fail: (errno) => callback?.(-errno, [], false),
    cleanup: () => {
      for (const handle of polls) real.pollClose(handle);
      pipe.cleanup();
    },
  };
}
