/**
 * A mistake in how the command was called (a bad URI, option or argument). It is reported as
 * one message plus a correct example and exits with status 2, never with a stack trace.
 */
export class UsageError extends Error {
  /** Always `'UsageError'`. */
  override readonly name = 'UsageError';

  constructor(
    message: string,
    /** A correct invocation or value to show after the message. */
    readonly example?: string,
    /** The command whose `--help` explains more, e.g. `proxy` or `9p get`. */
    readonly command?: string,
  ) {
    super(message);
  }
}

/** True if `value` is an instance of `UsageError`; narrows its type. */
export function isUsageError(value: unknown): value is UsageError {
  return value instanceof UsageError;
}
