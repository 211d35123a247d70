// The lazy loader: nothing native is loaded when the package is imported; the addon is found as
// node-gyp-build finds it (build/Release, then prebuilds/); and when it cannot be had, the error
// is a typed 'unsupported' FlowError that says exactly why.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadBindingAt, loadVsockBinding, vsockBindingLocation } from '../src/native/load';
import { buildFailureNote, locateVsockAddon, packageRoot } from '../src/native/locate';

const tuple = `${process.platform}-${process.arch}`;
const MISSING = (reason: string): string =>
  `the native part of @flow/hvsock is missing: no prebuilt binary for ${tuple} (napi) and no source build (${reason}); ` +
  'reinstall with python3, make and a C compiler available';

let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-loader-'));
  fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: '@flow/hvsock', version: '0.0.0' }));
});
afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('in this workspace', () => {
  test('loadVsockBinding() loads the source build in build/Release, once, as a frozen object', () => {
    const first = loadVsockBinding();
    if (!first.ok) throw first.error;
    expect(loadVsockBinding()).toBe(first);
    expect(Object.isFrozen(first.value)).toBe(true);
    expect(vsockBindingLocation()).toEqual({ path: path.join(packageRoot, 'build', 'Release', 'hvsock.node'), origin: 'build' });
  });

  test('importing the built package loads nothing native', () => {
    const entry = path.join(packageRoot, 'dist', 'index.js');
    if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: build the package first`);
    const script = `require(${JSON.stringify(entry)});
      console.log(JSON.stringify(Object.keys(require.cache).filter((f) => f.endsWith('.node'))));`;
    expect(JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))).toEqual([]);
  });
});

describe('finding the addon', () => {
  test.each(['darwin', 'win32', 'freebsd'] as const)('on %s: "AF_VSOCK needs Linux"', (platform) => {
    const located = locateVsockAddon(packageRoot, platform, 'x64');
    expect(located.ok).toBe(false);
    if (located.ok) return;
    expect(located.error).toMatchObject({ kind: 'unsupported', code: 'ENOTSUP', message: `AF_VSOCK needs Linux; this is ${platform}` });
  });

  test('no prebuilt binary and no build: the error names both', () => {
    const located = locateVsockAddon(scratch);
    expect(located.ok).toBe(false);
    if (located.ok) return;
    expect(located.error).toMatchObject({ kind: 'unsupported', message: MISSING(path.join('build', 'Release') + ' holds no addon') });
  });

  test('a failed source build left its reason: the error quotes it', () => {
    fs.mkdirSync(path.join(scratch, 'build'));
    fs.writeFileSync(path.join(scratch, buildFailureNote), 'make, a C compiler (cc) not found\n');
    const located = locateVsockAddon(scratch);
    expect(!located.ok && located.error.message).toBe(MISSING('make, a C compiler (cc) not found'));
  });

  test(`a prebuilt binary in prebuilds/${tuple} is found and reported as such`, () => {
    const dir = path.join(scratch, 'prebuilds', tuple);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '@flow+hvsock.node'), '');
    expect(locateVsockAddon(scratch)).toEqual({ ok: true, value: { path: path.join(dir, '@flow+hvsock.node'), origin: 'prebuild' } });
  });

  test('build/Release wins over prebuilds (node-gyp-build\'s order)', () => {
    fs.mkdirSync(path.join(scratch, 'prebuilds', tuple), { recursive: true });
    fs.writeFileSync(path.join(scratch, 'prebuilds', tuple, '@flow+hvsock.node'), '');
    fs.mkdirSync(path.join(scratch, 'build', 'Release'), { recursive: true });
    fs.writeFileSync(path.join(scratch, 'build', 'Release', 'hvsock.node'), '');
    expect(locateVsockAddon(scratch)).toMatchObject({ ok: true, value: { origin: 'build' } });
  });
});

describe('loading a file', () => {
  test('a file that is no addon: "failed to load", with the loader\'s reason', () => {
    const file = path.join(scratch, 'broken.node');
    fs.writeFileSync(file, 'not an ELF object '.repeat(16));
    const loaded = loadBindingAt({ path: file, origin: 'build' });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.error.kind).toBe('unsupported');
    expect(loaded.error.message).toMatch(new RegExp(`^the native part of @flow/hvsock failed to load from ${file}: .*invalid ELF header`));
  });

  test('the stub built where there is no AF_VSOCK loads but is refused: "does not provide AF_VSOCK"', () => {
    const file = path.join(scratch, 'stub.node');
    const headers = ['-I/usr/include/node', `-I${path.join(path.dirname(process.execPath), '..', 'include', 'node')}`];
    const cc = process.env.CC ?? 'cc';
    const built = spawnSync(cc, ['-shared', '-fPIC', '-DNAPI_VERSION=8', ...headers, '-o', file, path.join(packageRoot, 'native', 'unsupported.c')], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`${cc} could not build the stub: ${built.error?.message ?? built.stderr}`);
    const loaded = loadBindingAt({ path: file, origin: 'build' });
    expect(!loaded.ok && loaded.error.message).toBe(
      `the native part of @flow/hvsock at ${file} does not provide AF_VSOCK (no socket, bind, listen, accept, connect, socketError, ` +
        'localAddress, remoteAddress, read, writev, shutdown, close, localCid, setBufferSize, bufferSize, setConnectTimeout, ' +
        'pollOpen, pollWatch, pollClose, constants)',
    );
  });
});
