// errno numbers from the addons become FlowErrors that keep the OS error whole.
import { constants } from 'node:os';
import { errnoError, errnoName } from '../src/errors';

test('errnoName knows every errno name this Linux machine knows, by the same number', () => {
  const mismatches = Object.entries(constants.errno)
    .filter(([name, n]) => errnoName(n) !== name && !['EWOULDBLOCK', 'EDEADLOCK', 'ENOTSUP'].includes(name))
    .map(([name, n]) => `${n}: ${name} vs ${errnoName(n)}`);
  expect(mismatches).toEqual([]);
  expect(errnoName(-104)).toBe('ECONNRESET');
  expect(errnoName(9999)).toBe('errno 9999');
});

test.each([
  [-104, 'read', 'reset', 'ECONNRESET'],
  [-111, 'connect', 'refused', 'ECONNREFUSED'],
  [-110, 'connect', 'timeout', 'ETIMEDOUT'],
  [-98, 'bind', 'in-use', 'EADDRINUSE'],
  [-13, 'bind', 'permission', 'EACCES'],
  [-32, 'writev', 'reset', 'EPIPE'],
  [-32, 'shutdown', 'closed', 'EPIPE'],
  [-5, 'read', 'io', 'EIO'],
])('errno %i from %s is a %s error with code %s, errno and syscall kept', (n, syscall, kind, code) => {
  const e = errnoError(n, syscall, 'context');
  expect(e).toMatchObject({ kind, code, errno: -n, syscall });
  expect(e.message).toContain(code);
});
