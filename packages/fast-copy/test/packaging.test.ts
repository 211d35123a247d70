// The published package as a user gets it: `pnpm pack` (which runs prepack: prebuildify) and an
// `npm install` of the tarballs on a PATH that holds only node and npm (no cc, make or python3).
// With the prebuilt binary the addon loads from prebuilds/ and works; without it the install
// still succeeds and startCopy says exactly what is missing. npm may fetch node-gyp-build from
// the registry; nothing else leaves the machine.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../src/native/locate';

jest.setTimeout(180_000);

const tuple = `${process.platform}-${process.arch}`;
const coreRoot = path.join(packageRoot, '..', 'core');

let work: string;
let coreTarball: string;
let fastCopyTarball: string;
/** A directory holding only `node` and `npm`: the PATH of a user without build tools. */
let bareBin: string;

/** The first executable called `name` on this PATH. */
function which(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} is not on PATH`);
}

/** pnpm: the one running us (turbo under pnpm), else the one on PATH. */
function pnpmCommand(): [string, string[]] {
  const execpath = process.env.npm_execpath;
  if (execpath && /pnpm\.c?js$/.test(execpath)) return [process.execPath, [execpath]];
  return [which('pnpm'), []];
}

function pack(dir: string): string {
  const [command, prefix] = pnpmCommand();
  const before = new Set(fs.readdirSync(work));
  execFileSync(command, [...prefix, 'pack', '--pack-destination', work], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const made = fs.readdirSync(work).filter((f) => f.endsWith('.tgz') && !before.has(f));
  if (made.length !== 1) throw new Error(`pnpm pack in ${dir} made ${made.length} tarballs`);
  return path.join(work, made[0]);
}

/** What a user's shell would have: PATH with node and npm only, a home, and no npm_* from our runner. */
function userEnvironment(withBuildTools = false): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: bareBin, HOME: os.homedir(), TMPDIR: os.tmpdir(), LANG: 'C' };
  if (!withBuildTools) return env;
  // A nodedir without headers: the install script must find Node's headers itself, never download them.
  return { ...env, PATH: `${bareBin}${path.delimiter}${process.env.PATH ?? ''}`, npm_config_nodedir: path.join(work, 'no-headers-here') };
}

/** `npm install` of the tarballs in a fresh project directory (failing the test if npm fails); returns the directory and npm's output. */
function install(name: string, tarballs: readonly string[], withBuildTools = false): { dir: string; output: string } {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true }));
  // npm runs scripts with `sh` from PATH: name /bin/sh, so that PATH stays node and npm only.
  const flags = ['--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', '--script-shell=/bin/sh'];
  const run = spawnSync('npm', ['install', ...flags, ...tarballs], {
    cwd: dir,
    env: userEnvironment(withBuildTools),
    encoding: 'utf8',
  });
  const output = `${run.stdout}\n${run.stderr}${run.error ? `\n${run.error.message}` : ''}`;
  if (run.status !== 0) throw new Error(`npm install failed (status ${run.status}):\n${output}`);
  return { dir, output };
}

interface LoaderReport {
  readonly ok: boolean;
  readonly nativeBeforeUse: readonly string[];
  readonly location?: { path: string; origin: string };
  /** What an echo through the engine returned, in the consumer project. */
  readonly echoed?: string;
  readonly kind?: string;
  readonly message?: string;
}

/** In the consumer project: import the package, then echo a message through the engine over loopback TCP. */
function useLoader(dir: string): LoaderReport {
  const script = `
    const net = require('node:net');
    const { startCopy, lendSocket, fastCopyBindingLocation } = require('@flow/fast-copy');
    const nativeBeforeUse = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
      const lent = lendSocket(socket);
      const started = startCopy(lent.value.fd, lent.value.fd, {}, (result) => { socket.end(); server.close(); });
      if (!started.ok) {
        console.log(JSON.stringify({ ok: false, nativeBeforeUse, kind: started.error.kind, message: started.error.message }));
        socket.destroy();
        server.close();
      }
    });
    server.listen(0, '127.0.0.1', () => {
      const client = net.connect({ port: server.address().port, host: '127.0.0.1', allowHalfOpen: true });
      const chunks = [];
      client.on('data', (chunk) => chunks.push(chunk));
      client.on('end', () => {
        const echoed = Buffer.concat(chunks).toString();
        if (echoed) console.log(JSON.stringify({ ok: true, nativeBeforeUse, location: fastCopyBindingLocation(), echoed }));
        client.end();
      });
      client.on('error', () => {});
      client.end('through the engine');
    });`;
  const output = execFileSync('node', ['-e', script], { cwd: dir, env: userEnvironment(), encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(output.trim()) as LoaderReport;
}

function tarList(tarball: string): string[] {
  return execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'fast-copy-pack-'));
  bareBin = path.join(work, 'bin');
  fs.mkdirSync(bareBin);
  fs.symlinkSync(process.execPath, path.join(bareBin, 'node'));
  fs.symlinkSync(fs.realpathSync(which('npm')), path.join(bareBin, 'npm'));
  coreTarball = pack(coreRoot);
  fastCopyTarball = pack(packageRoot);
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the tarball holds the prebuilt binary, the sources for a rebuild and the install script, and no tests or build leftovers', () => {
  const files = tarList(fastCopyTarball);
  expect(files.filter((f) => f.startsWith(`package/prebuilds/${tuple}/`) && f.endsWith('.node'))).toHaveLength(1);
  expect(files).toEqual(
    expect.arrayContaining([
      'package/package.json',
      'package/binding.gyp',
      'package/native/fast_copy.c',
      'package/native/unsupported.c',
      'package/scripts/install.js',
      'package/scripts/offline-node-gyp.js',
      'package/dist/index.js',
      'package/dist/native/load.js',
    ]),
  );
  expect(files.filter((f) => /^package\/(test|build)\/|tsconfig|jest\.config|scripts\/(prebuild|build-native)\.js/.test(f))).toEqual([]);
  // src/ ships only as the TypeScript sources the source maps point to.
  expect(files.filter((f) => f.startsWith('package/src/') && !f.endsWith('.ts'))).toEqual([]);
  const manifest = JSON.parse(execFileSync('tar', ['xzOf', fastCopyTarball, 'package/package.json'], { encoding: 'utf8' })) as {
    dependencies: Record<string, string>;
  };
  // The workspace:^ range became the version of @flow/core, as npm needs it.
  expect(manifest.dependencies['@flow/core']).toMatch(/^\^?\d+\.\d+\.\d+/);
});

test('npm install with no compiler on PATH: the engine loads from prebuilds/ and copies bytes', () => {
  const { dir, output } = install('prebuilt', [coreTarball, fastCopyTarball]);
  expect(output).not.toContain('@flow/fast-copy: warning');
  expect(fs.existsSync(path.join(dir, 'node_modules', '@flow', 'fast-copy', 'build'))).toBe(false); // no source build tried
  const report = useLoader(dir);
  expect(report).toMatchObject({ ok: true, nativeBeforeUse: [], location: { origin: 'prebuild' } });
  expect(report.location?.path).toContain(path.join('node_modules', '@flow', 'fast-copy', 'prebuilds', tuple));
  expect(report.echoed).toBe('through the engine');
});

/** The tarball as it would be for a system with no prebuilt binary (e.g. linux-arm64). */
function tarballWithoutPrebuilds(): string {
  const bare = path.join(work, 'flow-fast-copy-without-prebuilds.tgz');
  if (fs.existsSync(bare)) return bare;
  const unpacked = path.join(work, 'repack');
  fs.mkdirSync(unpacked);
  execFileSync('tar', ['xzf', fastCopyTarball, '-C', unpacked]);
  fs.rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true, force: true });
  execFileSync('tar', ['czf', bare, '-C', unpacked, 'package']);
  expect(tarList(bare).some((f) => f.includes('prebuilds'))).toBe(false);
  return bare;
}

test('npm install of a tarball without prebuilds and no compiler: the install succeeds and the loader names what is missing', () => {
  const { dir, output } = install('no-prebuilt', [coreTarball, tarballWithoutPrebuilds()]);
  const reason = 'python3, make, a C compiler (cc) not found';
  expect(output).toContain(`@flow/fast-copy: warning: no prebuilt copy engine for ${tuple} and the source build failed (${reason})`);
  expect(useLoader(dir)).toEqual({
    ok: false,
    nativeBeforeUse: [],
    kind: 'unsupported',
    message:
      `the native part of @flow/fast-copy is missing: no prebuilt binary for ${tuple} (napi) and no source build (${reason}); ` +
      'reinstall with python3, make and a C compiler available',
  });
});

test('npm install of a tarball without prebuilds, with python3, make and cc: the install script builds the addon, offline', () => {
  const { dir, output } = install('source-build', [coreTarball, tarballWithoutPrebuilds()], true);
  expect(output).not.toContain('@flow/fast-copy: warning');
  const report = useLoader(dir);
  expect(report).toMatchObject({ ok: true, nativeBeforeUse: [], location: { origin: 'build' } });
  expect(report.location?.path).toBe(path.join(fs.realpathSync(dir), 'node_modules', '@flow', 'fast-copy', 'build', 'Release', 'fast_copy.node'));
  expect(report.echoed).toBe('through the engine');
});
