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

let cached: Result<PtyModule, FlowError> | undefined;

/** Loads `node-pty` once, on the first PTY console. */
export function loadPtyModule(): Result<PtyModule, FlowError> {
  if (cached?.ok) return cached;
  cached = loadOptional('node-pty', 'the PTY console', isPtyModule);
  return cached;
}
