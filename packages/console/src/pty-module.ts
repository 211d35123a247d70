import type { FlowError, Result } from '@flow/core';
import { loadOptional } from './optional-module';

/** The part of a spawned node-pty terminal this package uses. */
export interface PtyProcess {
  readonly pid: number;
  readonly cols: number;
  readonly rows: number;
  onData(listener: (data: string | Uint8Array) => void): { dispose(): void };
  onExit(listener: (e: { exitCode: number; signal?: number }) => void): { dispose(): void };
  resize(columns: number, rows: number): void;
  write(data: string | Buffer): void;
  kill(signal?: string): void;
  pause(): void;
  resume(): void;
}

export interface PtySpawnOptions {
  name?: string;
  cols?: number;
  rows?: number;
  cwd?: string;
  env?: { [key: string]: string | undefined };
  encoding?: string | null;
}

/** What `node-pty` (or a drop-in such as `@lydell/node-pty`) exports. */
export interface PtyModule {
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
