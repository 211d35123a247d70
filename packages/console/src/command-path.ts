import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { FlowError, err, ok, type Result } from '@flow/core';

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the program to run, as execvp would, so that a missing command is a `not-found` error
 * before anything is spawned (under a PTY, a failed exec would only show up as output).
 */
export function resolveCommand(command: string, pathVariable: string | undefined, cwd: string): Result<string, FlowError> {
  if (command.includes('/')) {
    const full = isAbsolute(command) ? command : resolve(cwd, command);
    if (isExecutableFile(full)) return ok(full);
    return err(new FlowError('not-found', `no executable file at ${full}`, { code: 'ENOENT' }));
  }
  for (const dir of (pathVariable ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    if (isExecutableFile(candidate)) return ok(candidate);
  }
  return err(new FlowError('not-found', `command "${command}" was not found in PATH`, { code: 'ENOENT' }));
}
