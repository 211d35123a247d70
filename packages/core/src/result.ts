/**
 * Results: every I/O operation of a flow resolves to a value, never a rejection.
 * Errors are data (`{ ok: false, error }`), as in mirage's `('a, 'e) result`.
 */
/** A successful result carrying `value`. */
export interface Ok<T> {
  /** Always `true`: tells an `Ok` from an `Err`. */
  readonly ok: true;
  /** What the operation produced. */
  readonly value: T;
}

/** A failed result carrying `error` (for flows, a `FlowError`). */
export interface Err<E> {
  /** Always `false`: tells an `Err` from an `Ok`. */
  readonly ok: false;
  /** Why the operation failed. */
  readonly error: E;
}

/** The outcome of an operation that can fail: test `ok`, then read `value` or `error`. */
export type Result<T, E> = Ok<T> | Err<E>;

/** Wraps `value` as a successful result. */
export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

/** Wraps `error` as a failed result. */
export function err<E>(error: E): Err<E> {
  return { ok: false, error };
}

/** The shared success value of operations that return nothing. */
export const OK: Ok<void> = Object.freeze({ ok: true, value: undefined }) as Ok<void>;

/**
 * The value of an `ok` result; throws the error of an `err` one. For code that prefers
 * exceptions: `const chunk = unwrap(await flow.read())`.
 */
export function unwrap<T, E>(result: Result<T, E>): T {
  if (result.ok) return result.value;
  throw result.error;
}
