// Builds an addon from source with node-gyp, never downloading anything: node-gyp is taken from
// the package manager running us (or npm's own copy) and is pointed at Node's C headers on this
// machine. Used by the workspace build, the install step (users' installs) and the prebuild.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUILD_FAILURE_NOTE } from '../addon-location';

const isWindows = process.platform === 'win32';

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first of `names` found as an executable on PATH, or undefined. */
function onPath(...names: string[]): string | undefined {
  const dirs = (process.env.PATH || '').split(path.delimiter).filter(Boolean);
  const exts = isWindows ? (process.env.PATHEXT || '.EXE;.CMD;.BAT').split(';') : [''];
  for (const name of names) {
    if (path.isAbsolute(name)) {
      if (isFile(name)) return name;
      continue;
    }
    for (const dir of dirs) {
      for (const ext of exts) {
        const candidate = path.join(dir, name + ext);
        try {
          fs.accessSync(candidate, fs.constants.X_OK);
          if (isFile(candidate)) return candidate;
        } catch {
          // not here
        }
      }
    }
  }
  return undefined;
}

/**
 * node-gyp's entry script: the package manager's copy, a node-gyp package installed beside the
 * package at `packageRoot`, or npm's bundled one; undefined when there is none.
 */
export function findNodeGyp(packageRoot: string): string | undefined {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [packageRoot] }));
  } catch {
    // not installed as a package
  }
  const execpath = process.env.npm_execpath;
  if (execpath) {
    // npm: <npm>/bin/npm-cli.js; pnpm: <pnpm>/bin/pnpm.cjs with its copy in <pnpm>/dist.
    candidates.push(path.join(path.dirname(execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    candidates.push(path.join(path.dirname(execpath), '..', 'dist', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  const nodeDir = path.dirname(process.execPath);
  candidates.push(path.join(nodeDir, '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(path.join(nodeDir, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((file): file is string => file !== undefined && file !== '' && isFile(file));
}

function hasHeaders(dir: string): boolean {
  return isFile(path.join(dir, 'include', 'node', 'node_api.h'));
}

/** node-gyp's header cache, which it uses without downloading when this version is there. */
function nodeGypDevDir(): string {
  if (process.env.npm_config_devdir) return process.env.npm_config_devdir;
  if (isWindows && process.env.LOCALAPPDATA) return path.join(process.env.LOCALAPPDATA, 'node-gyp', 'Cache');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Caches', 'node-gyp');
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'node-gyp');
}

/** Where node-gyp finds Node's C headers: a Node install prefix, or undefined for node-gyp's own cache. */
export interface NodeHeaders {
  /** The prefix holding include/node/node_api.h; undefined when node-gyp's cache has them. */
  readonly nodedir: string | undefined;
}

/**
 * Where node-gyp finds Node's C headers on this machine: `{ nodedir }` (from the environment,
 * Node's own prefix, or /usr as on Debian), `{ nodedir: undefined }` when node-gyp's cache has
 * them, or undefined when there are none (node-gyp would download them: we never let it).
 */
export function localNodeHeaders(): NodeHeaders | undefined {
  const fromEnv = process.env.npm_config_nodedir;
  if (fromEnv && hasHeaders(fromEnv)) return { nodedir: fromEnv };
  const prefixes = [path.resolve(path.dirname(process.execPath), '..'), '/usr', '/usr/local'];
  const local = prefixes.find(hasHeaders);
  if (local) return { nodedir: local };
  if (hasHeaders(path.join(nodeGypDevDir(), process.versions.node))) return { nodedir: undefined };
  return undefined;
}

/**
 * The environment for node-gyp with those headers. It must carry nodedir itself: node-gyp lets
 * npm_config_* variables override its command line, so a stale one would win over a flag.
 */
export function nodeGypEnvironment(headers: NodeHeaders): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...linkEnvironment() };
  if (headers.nodedir) env.npm_config_nodedir = headers.nodedir;
  else delete env.npm_config_nodedir;
  return env;
}

/** What a Unix source build lacks (python3, make, a C compiler), as words for a message. */
function missingUnixTools(): string[] {
  if (isWindows) return [];
  const missing: string[] = [];
  const python = [process.env.npm_config_python, process.env.PYTHON].filter((p): p is string => Boolean(p));
  if (!onPath(...python, 'python3', 'python')) missing.push('python3');
  if (!onPath('make')) missing.push('make');
  const cc = process.env.CC ? process.env.CC.split(/\s+/)[0] : undefined;
  if (!onPath(...(cc ? [cc] : ['cc', 'gcc', 'clang']))) missing.push('a C compiler (cc)');
  return missing;
}

/** The compiler that links: gyp's Makefiles link with $(CXX) by default, needless for plain C. */
function linkEnvironment(): NodeJS.ProcessEnv {
  if (isWindows || process.platform === 'darwin' || process.env.LINK) return {};
  const cc = process.env.CC || onPath('cc', 'gcc', 'clang');
  return cc ? { LINK: cc } : {};
}

/** The last lines of node-gyp's output that say what went wrong. */
function failureSummary(output: string): string {
  const lines = output.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
  const errors = lines.filter((line) => /error|not found|No such file/i.test(line) && !/^gyp ERR! (cwd|node -v|node-gyp -v|command|System)/.test(line));
  const chosen = errors.length > 0 ? errors.slice(0, 3) : lines.slice(-2);
  return chosen.join(' | ').slice(0, 600) || 'node-gyp failed without output';
}

/** Replaces whatever build/ held (a stale addon must not outlive a failed build) by the reason. */
function writeFailureNote(packageRoot: string, reason: string): void {
  const note = path.join(packageRoot, BUILD_FAILURE_NOTE);
  try {
    fs.rmSync(path.dirname(note), { recursive: true, force: true });
    fs.mkdirSync(path.dirname(note), { recursive: true });
    fs.writeFileSync(note, `${reason}\n`);
  } catch {
    // read-only install: the loader then gives its default reason
  }
}

/** How a source build went: how long and its compiler warnings, or why it failed and node-gyp's output. */
export type SourceBuild =
  | {
      /** The addon was built into build/Release. */
      readonly ok: true;
      /** How long node-gyp took. */
      readonly seconds: number;
      /** The compiler's warnings, to be shown. */
      readonly warnings: readonly string[];
    }
  | {
      /** No addon was built; the reason is also noted in build/ for the loader. */
      readonly ok: false;
      /** One line: what was missing or what the compiler said. */
      readonly reason: string;
      /** node-gyp's whole output, when it ran. */
      readonly output: string;
    };

/**
 * `node-gyp rebuild` in `packageRoot`, into build/Release, offline. A failure is also noted in
 * {@link BUILD_FAILURE_NOTE} for the loader's error message.
 */
export function buildFromSource(packageRoot: string): SourceBuild {
  const started = process.hrtime.bigint();
  const fail = (reason: string, output = ''): SourceBuild => {
    writeFailureNote(packageRoot, reason);
    return { ok: false, reason, output };
  };
  const missing = missingUnixTools();
  if (missing.length > 0) return fail(`${missing.join(', ')} not found`);
  const nodeGyp = findNodeGyp(packageRoot);
  if (!nodeGyp) return fail('node-gyp not found (neither the package manager nor npm provides it)');
  const headers = localNodeHeaders();
  if (!headers) {
    return fail(`Node ${process.version}'s C headers are not on this machine (set npm_config_nodedir to a Node install prefix)`);
  }
  const result = spawnSync(process.execPath, [nodeGyp, 'rebuild'], {
    cwd: packageRoot,
    env: nodeGypEnvironment(headers),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  const output = `${result.stdout || ''}\n${result.stderr || ''}`;
  if (result.error) return fail(`node-gyp did not run: ${result.error.message}`);
  if (result.status !== 0) return fail(failureSummary(output), output);
  const warnings = output.split(/\r?\n/).filter((line) => /warning/i.test(line) && !/^gyp (info|WARN)/.test(line));
  return { ok: true, seconds: Number(process.hrtime.bigint() - started) / 1e9, warnings };
}
