import { ctlTree, exportDirectory, routeAnames, serve9p } from '@flow/9p';
import { listen } from '@flow/tcp';

/** How the parent configures our server: `ninep-server-process.js <export dir> [JSON of this]`. */
export interface NinepServerConfig {
  /** `exportDirectory`'s option; its default when absent. */
  readonly syncReadMax?: number;
  /** Nagle's algorithm off on every connection (default true, as a 9P server wants). */
  readonly noDelay?: boolean;
}

/**
 * Child process running our 9P server on loopback. Like the diod it is compared with, it
 * exports the directory (read-only) under the anames `''`, `/` and the directory's path, and
 * a synthetic `ctl` tree (`zero`, `null`, `version`) for diodload. One `serve9p` per accepted
 * `@flow/tcp` connection; the process is the server's alone, so that its CPU time is the
 * server's.
 */
async function main(): Promise<void> {
  const [root, json] = process.argv.slice(2);
  if (!root) throw new RangeError('usage: ninep-server-process.js <export dir> [config JSON]');
  const config = (json ? JSON.parse(json) : {}) as NinepServerConfig;
  // The parent went away: stop at once, connections and all.
  process.once('disconnect', () => process.exit(0));
  const exportOptions = config.syncReadMax === undefined ? { readOnly: true } : { readOnly: true, syncReadMax: config.syncReadMax };
  const fs = routeAnames({ ctl: ctlTree('flow-9p-bench') }, exportDirectory(root, exportOptions));
  const noDelay = config.noDelay ?? true;
  const l = await listen('tcp://127.0.0.1:0', { noDelay });
  if (!l.ok) throw new Error(`listen failed: ${l.error.message}`);
  const address = l.value.address;
  const port = address.port;
  process.send?.({ type: 'ready', port, implementation: `serve9p over @flow/tcp${noDelay ? ' (noDelay)' : ''}` });
  for await (const flow of l.value) void serve9p(flow, fs, { msize: 65536 });
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
