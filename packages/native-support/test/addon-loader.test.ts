// The loader every native package uses, on stand-in addon files: Node's require loads a .js file
// the way it loads a .node file, so each way of finding, loading and checking an addon (and each
// error it gives) is tried without a compiler. The real addons are loaded by their packages' tests.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUILD_FAILURE_NOTE, locateAddon, nativeAddon, type NativeAddonSpec } from '../src';

class UnsupportedError extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'native-support-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function spec(overrides: Partial<NativeAddonSpec<UnsupportedError>> = {}): NativeAddonSpec<UnsupportedError> {
  return {
    packageName: '@flow/example',
    packageRoot: root,
    unavailableOn: (platform) => (platform === 'linux' ? undefined : `the example needs Linux; this is ${platform}`),
    functions: ['open', 'close'],
    objects: ['constants'],
    notTheAddon: 'does not provide the example',
    unsupported: (message, cause) => new UnsupportedError(message, cause),
    ...overrides,
  };
}

/** A file in build/Release, where node-gyp-build looks first (it only takes `.node` files). */
function addonFile(name: string, source: string): string {
  const file = path.join(root, 'build', 'Release', name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, source);
  return file;
}

const tuple = `${process.platform}-${process.arch}`;

test('no addon and no note: the reason says no prebuilt binary and no source build', () => {
  expect(locateAddon('@flow/example', root, process.platform, process.arch)).toMatchObject({
    ok: false,
    reason:
      `the native part of @flow/example is missing: no prebuilt binary for ${tuple} (napi) and no source build ` +
      `(${path.join('build', 'Release')} holds no addon); reinstall with python3, make and a C compiler available`,
  });
});

test("a failed source build's note is quoted, in the package's own error", () => {
  fs.mkdirSync(path.join(root, 'build'));
  fs.writeFileSync(path.join(root, BUILD_FAILURE_NOTE), 'make not found\n');
  const located = nativeAddon(spec()).locate();
  expect(located.ok).toBe(false);
  if (located.ok) return;
  expect(located.error).toBeInstanceOf(UnsupportedError);
  expect(located.error.message).toContain('and no source build (make not found); reinstall');
});

test('another system: the error is the package\'s words, and nothing is looked for', () => {
  const located = nativeAddon(spec()).locate(root, 'darwin', 'arm64');
  expect(located).toEqual({ ok: false, error: new UnsupportedError('the example needs Linux; this is darwin') });
});

test('an addon with every function and object loads as a frozen copy', () => {
  const file = addonFile('example.js', 'module.exports = { open: () => 1, close: () => 2, constants: { A: 1 } };');
  const loaded = nativeAddon<{ open(): number; close(): number }, UnsupportedError>(spec()).loadAt({ path: file, origin: 'build' });
  if (!loaded.ok) throw loaded.error;
  expect(loaded.value.open()).toBe(1);
  expect(Object.isFrozen(loaded.value)).toBe(true);
});

test('a file without some of the functions or objects is not taken for the addon', () => {
  const file = addonFile('example.js', 'module.exports = { open: () => 1 };');
  const loaded = nativeAddon(spec()).loadAt({ path: file, origin: 'build' });
  expect(loaded).toEqual({ ok: false, error: new UnsupportedError(`the native part of @flow/example at ${file} does not provide the example (no close, constants)`) });
});

test('found in build/ but does not load: the error quotes the loader, keeps the cause, and is kept', () => {
  const file = addonFile('example.node', 'not an ELF file');
  const addon = nativeAddon(spec());
  expect(addon.locate()).toEqual({ ok: true, value: { path: file, origin: 'build' } });
  const loaded = addon.load();
  expect(loaded.ok).toBe(false);
  if (loaded.ok) return;
  expect(loaded.error.message).toMatch(new RegExp(`^the native part of @flow/example failed to load from ${file}: .+`));
  expect(loaded.error.cause).toBeDefined();
  expect(addon.load()).toBe(loaded);
  expect(addon.location()).toBeUndefined();
});
