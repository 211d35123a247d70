import { ConnectionPool, exportDirectory, MemoryBudget, serve9p } from '@flow/9p';
import { listen } from '@flow/tcp';

/** How the campaign configures the server: `ninep-campaign-server.js <export dir> <JSON of this>`. */
export interface CampaignServerConfig {
  readonly budgetBytes: number;
  readonly maxConnections: number;
}

/**
 * Child process serving the 9P fuzz campaign: a writable host export with the server-wide
 * limits `flow 9p serve` uses (a shared memory budget and connection pool), one `serve9p` per
 * connection. Reports, when asked over IPC, how the sessions ended and what the budget holds.
 */
async function main(): Promise<void> {
  const [root, json] = process.argv.slice(2);
  if (!root || !json) throw new RangeError('usage: ninep-campaign-server.js <export dir> <config JSON>');
  const config = JSON.parse(json) as CampaignServerConfig;
  process.once('disconnect', () => process.exit(0));
  const memory = new MemoryBudget({ bytes: config.budgetBytes });
  const pool = new ConnectionPool({ maxConnections: config.maxConnections });
  const fs = exportDirectory(root);
  const outcomes: Record<string, number> = {};
  let peakBudget = 0;
  const l = await listen('tcp://127.0.0.1:0', { noDelay: true });
  if (!l.ok) throw new Error(`listen failed: ${l.error.message}`);
  const address = l.value.address;
  process.on('message', (m: { id: number }) => {
    process.send?.({ id: m.id, reply: { outcomes, budgetInUse: memory.inUse, peakBudget, evictions: pool.evictions, refusals: pool.refusals } });
  });
  setInterval(() => (peakBudget = Math.max(peakBudget, memory.inUse)), 50).unref();
  process.send?.({ type: 'ready', port: address.port, implementation: 'serve9p, shared MemoryBudget and ConnectionPool' });
  for await (const flow of l.value) {
    void serve9p(flow, fs, { memory, pool }).then((s) => {
      const key = s.error ? `${s.outcome}:${s.error.kind}` : s.outcome;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
