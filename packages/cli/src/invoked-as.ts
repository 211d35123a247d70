import { accessSync, constants, realpathSync } from 'node:fs';
import path from 'node:path';

/**
 * How to run this `flow` again from the user's shell, for the command lines we print: `flow` when
 * that name on PATH is this very program (an npm install), else `node <path to it>` (a clone,
 * where `flow` is on no PATH), with the absolute path, which works from any directory.
 */
export function invokedAs(script = process.argv[1], pathVariable = process.env.PATH ?? ''): string {
  if (!script) return 'flow';
  const self = realpathOrUndefined(script);
  for (const dir of pathVariable.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'flow');
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    if (self !== undefined && realpathOrUndefined(candidate) === self) return 'flow';
  }
  const shown = path.resolve(script);
  return `node ${/[^A-Za-z0-9_./@%+=:-]/.test(shown) ? `'${shown.replace(/'/g, `'\\''`)}'` : shown}`;
}

function realpathOrUndefined(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}
