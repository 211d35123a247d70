// The lazy load and the typed `unsupported` error with its one-line reason.
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBindingAt, loadFastCopyBinding, fastCopyBindingLocation } from '../src/native/load';
import { buildFailureNote, locateFastCopyAddon, packageRoot } from '../src/native/locate';

test('the workspace build is found in build/Release and loads', () => {
  const located = locateFastCopyAddon();
  if (!located.ok) throw located.error;
  expect(located.value).toEqual({ path: join(packageRoot, 'build', 'Release', 'fast_copy.node'), origin: 'build' });
  const loaded = loadFastCopyBinding();
  expect(loaded.ok).toBe(true);
  expect(fastCopyBindingLocation()).toEqual(located.value);
});

test('another system: unsupported, and nothing is loaded', () => {
  const located = locateFastCopyAddon(packageRoot, 'darwin', 'arm64');
  expect(!located.ok && located.error).toMatchObject({ kind: 'unsupported', message: 'the native copy engine needs Linux; this is darwin' });
});

describe('a package directory without the addon', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fast-copy-root-'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'x', version: '1.0.0' }));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('no prebuilt binary and no build: unsupported, saying what is missing in one line', () => {
    const located = locateFastCopyAddon(root, 'linux', 'riscv64');
    expect(!located.ok && located.error.kind).toBe('unsupported');
    expect(!located.ok && located.error.message).toBe(
      'the native part of @flow/fast-copy is missing: no prebuilt binary for linux-riscv64 (napi) and no source build ' +
        `(${join('build', 'Release')} holds no addon); reinstall with python3, make and a C compiler available`,
    );
  });

  test("a failed source build's note becomes the reason", () => {
    mkdirSync(join(root, 'build'));
    writeFileSync(join(root, buildFailureNote), 'make not found\n');
    const located = locateFastCopyAddon(root, 'linux', 'x64');
    expect(!located.ok && located.error.message).toContain('no source build (make not found)');
  });
});

test('a file that is not the engine is refused with unsupported', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fast-copy-fake-'));
  try {
    const path = join(dir, 'fake.js');
    writeFileSync(path, 'module.exports = { start() {} };');
    const loaded = loadBindingAt({ path, origin: 'build' });
    expect(!loaded.ok && loaded.error).toMatchObject({ kind: 'unsupported' });
    expect(!loaded.ok && loaded.error.message).toContain('is not the copy engine (no stop, activity)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
