import { RingWatch } from '../src/xen-ring-watch';

describe('RingWatch', () => {
  test('a run that ends before the sampler thread has the page still gets its one look at the ring', async () => {
    // The sampler is told to stop right after it is given the page: it may receive both at once.
    for (let i = 0; i < 20; i++) {
      const watch = await RingWatch.start('out');
      watch.watch(new SharedArrayBuffer(4096));
      const counts = await watch.stop();
      expect(counts.samples).toBeGreaterThanOrEqual(1);
      expect(counts.stalled).toBe(0); // nobody waited
    }
  });
});
