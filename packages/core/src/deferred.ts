/** A promise with its resolver, for the places where the settling event is not a callback. */
export interface Deferred<T> {
  /** Settles when `resolve` is first called; never rejects. */
  readonly promise: Promise<T>;
  /** Resolves `promise` with `value`; calls after the first are ignored. */
  readonly resolve: (value: T) => void;
  /** Whether `resolve` has been called. */
  readonly settled: boolean;
}

/** A new unsettled {@link Deferred}. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let settled = false;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return {
    promise,
    resolve: (value: T) => {
      if (settled) return;
      settled = true;
      resolve(value);
    },
    get settled() {
      return settled;
    },
  };
}

/**
 * Resolves with `onAbort()` when `signal` aborts and with `promise`'s value otherwise, removing
 * its listener either way so that long-lived signals do not collect listeners.
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined, onAbort: () => T): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.resolve(onAbort());
  return new Promise<T>((resolve, reject) => {
    const listener = (): void => resolve(onAbort());
    signal.addEventListener('abort', listener, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', listener);
        resolve(value);
      },
      (error: unknown) => {
        // The library's own promises never reject (results are values); a caller's promise may,
        // and must not leave the race pending forever.
        signal.removeEventListener('abort', listener);
        reject(error);
      },
    );
  });
}

/** Resolves with `onTimeout()` after `ms`, or with `promise`'s value if that comes first. */
export function raceTimeout<T>(promise: Promise<T>, ms: number | undefined, onTimeout: () => T): Promise<T> {
  if (ms === undefined || !Number.isFinite(ms)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => resolve(onTimeout()), Math.max(0, ms));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Resolves after `ms` milliseconds (a plain timer: not cancellable, keeps the process alive). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
