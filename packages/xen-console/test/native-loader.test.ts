// The lazy loader: nothing native is loaded when the platform code is imported; the addon is
// found as node-gyp-build finds it (build/Release, then prebuilds/); and when it cannot be had,
// the error is a typed 'unsupported' FlowError that says exactly why. Separately, at use, a
// machine without Xen gets its own typed error (ENOENT naming /dev/xen/gntdev).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadBindingAt, loadXenBinding, xenBindingLocation } from '../src/platform/native-load';
import { buildFailureNote, locateXenAddon, packageRoot } from '../src/platform/native-locate';
import { runTsChild } from './support/native-ts-child';

const tuple = `${process.platform}-${process.arch}`;
const MISSING = (reason: string): string =>
  `the native part of @flow/xen-console is missing: no prebuilt binary for ${tuple} (napi) and no source build (${reason}); ` +
  'reinstall with python3, make and a C compiler available';

let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'xen-console-loader-'));
  fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: '@flow/xen-console', version: '0.0.0' }));
});
afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('in this workspace', () => {
  test('loadXenBinding() loads the source build in build/Release, once, as a frozen object', () => {
    const first = loadXenBinding();
    if (!first.ok) throw first.error;
    expect(loadXenBinding()).toBe(first);
    expect(Object.isFrozen(first.value)).toBe(true);
    expect(Object.isFrozen(first.value.constants)).toBe(true);
    expect(xenBindingLocation()).toEqual({ path: path.join(packageRoot, 'build', 'Release', 'xen_console.node'), origin: 'build' });
  });

  test('importing the platform code loads nothing native; LinuxPlatform.available() loads the addon and says: no Xen here', () => {
    const files = fs.readdirSync(path.join(packageRoot, 'src', 'platform')).filter((f) => f.endsWith('.ts'));
    expect(files).toEqual(expect.arrayContaining(['linux-platform.ts', 'native-load.ts', 'native-page.ts']));
    const run = runTsChild(`
      for (const file of ${JSON.stringify(files)}) require(${JSON.stringify(path.join(packageRoot, 'src', 'platform'))} + '/' + file);
      const beforeUse = nativeModules();
      const { LinuxPlatform } = require(${JSON.stringify(path.join(packageRoot, 'src', 'platform', 'linux-platform.ts'))});
      const r = LinuxPlatform.available();
      console.log(JSON.stringify({ beforeUse, afterUse: nativeModules(), ok: r.ok, kind: r.error.kind, code: r.error.code }));`);
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual({
      beforeUse: [],
      afterUse: [path.join(packageRoot, 'build', 'Release', 'xen_console.node')],
      ok: false,
      kind: 'unsupported',
      code: 'ENOENT',
    });
  });
});

describe('finding the addon', () => {
  test.each(['darwin', 'win32', 'freebsd'] as const)('on %s: "the Xen platform needs Linux"', (platform) => {
    const located = locateXenAddon(packageRoot, platform, 'x64');
    expect(located.ok).toBe(false);
    if (located.ok) return;
    expect(located.error).toMatchObject({
      kind: 'unsupported',
      code: 'ENOTSUP',
      message: `the Xen platform needs Linux (/dev/xen/gntdev and /dev/xen/evtchn); this is ${platform}`,
    });
  });

  test('no prebuilt binary and no build: the error names both', () => {
    const located = locateXenAddon(scratch);
    expect(located.ok).toBe(false);
    if (located.ok) return;
    expect(located.error).toMatchObject({ kind: 'unsupported', message: MISSING(path.join('build', 'Release') + ' holds no addon') });
  });

  test('a failed source build left its reason: the error quotes it', () => {
    fs.mkdirSync(path.join(scratch, 'build'));
    fs.writeFileSync(path.join(scratch, buildFailureNote), 'make, a C compiler (cc) not found\n');
    const located = locateXenAddon(scratch);
    expect(!located.ok && located.error.message).toBe(MISSING('make, a C compiler (cc) not found'));
  });

  test(`a prebuilt binary in prebuilds/${tuple} is found and reported as such`, () => {
    const dir = path.join(scratch, 'prebuilds', tuple);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '@flow+xen-console.node'), '');
    expect(locateXenAddon(scratch)).toEqual({ ok: true, value: { path: path.join(dir, '@flow+xen-console.node'), origin: 'prebuild' } });
  });

  test('build/Release wins over prebuilds (node-gyp-build\'s order)', () => {
    fs.mkdirSync(path.join(scratch, 'prebuilds', tuple), { recursive: true });
    fs.writeFileSync(path.join(scratch, 'prebuilds', tuple, '@flow+xen-console.node'), '');
    fs.mkdirSync(path.join(scratch, 'build', 'Release'), { recursive: true });
    fs.writeFileSync(path.join(scratch, 'build', 'Release', 'xen_console.node'), '');
    expect(locateXenAddon(scratch)).toMatchObject({ ok: true, value: { origin: 'build' } });
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
    expect(loaded.error.message).toMatch(new RegExp(`^the native part of @flow/xen-console failed to load from ${file}: .*invalid ELF header`));
  });

  test('the stub built for other systems loads but is refused: "does not provide gntdev and evtchn"', () => {
    const file = path.join(scratch, 'stub.node');
    const headers = ['-I/usr/include/node', `-I${path.join(path.dirname(process.execPath), '..', 'include', 'node')}`];
    const cc = process.env.CC ?? 'cc';
    const built = spawnSync(cc, ['-shared', '-fPIC', '-DNAPI_VERSION=8', ...headers, '-o', file, path.join(packageRoot, 'native', 'unsupported.c')], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`${cc} could not build the stub: ${built.error?.message ?? built.stderr}`);
    const loaded = loadBindingAt({ path: file, origin: 'build' });
    expect(!loaded.ok && loaded.error.message).toBe(
      `the native part of @flow/xen-console at ${file} does not provide gntdev and evtchn (no available, mapGrant, unmapGrant, ` +
        'pageMapped, pageLoadU32, pageStoreU32, pageRead, pageWrite, pageFence, evtchnBindInterdomain, evtchnBindUnbound, ' +
        'evtchnNotify, evtchnUnbind, evtchnUnmask, evtchnPoll, pollClose, pollFd, allocTestPage, setDevicePaths, streamOpen, ' +
        'streamRead, streamWrite, streamPoll, streamClose, constants)',
    );
  });
});
