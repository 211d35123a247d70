// Compiles and runs small C programs against this machine's headers, as an independent check of
// what the addon and the TypeScript constants say. A missing compiler or missing Xen headers
// fail the test that needs them, with what to install.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** What to run when libxen-dev's headers are missing (the ABI check needs them; CI installs them). */
export const LIBXEN_DEV_HINT = 'apt-get install -y --no-install-recommends libxen-dev';

/** Compiles `source` with the system C compiler (cc, or $CC) and returns the program's stdout. */
export function runCProgram(source: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xen-console-c-'));
  try {
    const file = path.join(dir, 'check.c');
    const program = path.join(dir, 'check');
    fs.writeFileSync(file, source);
    const cc = process.env.CC ?? 'cc';
    try {
      execFileSync(cc, ['-std=gnu11', '-Wall', '-Werror', '-o', program, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === 'ENOENT') throw new Error(`no C compiler: "${cc}" is not on PATH; the header check needs one`);
      const stderr = e.stderr?.toString() ?? e.message;
      const missing = /fatal error: (xen\/[^:]+): No such file or directory/.exec(stderr);
      if (missing) {
        throw new Error(`the Xen headers are not installed (${missing[1]} is missing): run \`${LIBXEN_DEV_HINT}\``);
      }
      throw new Error(`${cc} failed to compile the check:\n${stderr}`);
    }
    return execFileSync(program, { encoding: 'utf8' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
