import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowError, Result } from '@flow/core';

/** The value of a result, failing the test (with the error's message) if it is an error. */
export function value<T>(r: Result<T, FlowError>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.kind}: ${r.error.message}`);
  return r.value;
}

/** The error of a result, failing the test if it succeeded. */
export function failure<T>(r: Result<T, FlowError>): FlowError {
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix = 'xs-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Waits (polling the event loop, not the clock) until `condition` holds. */
export async function until(condition: () => boolean, what = 'condition', rounds = 10_000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`gave up waiting for ${what}`);
}
