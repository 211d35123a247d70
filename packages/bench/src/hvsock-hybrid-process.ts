import { startHybridGuestEnd } from './hvsock-fake-vmm';
import { bulk, ping } from './load-clients';
import type { ReplyEnvelope, RequestEnvelope } from './protocol';

/**
 * Child process of the hybrid-vsock bench: `hvsock-hybrid-process.js <dir> <guest port>`. It holds
 * both ends, as the tcp bench's load process does: the guest end (the fake VMM's `v.sock` and the
 * plain `raw.sock`, see hvsock-fake-vmm.ts) and the clients (generator, ping-pong), which reach
 * it through the proxy under test or straight over `raw.sock`.
 */
async function main(): Promise<void> {
  const [dir, port] = process.argv.slice(2);
  const guestPort = Number(port);
  if (!dir) throw new RangeError('usage: hvsock-hybrid-process.js <dir> <guest port>');
  const guest = await startHybridGuestEnd(dir, guestPort);
  // One request at a time: measurements must not overlap.
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (m: RequestEnvelope) => {
    queue = queue.then(async () => {
      let envelope: ReplyEnvelope;
      try {
        const r = m.request;
        if (r.cmd === 'slow') throw new Error('the hybrid bench has no slow receivers');
        envelope = { id: m.id, reply: r.cmd === 'bulk' ? await bulk(r) : await ping(r) };
      } catch (e) {
        envelope = { id: m.id, error: e instanceof Error ? e.message : String(e) };
      }
      process.send?.(envelope);
    });
  });
  // The parent went away: stop, whatever is in flight.
  process.once('disconnect', () => {
    void guest.close();
    process.exit(0);
  });
  process.send?.({ type: 'ready', port: 0, implementation: `fake VMM on ${guest.vmmPath}, plain server on ${guest.rawPath}` });
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
