import { SLOW_READ_WINDOW, SLOW_SYNC_READ_MS, SyncReadGuard } from '../src/fs/sync-read-guard';

/** A guard on a clock the test moves by hand. */
function guarded(maxBytes: number): { guard: SyncReadGuard; clock: { t: number } } {
  const clock = { t: 1000 };
  return { guard: new SyncReadGuard(maxBytes, () => clock.t), clock };
}

/** One synchronous read that takes `ms` on the test's clock. */
function read(guard: SyncReadGuard, clock: { t: number }, ms: number): void {
  const started = guard.start();
  clock.t += ms;
  guard.done(started);
}

test('reads up to maxBytes may run synchronously, larger ones never, and 0 turns it off', () => {
  const { guard } = guarded(65536);
  expect(guard.allows(65536)).toBe(true);
  expect(guard.allows(65537)).toBe(false);
  expect(guarded(0).guard.allows(1)).toBe(false);
});

test('fast reads keep the synchronous path', () => {
  const { guard, clock } = guarded(65536);
  for (let i = 0; i < 1000; i++) read(guard, clock, 0.01);
  expect(guard.paused).toBe(false);
  expect(guard.allows(8192)).toBe(true);
});

test('a lone slow read among fast ones (the scheduler, not the disk) keeps the synchronous path', () => {
  const { guard, clock } = guarded(65536);
  for (let round = 0; round < 5; round++) {
    read(guard, clock, SLOW_SYNC_READ_MS + 10);
    expect(guard.paused).toBe(false);
    for (let i = 0; i < SLOW_READ_WINDOW; i++) read(guard, clock, 0.01);
  }
  expect(guard.allows(8192)).toBe(true);
});

test('a second slow read within the window sends reads to the thread pool for a pause that doubles while slow reads go on, and is forgiven after a quiet spell', () => {
  const { guard, clock } = guarded(65536);
  read(guard, clock, SLOW_SYNC_READ_MS + 1);
  for (let i = 0; i < SLOW_READ_WINDOW - 2; i++) read(guard, clock, 0.01);
  expect(guard.allows(8192)).toBe(true);
  read(guard, clock, SLOW_SYNC_READ_MS + 1);
  expect(guard.allows(8192)).toBe(false);
  clock.t += 999;
  expect(guard.allows(8192)).toBe(false);
  clock.t += 1;
  expect(guard.allows(8192)).toBe(true);
  // Slow again at once (the disk still misses): twice as long this time.
  read(guard, clock, SLOW_SYNC_READ_MS + 1);
  clock.t += 1999;
  expect(guard.allows(8192)).toBe(false);
  clock.t += 1;
  expect(guard.allows(8192)).toBe(true);
  // Fast reads for as long again as the last pause: back to the first, short pause.
  clock.t += 4000;
  read(guard, clock, 0.01);
  read(guard, clock, SLOW_SYNC_READ_MS + 1);
  clock.t += 1000;
  expect(guard.allows(8192)).toBe(true);
});
