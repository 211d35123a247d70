/** Lets pending I/O callbacks, timers and promise jobs run for `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Yields to the event loop once (lets I/O callbacks run, unlike a resolved promise). */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Records whether a promise has settled, so a check can assert that it has not (yet). */
export function track<T>(promise: Promise<T>): { readonly promise: Promise<T>; settled(): boolean; count(): number } {
  let settlements = 0;
  promise.then(
    () => {
      settlements += 1;
    },
    () => {
      settlements += 1;
    },
  );
  return { promise, settled: () => settlements > 0, count: () => settlements };
}

/**
 * Waits until `condition` holds or `deadlineMs` passed; returns whether it held. Used only to
 * wait for asynchronous releases (handle close callbacks), never to assert on speed.
 */
export async function waitUntil(condition: () => boolean, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (condition()) return true;
    if (Date.now() >= end) return false;
    await sleep(10);
  }
}
