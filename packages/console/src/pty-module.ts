import type { FlowError, Result } from '@flow/core';
import { loadOptional } from './optional-module';

/** The part of a spawned node-pty terminal this package uses. */
export interface PtyProcess {
  /** Process id of the spawned program. */
  readonly pid: number;
  /** Current width of the terminal in columns. */
  readonly cols: number;
  /** Current height of the terminal in rows. */
  readonly rows: number;
  /**
   * Calls `listener` with each piece of output the program writes to the terminal: bytes when
   * spawned with `encoding: null`, else strings.
   */
  onData(listener: (data: string | Uint8Array) => void): {
    /** Stops calling the listener. */
    dispose(): void;
  };
  /**
   * Calls `listener` once the program exited, with its exit code and the number of the signal
   * that killed it, if one did.
   */
  onExit(listener: (e: { exitCode: number; signal?: number }) => void): {
    /** Stops calling the listener. */
    dispose(): void;
  };
  /** Sets the terminal's size; the program gets SIGWINCH. */
  resize(columns: number, rows: number): void;
  /** Queues `data` as the terminal's input, as if typed; reports nothing back. */
  write(data: string | Buffer): void;
  /** Sends `signal` (a name such as `SIGTERM`) to the program. */
  kill(signal?: string): void;
  /** Stops reading the program's output until `resume`; the program blocks once the terminal buffer is full. */
  pause(): void;
  /** Reads the program's output again after `pause`. */
  resume(): void;
}

/** What `PtyModule.spawn` is called with, as node-pty defines it. */
export interface PtySpawnOptions {
  /** `TERM` for the program. */
  name?: string;
  /** Initial width of the terminal in columns. */
  cols?: number;
  /** Initial height of the terminal in rows. */
  rows?: number;
  /** The program's working directory. */
  cwd?: string;
  /** The program's environment. */
  env?: { [key: string]: string | undefined };
  /** `null` to receive output as bytes, which is what this package always passes. */
  encoding?: string | null;
}

/** What `node-pty` (or a drop-in such as `@lydell/node-pty`) exports. */
export interface PtyModule {
  /**
   * Starts `file` with `args` under a new pseudo-terminal. May throw: `connectPty` returns that
   * as an `io` error.
   */
  spawn(file: string, args: string[], options: PtySpawnOptions): PtyProcess;
}

function isPtyModule(mod: unknown): mod is PtyModule {
  return typeof mod === 'object' && mod !== null && typeof (mod as { spawn?: unknown }).spawn === 'function';
}

/**
 * The modules tried, in order. `@lydell/node-pty` is node-pty with prebuilt binaries for the
 * common platforms (no compiler needed); `node-pty` itself still works where a user has it.
 */
export const PTY_MODULES = ['@lydell/node-pty', 'node-pty'] as const;

let cached: Result<PtyModule, FlowError> | undefined;

/**
 * The first of `names` that loads; when none does, the error of the first one (which says what
 * to install), unless a later one was present but failed to load (an addon built for another
 * Node): that error says more.
 */
export function loadFirstPtyModule(
  names: readonly string[],
  load: (name: string) => Result<PtyModule, FlowError> = (name) => loadOptional(name, 'the PTY console', isPtyModule),
): Result<PtyModule, FlowError> {
  let first: Result<PtyModule, FlowError> | undefined;
  let broken: Result<PtyModule, FlowError> | undefined;
  for (const name of names) {
    const r = load(name);
    if (r.ok) return r;
    first ??= r;
    if (r.error.code !== 'MODULE_NOT_FOUND') broken ??= r;
  }
  if (!first) throw new RangeError('loadFirstPtyModule needs at least one module name');
  return broken ?? first;
}

/** Loads the PTY module once, on the first PTY console. */
export function loadPtyModule(): Result<PtyModule, FlowError> {
  if (cached?.ok) return cached;
  cached = loadFirstPtyModule(PTY_MODULES);
  return cached;
}
