import { FlowError, err, ok, type Result } from '@flow/core';
import { loadFirstPtyModule, loadPtyModule, PTY_MODULES, type PtyModule } from '../src/pty-module';

const fakeModule: PtyModule = { spawn: () => { throw new Error('not spawned in this test'); } };
const missing = (name: string): Result<PtyModule, FlowError> =>
  err(new FlowError('unsupported', `the PTY console needs the optional package "${name}"`, { code: 'MODULE_NOT_FOUND' }));

describe('which PTY module is used', () => {
  test('the prebuilt @lydell/node-pty first, node-pty where a user has only that', () => {
    expect(PTY_MODULES).toEqual(['@lydell/node-pty', 'node-pty']);
    const tried: string[] = [];
    const r = loadFirstPtyModule(PTY_MODULES, (name) => {
      tried.push(name);
      return name === 'node-pty' ? ok(fakeModule) : missing(name);
    });
    expect(r.ok && r.value).toBe(fakeModule);
    expect(tried).toEqual(['@lydell/node-pty', 'node-pty']);
  });

  test('stops at the first that loads', () => {
    const tried: string[] = [];
    loadFirstPtyModule(PTY_MODULES, (name) => {
      tried.push(name);
      return ok(fakeModule);
    });
    expect(tried).toEqual(['@lydell/node-pty']);
  });

  test('with neither installed, the error says to install the prebuilt one', () => {
    const r = loadFirstPtyModule(PTY_MODULES, missing);
    expect(r.ok ? 'ok' : r.error.message).toMatch(/"@lydell\/node-pty"/);
  });

  test('a module that is there but fails to load is the error reported', () => {
    const r = loadFirstPtyModule(PTY_MODULES, (name) =>
      name === 'node-pty' ? err(new FlowError('io', 'loading "node-pty" failed: wrong NODE_MODULE_VERSION')) : missing(name),
    );
    expect(r.ok ? 'ok' : r.error.message).toMatch(/NODE_MODULE_VERSION/);
  });

  test('in this workspace the real module loads and has spawn', () => {
    const r = loadPtyModule();
    expect(r.ok && typeof r.value.spawn).toBe('function');
  });
});
