/**
 * The exit statuses of every `flow` command, so that scripts can tell how a run ended.
 * Documented in the README; keep the two in step.
 */
export const ExitCode = {
  /** Finished cleanly: every direction reached end of stream, or a graceful stop. */
  ok: 0,
  /** The transfer failed after it started (reset, I/O error, protocol error). */
  failed: 1,
  /** Bad command line: unknown command or option, bad URI or value. */
  usage: 2,
  /** Could not connect or listen (refused, unreachable, address in use, not found). */
  unavailable: 3,
  /** Nothing moved in either direction for the idle timeout. */
  idle: 4,
  /** Stopped by SIGINT (128 + 2), as shells report it. */
  interrupted: 130,
  /** Stopped by SIGTERM (128 + 15). */
  terminated: 143,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
