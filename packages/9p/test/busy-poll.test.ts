import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BusyPoll } from '@flow/core';
import { exportDirectory } from '../src';
import { runTool, startOurServer } from './support/diod';
import { tempDir } from './support/tmp';

// serve9p with a BusyPoll (what `flow 9p serve` passes by default): the session tells the
// poller of every request and every reply, and a real client reads through it byte-exact.
describe('serve9p with busy polling', () => {
  test('diodcat reads byte-exact, and every request after a reply is judged by the poller', async () => {
    const tmp = tempDir('flow-9p-busy-poll-');
    const exportDir = path.join(tmp.dir, 'export');
    fs.mkdirSync(exportDir);
    const big = crypto.randomBytes(8 * 1024 * 1024 + 5);
    fs.writeFileSync(path.join(exportDir, 'big.bin'), big);
    // A wide window (20 ms), so that on a loaded machine too every gap falls inside it.
    const busyPoll = new BusyPoll({ maxMicros: 20_000, startMicros: 20_000 });
    const server = await startOurServer(exportDirectory(exportDir), { busyPoll });
    try {
      const r = await runTool('diodcat', ['-s', `127.0.0.1:${server.port}`, '-a', exportDir, '-m', '8192', 'big.bin']);
      expect(r.code).toBe(0);
      expect(r.stdout.equals(big)).toBe(true);
    } finally {
      const [summary] = await server.stop();
      // diodcat keeps one request in flight: each request but the first (Tversion) follows a
      // reply, and the poller judged each one (hit, late, idle or slept through), on the fast paths
      // (Tread) and the general one alike.
      const stats = busyPoll.stats;
      expect(summary!.requests).toBeGreaterThan(1024); // 8 MiB in reads of at most 8 KiB
      expect(stats.hits + stats.late + stats.idle + stats.slept).toBe(summary!.requests - 1);
      // The first short gap opened the window, and replies were polled through: each hit was a
      // request that came while a window was open. After the first epoch it tried sleeping and
      // measured both; which one it kept depends on what a wakeup costs on this machine, so that
      // is not asserted here.
      expect(stats.late).toBeGreaterThanOrEqual(1);
      expect(stats.windows).toBeGreaterThanOrEqual(1);
      expect(stats.windows).toBeGreaterThanOrEqual(stats.hits);
      expect(stats.trials).toBeGreaterThanOrEqual(1);
      expect(stats.polledTurnaroundMicros).toBeGreaterThan(0);
      expect(stats.sleptTurnaroundMicros).toBeGreaterThan(0);
      tmp.cleanup();
    }
  }, 60_000);
});
