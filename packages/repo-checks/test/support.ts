import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../../..');

export interface PackageJson {
  readonly name: string;
  readonly private?: boolean;
  readonly description?: string;
  readonly license?: string;
  readonly keywords?: readonly string[];
  readonly repository?: { readonly type?: string; readonly url?: string; readonly directory?: string };
  readonly homepage?: string;
  readonly bugs?: { readonly url?: string };
}

export interface WorkspacePackage {
  /** The folder under packages/. */
  readonly dir: string;
  readonly path: string;
  readonly json: PackageJson;
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function workspacePackages(): WorkspacePackage[] {
  const base = join(ROOT, 'packages');
  return readdirSync(base)
    .filter((dir) => existsSync(join(base, dir, 'package.json')))
    .map((dir) => ({ dir, path: join(base, dir), json: readJson<PackageJson>(join(base, dir, 'package.json')) }));
}

export function publicPackages(): WorkspacePackage[] {
  return workspacePackages().filter((p) => !p.json.private);
}

/** The files `npm pack` would put in the package's tarball (lifecycle scripts not run). */
export function packedFiles(pkg: WorkspacePackage): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: pkg.path,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const parsed = JSON.parse(out) as { files: { path: string }[] }[];
  return parsed[0].files.map((f) => f.path);
}
