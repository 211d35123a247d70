import cluster from 'node:cluster';
import { ctlTree, exportDirectory, routeAnames, serve9p } from '@flow/9p';
import { defaultNinepWorkers } from '@flow/cli';
import { BusyPoll, busyPollDefault } from '@flow/core';
import { listen } from '@flow/tcp';

/** How the parent configures our server: `ninep-server-process.js <export dir> [JSON of this]`. */
export interface NinepServerConfig {
  /** `exportDirectory`'s option; its default when absent. */
  readonly syncReadMax?: number;
  /** Nagle's algorithm off on every connection (default true, as a 9P server wants). */
  readonly noDelay?: boolean;
  /** Worker processes, as `flow 9p serve --workers` (default: its default); 1: this process serves. */
  readonly workers?: number;
  /** The longest busy-poll window in microseconds, as `flow 9p serve --busy-poll` (default: its default); 0: none. */
  readonly busyPollMicros?: number;
}

/**
 * Child process running our 9P server on loopback. Like the diod it is compared with, it
 * exports the directory (read-only) under the anames `''`, `/` and the directory's path, and
 * a synthetic `ctl` tree (`zero`, `null`, `version`) for diodload. One `serve9p` per accepted
 * `@flow/tcp` connection, in worker processes as `flow 9p serve` runs by default; the process
 * and its workers are the server's alone, so that their CPU time is the server's.
 */
async function main(): Promise<void> {
  const [root, json] = process.argv.slice(2);
  if (!root) throw new RangeError('usage: ninep-server-process.js <export dir> [config JSON]');
  const config = (json ? JSON.parse(json) : {}) as NinepServerConfig;
  const workers = config.workers ?? defaultNinepWorkers();
  const noDelay = config.noDelay ?? true;
  const busyPollMicros = config.busyPollMicros ?? busyPollDefault();
  const implementation =
    `serve9p over @flow/tcp${noDelay ? ' (noDelay)' : ''}${workers > 1 ? ` in ${workers} worker processes` : ', one process'}, ` +
    (busyPollMicros > 0 ? `busy poll up to ${busyPollMicros} µs` : 'no busy poll');
  // The parent (or, for a worker, the primary) went away: stop at once, connections and all.
  process.once('disconnect', () => process.exit(0));
  if (workers > 1 && cluster.isPrimary) {
    // As `flow 9p serve` does: the workers listen on one address, this process hands out connections.
    let port = 0;
    for (let i = 0; i < workers; i += 1) {
      port = await new Promise<number>((resolve, reject) => {
        const worker = cluster.fork();
        worker.once('message', (m: { port?: number }) => (typeof m.port === 'number' ? resolve(m.port) : reject(new Error('worker said no port'))));
        worker.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
      });
    }
    process.send?.({ type: 'ready', port, implementation });
    return;
  }
  const exportOptions = config.syncReadMax === undefined ? { readOnly: true } : { readOnly: true, syncReadMax: config.syncReadMax };
  const fs = routeAnames({ ctl: ctlTree('flow-9p-bench') }, exportDirectory(root, exportOptions));
  const l = await listen('tcp://127.0.0.1:0', { noDelay });
  if (!l.ok) throw new Error(`listen failed: ${l.error.message}`);
  const port = l.value.address.port;
  process.send?.(cluster.isWorker ? { port } : { type: 'ready', port, implementation });
  // One poller per process, as `flow 9p serve` has: the event loop is one.
  const busyPoll = busyPollMicros > 0 ? new BusyPoll({ maxMicros: busyPollMicros }) : undefined;
  for await (const flow of l.value) void serve9p(flow, fs, { msize: 65536, ...(busyPoll ? { busyPoll } : {}) });
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
