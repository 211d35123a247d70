/**
 * Results: every I/O operation of a flow resolves to a value, never a rejection.
 * Errors are data (`{ ok: false, error }`), as in mirage's `('a, 'e) result`.
 */
export interface Ok<T> {
  readonly ok: true;
  readonly value: T;
}

export interface Err<E> {
  readonly ok: false;
  readonly error: E;
}

export type Result<T, E> = Ok<T> | Err<E>;

export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

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
