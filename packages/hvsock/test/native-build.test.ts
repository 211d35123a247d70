// How the addon is built: binding.gyp's choice of source per system (checked with gyp's own
// condition processing), a binary that needs nothing beyond libc and Node, and the build and
// install scripts' behaviour without build tools (they succeed and say why).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findNodeGyp } from '@flow/native-support/build';
import { locateVsockAddon, packageRoot } from '../src/native/locate';

let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-build-'));
});
afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A directory whose only program is node: a machine without python3, make or cc. */
function nodeOnlyPath(): string {
  const bin = path.join(scratch, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  return bin;
}

/** The package's build inputs copied to `dir`, with its dependencies (the scripts' steps are @flow/native-support's). */
function copyPackage(dir: string, extra: readonly string[] = []): void {
  for (const entry of ['package.json', 'binding.gyp', 'native', 'scripts', ...extra]) {
    fs.cpSync(path.join(packageRoot, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(packageRoot, 'node_modules'), path.join(dir, 'node_modules'));
}

test('binding.gyp compiles vsock.c on Linux, hvsock_win.c on Windows and the stub elsewhere (gyp\'s own conditions)', () => {
  const nodeGyp = findNodeGyp(packageRoot);
  if (!nodeGyp) throw new Error('node-gyp not found');
  const pylib = path.join(path.dirname(nodeGyp), '..', 'gyp', 'pylib');
  const program = `
import ast, json, sys
sys.path.insert(0, ${JSON.stringify(pylib)})
import gyp.input
out = {}
for system in ('linux', 'win', 'mac', 'freebsd'):
    target = ast.literal_eval(open(${JSON.stringify(path.join(packageRoot, 'binding.gyp'))}).read())['targets'][0]
    for phase in (gyp.input.PHASE_EARLY, gyp.input.PHASE_LATE):
        gyp.input.ProcessConditionsInDict(target, phase, {'OS': system}, 'binding.gyp')
    out[system] = target.get('sources')
print(json.dumps(out))`;
  expect(JSON.parse(execFileSync('python3', ['-c', program], { encoding: 'utf8' }))).toEqual({
    linux: ['native/vsock.c'],
    win: ['native/hvsock_win.c'],
    mac: ['native/unsupported.c'],
    freebsd: ['native/unsupported.c'],
  });
});

test('the stub built on other systems compiles with Node\'s headers alone (no Linux header)', () => {
  const include = path.join(path.dirname(process.execPath), '..', 'include', 'node');
  const cc = process.env.CC ?? 'cc';
  const run = spawnSync(cc, ['-fsyntax-only', '-Wall', '-Werror', '-DNAPI_VERSION=8', `-I${include}`, '-I/usr/include/node', path.join(packageRoot, 'native', 'unsupported.c')], {
    encoding: 'utf8',
  });
  expect({ status: run.status, stderr: run.stderr, error: run.error?.message }).toEqual({ status: 0, stderr: '', error: undefined });
});

test('the addon needs only libc (glibc <= 2.28, as Node 20 itself) and takes everything else from Node (napi_*, uv_*)', () => {
  const located = locateVsockAddon();
  if (!located.ok) throw located.error;
  const file = located.value.path;
  const needed = [...execFileSync('readelf', ['-d', file], { encoding: 'utf8' }).matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1]);
  expect(needed).toEqual(['libc.so.6']);
  const undefinedSymbols = execFileSync('nm', ['-D', '--undefined-only', file], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[0] === 'U')
    .map((fields) => fields[1]);
  expect(undefinedSymbols.filter((symbol) => !/^(napi_|uv_)|@GLIBC_/.test(symbol))).toEqual([]);
  const glibc = undefinedSymbols
    .map((symbol) => /@GLIBC_(\d+)\.(\d+)/.exec(symbol))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]) * 1000 + Number(match[2]));
  expect(glibc.length).toBeGreaterThan(0);
  const newest = Math.max(...glibc);
  expect(newest).toBeLessThanOrEqual(2 * 1000 + 28);
});

test('build-native.js without python3, make or cc: exits 0, says why, and leaves no stale addon behind', () => {
  copyPackage(scratch);
  fs.mkdirSync(path.join(scratch, 'build', 'Release'), { recursive: true });
  fs.writeFileSync(path.join(scratch, 'build', 'Release', 'hvsock.node'), 'stale');
  fs.mkdirSync(path.join(scratch, 'prebuilds', 'linux-x64'), { recursive: true });
  fs.writeFileSync(path.join(scratch, 'prebuilds', 'linux-x64', '@flow+hvsock.glibc.node'), 'left by an old pack');
  const run = spawnSync('node', [path.join(scratch, 'scripts', 'build-native.js')], { env: { PATH: nodeOnlyPath() }, encoding: 'utf8' });
  expect(run.status).toBe(0);
  expect(run.stderr).toContain('@flow/hvsock: warning: the AF_VSOCK addon was not built: python3, make, a C compiler (cc) not found');
  expect(fs.readdirSync(path.join(scratch, 'build'))).toEqual(['native-build-failure.txt']);
  expect(fs.readFileSync(path.join(scratch, 'build', 'native-build-failure.txt'), 'utf8')).toBe('python3, make, a C compiler (cc) not found\n');
  expect(fs.existsSync(path.join(scratch, 'prebuilds'))).toBe(false);
  // And the loader quotes it.
  const located = locateVsockAddon(scratch);
  expect(!located.ok && located.error.message).toContain('no source build (python3, make, a C compiler (cc) not found)');
});

test('install.js in the source tree (pnpm install of the workspace) does nothing: the build script builds the addon', () => {
  copyPackage(scratch, ['tsconfig.json']);
  const run = spawnSync('node', [path.join(scratch, 'scripts', 'install.js')], { env: { PATH: nodeOnlyPath() }, encoding: 'utf8' });
  expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  expect(fs.existsSync(path.join(scratch, 'build'))).toBe(false);
});
