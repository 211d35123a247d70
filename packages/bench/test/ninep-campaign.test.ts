import { runNinepCampaign } from '../src/ninep-campaign';

// A short run of the long 9P campaign (`pnpm run bench:9p-campaign`): valid, mutated and garbage
// frames over several connections in all three dialects; every frame is answered, no connection
// is cut, the server survives and stays within its memory budget.
test('the 9P campaign, shortened: every frame answered, no connection cut, the server within its budget', async () => {
  const budgetBytes = 16 * 1024 * 1024;
  const r = await runNinepCampaign({ frames: 20_000, connections: 4, framesPerConnection: 2_500, window: 16, budgetBytes, seed: 7 });
  expect(r.framesSent).toBe(20_000);
  expect(r.replies).toBe(r.framesSent + 2 * r.connectionsOpened);
  expect(r.connectionsCut).toBe(0);
  expect(r.mutated + r.garbage).toBeGreaterThan(0);
  expect(r.serverAlive).toBe(true);
  expect(r.server.peakBudget).toBeLessThanOrEqual(budgetBytes);
  expect(r.server.budgetInUse).toBe(0);
  // The runtime itself (V8, code, the export's node cache) comes on top of what the budget bounds.
  expect(r.serverRssPeak - r.serverRssBefore).toBeLessThan(budgetBytes + 128 * 1024 * 1024);
}, 120_000);
