import { formatProxyCampaign, runProxyCampaign } from '../src/proxy-campaign';

// Short runs of the long proxy campaign (`pnpm run bench:proxy-campaign`): clients beyond the
// proxy's 256 running connections, every echo hash-checked, through the `flow` command itself.

test('the proxy campaign, shortened: every connection hash-checked and ok, the proxy back at its descriptor baseline, stopped by one SIGTERM', async () => {
  const r = await runProxyCampaign({ connections: 600, concurrency: 300, bytes: 16 * 1024, killBackend: false, restartMs: 100 });
  expect(r.rounds).toBe(2);
  expect({ ok: r.ok, reset: r.reset, failed: r.failed }).toEqual({ ok: 600, reset: 0, failed: {} });
  expect(r.proxyAccepted).toBe(600);
  expect(r.proxyResetForRoom).toBe(0);
  expect(r.proxyFdsPeak).toBeGreaterThan(r.proxyFdsBaseline);
  expect(r.proxyFdsAfter).toBe(r.proxyFdsBaseline);
  expect(r.proxyRssPeak).toBeGreaterThan(0);
  expect(r.proxyExit).toBe('code 0');
  expect(formatProxyCampaign(r)).toMatch(/ok 600, reset 0, failed 0/);
}, 120_000);

test('the proxy campaign with its backend killed and restarted mid-round: every connection ends (none hangs), none is lost, no descriptor is left behind', async () => {
  const r = await runProxyCampaign({ connections: 600, concurrency: 300, bytes: 256 * 1024, killBackend: true, restartMs: 100 });
  expect(r.kills).toBe(2);
  expect(r.ok + r.reset + Object.values(r.failed).reduce((a, b) => a + b, 0)).toBe(600);
  // A kill mid-round cuts connections: those in flight are reset (or, where the dead backend's
  // socket had nothing unread, ended early by its FIN), those waiting cannot reach it.
  expect(r.ok).toBeLessThan(600);
  expect(r.failed.timeout).toBeUndefined();
  expect(r.failed.mismatch).toBeUndefined();
  expect(r.proxyAccepted).toBe(600);
  expect(r.proxyFdsAfter).toBe(r.proxyFdsBaseline);
  expect(r.proxyExit).toBe('code 0');
  expect(formatProxyCampaign(r)).toMatch(/backend killed by SIGKILL mid-round and restarted after 100 ms \(2 kills\)/);
}, 120_000);
