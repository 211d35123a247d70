// Compiles and runs small C programs against this machine's system headers, as an independent
// check of what the addon reports. A missing compiler fails the test that needs it, with the reason.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Compiles `source` with the system C compiler (cc, or $CC) and returns the program's stdout. */
export function runCProgram(source: string, args: readonly string[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-c-'));
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
      throw new Error(`${cc} failed to compile the check:\n${e.stderr?.toString() ?? e.message}`);
    }
    return execFileSync(program, args, { encoding: 'utf8' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
