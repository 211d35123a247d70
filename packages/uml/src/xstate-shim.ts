import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The C compiler that builds the shim (Debian's `cc` alternative: gcc or clang). */
export const CC = '/usr/bin/cc';

/** The shim's source: an LD_PRELOAD library for the UML kernel binary (see the file for why). */
export const XSTATE_SHIM_SOURCE = path.join(__dirname, '..', 'guest', 'xstate-shim.c');

/**
 * Compiles the shim into `dir` and returns the library's path. It is built per boot, in the
 * boot's private directory, so that no shared cache can go stale or race (it takes ~0.1 s).
 * Throws with the compiler's output when the build fails.
 */
export function buildXstateShim(dir: string): string {
  const out = path.join(dir, 'xstate-shim.so');
  try {
    execFileSync(CC, ['-O2', '-Wall', '-shared', '-fPIC', '-o', out, XSTATE_SHIM_SOURCE], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`building ${XSTATE_SHIM_SOURCE} with ${CC} failed: ${(e as Error).message}\n${stderr}`);
  }
  if (!fs.existsSync(out)) throw new Error(`${CC} did not produce ${out}`);
  return out;
}
