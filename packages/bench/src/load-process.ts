import { bulk, ping, slow } from './load-clients';
import type { ReplyEnvelope, RequestEnvelope } from './protocol';
import { startTargetServer } from './target-server';

/**
 * Child process holding both ends of every measurement: the target server (sink, echo, slow
 * receiver) and the clients (generator, ping-pong, fast senders). Proxies run in their own
 * processes between the two. `load-process.js [UNIX_PATH]`: with a path, the same target server
 * also listens on that Unix-domain socket (the unix section's target).
 */
async function main(): Promise<void> {
  const { server, port } = await startTargetServer();
  const unixPath = process.argv[2];
  const unix = unixPath ? (await startTargetServer({ path: unixPath })).server : undefined;
  // One request at a time: measurements must not overlap.
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (m: RequestEnvelope) => {
    queue = queue.then(async () => {
      let envelope: ReplyEnvelope;
      try {
        const r = m.request;
        const reply = r.cmd === 'bulk' ? await bulk(r) : r.cmd === 'ping' ? await ping(r) : await slow(r);
        envelope = { id: m.id, reply };
      } catch (e) {
        envelope = { id: m.id, error: e instanceof Error ? e.message : String(e) };
      }
      process.send?.(envelope);
    });
  });
  // The parent went away: stop, whatever is in flight.
  process.once('disconnect', () => {
    server.close();
    unix?.close();
    process.exit(0);
  });
  process.send?.({ type: 'ready', port });
}

void main();
