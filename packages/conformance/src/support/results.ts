import { EOF, formatError, type FlowError, type FlowErrorKind, type Result } from '@flow/core';

/** Unwraps an ok result; a failure fails the test with the error's readable form. */
export function expectOk<T>(result: Result<T, FlowError>, what: string): T {
  if (!result.ok) throw new Error(`${what} failed: ${formatError(result.error)}`);
  return result.value;
}

/** Unwraps a failed result, checking its kind is one of `kinds`. */
export function expectErr<T>(result: Result<T, FlowError>, what: string, kinds: readonly FlowErrorKind[]): FlowError {
  if (result.ok) {
    const shown = result.value === EOF ? 'EOF' : String(result.value);
    throw new Error(`${what}: expected an error of kind ${kinds.join(' or ')}, got ok (${shown})`);
  }
  if (!kinds.includes(result.error.kind)) {
    throw new Error(`${what}: expected an error of kind ${kinds.join(' or ')}, got ${formatError(result.error)}`);
  }
  return result.error;
}

/** Checks that a read result is EOF. */
export function expectEOF(result: Result<Uint8Array | number | typeof EOF, FlowError>, what: string): void {
  const value = expectOk(result, what);
  if (value !== EOF) {
    const size = typeof value === 'number' ? value : value.length;
    throw new Error(`${what}: expected EOF, got ${size} bytes`);
  }
}
