import type { Flow } from '@flow/core';
import type { LineEnding } from './line-ending';

/** Which backend a console runs on. */
export type ConsoleBackend = 'stdio' | 'pty' | 'serial' | 'memory';

/**
 * The Mirage console signature: a flow plus `log` and `disconnect`.
 *
 * After `close()` or `disconnect()`, later reads return EOF and later writes return `closed`;
 * `log` drops its line silently.
 */
export interface Console extends Flow {
  /** Which backend this console runs on: narrow an `AnyConsole` on it to reach its own members. */
  readonly backend: ConsoleBackend;
  /** What `log` appends to each line. */
  readonly lineEnding: LineEnding;
  /** True once `disconnect()` was called. */
  readonly disconnected: boolean;
  /**
   * Writes `line` (UTF-8) followed by the line ending. Resolves once the bytes were accepted, or
   * at once when the console is closing, closed, shut down for writing or disconnected: then
   * the line is dropped silently. Never rejects.
   */
  log(line: string): Promise<void>;
  /**
   * Releases everything now: pending reads resolve with EOF, writes not yet accepted are
   * dropped, the backend's resources (raw mode, child process, device) are given back.
   * Resolves once they are; idempotent; never rejects.
   */
  disconnect(): Promise<void>;
}
