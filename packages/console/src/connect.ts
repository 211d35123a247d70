import type { FlowError, Result } from '@flow/core';
import { parseConsoleName } from './console-name';
import type { LineEnding } from './line-ending';
import { consolePair, type MemoryConsole, type MemoryConsoleOptions } from './memory';
import { connectPty, type PtyConsole, type PtyOptions } from './pty';
import { connectSerial, type SerialConsole, type SerialOptions } from './serial';
import { connectStdio, type StdioConsole, type StdioOptions } from './stdio';

/** Any console `connect` can return; narrow it on `backend`. */
export type AnyConsole = StdioConsole | PtyConsole | SerialConsole | MemoryConsole;

/** Defaults for each backend; parameters in the name override them. */
export interface ConnectOptions {
  /** What `log` appends, for every backend (each has its own default otherwise). */
  readonly lineEnding?: LineEnding;
  /** Options for a `stdio` name; the name's own parameters take precedence over them. */
  readonly stdio?: StdioOptions;
  /** Options for a `pty:` name (such as `env` or `module`); the name's parameters take precedence. */
  readonly pty?: PtyOptions;
  /** Options for a `serial:` name (such as `binding` or `lock`); the name's parameters take precedence. */
  readonly serial?: SerialOptions;
  /**
   * Options for a `memory` name; the name's parameters take precedence. `connect` returns the
   * first end of the pair; the other is its `peer`.
   */
  readonly memory?: MemoryConsoleOptions;
}

/**
 * Opens the console `name` names (the seeds' `connect`):
 * - `stdio[?raw=false&lineEnding=crlf&shutdown=keep-open]`: the process's stdin/stdout;
 * - `pty:<command>[?arg=<a>&arg=<b>&cols=80&rows=24&cwd=<dir>&term=xterm&eof=none]`;
 * - `serial:<device>[?baud=115200&dataBits=8&parity=none&stopBits=1&rtscts=false&xon=false&xoff=false]`;
 * - `memory[?capacity=65536]`: one end of an in-memory pair; the other is its `peer`.
 *
 * A malformed name is an `invalid` error naming the wrong part, with a correct example.
 */
export async function connect(name: string, options: ConnectOptions = {}): Promise<Result<AnyConsole, FlowError>> {
  const spec = parseConsoleName(name);
  if (!spec.ok) return spec;
  const le = options.lineEnding !== undefined ? { lineEnding: options.lineEnding } : {};
  const s = spec.value;
  switch (s.backend) {
    case 'stdio':
      return connectStdio({ ...le, ...options.stdio, ...s.options });
    case 'pty':
      return connectPty(s.command, { ...le, ...options.pty, ...s.options });
    case 'serial':
      return connectSerial(s.path, { ...le, ...options.serial, ...s.options });
    case 'memory': {
      const [a] = consolePair({ ...le, ...options.memory, ...s.options });
      return { ok: true, value: a };
    }
  }
}
