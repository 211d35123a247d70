import { readOnlyFile, nullFile, staticDir, statusFile, Vfs, zeroFile } from './vfs';

/**
 * A synthetic tree with the files of diod's `ctl` export that its tools use: `zero` (reads
 * give zeros), `null` (writes are dropped), `version`, and `date`. diodload attaches to the
 * aname `ctl` and reads `zero` into `null`, so the same load runs against diod and us.
 */
export function ctlTree(version = '@flow/9p'): Vfs {
  return new Vfs(
    staticDir({
      zero: zeroFile(),
      null: nullFile(),
      version: readOnlyFile(`${version}\n`),
      date: statusFile(() => `${new Date().toISOString()}\n`),
    }),
  );
}
