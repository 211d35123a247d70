// Windows socket errors in the package's terms (src/hyperv/wsa-errors.ts): Linux errno names
// and numbers, which core maps to error kinds, with the Windows name kept in the message. The
// Windows codes themselves are checked against mingw-w64's headers in hyperv-win-source.test.ts.
import { spawnSync } from 'node:child_process';
import { errnoOfWindowsError, windowsError, windowsErrorName, windowsSocketError, WINDOWS_ERRORS } from '../src/hyperv/wsa-errors';

describe('the table', () => {
  // Node's os.constants.errno lacks some of these (ESOCKTNOSUPPORT, EUSERS, ...); Python's errno
  // module has every Linux errno.
  (process.platform === 'linux' ? it : it.skip)("gives each Linux errno name its Linux number (checked against python3's errno module)", () => {
    const codes = [...new Set(WINDOWS_ERRORS.map((e) => e.code))];
    const r = spawnSync('python3', ['-c', 'import errno, json, sys; print(json.dumps({n: getattr(errno, n, None) for n in sys.argv[1:]}))', ...codes], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`python3 failed: ${r.error?.message ?? r.stderr}`);
    const linux = JSON.parse(r.stdout) as Record<string, number | null>;
    for (const e of WINDOWS_ERRORS) expect([e.name, e.code, linux[e.code]]).toEqual([e.name, e.code, e.errno]);
  });

  it('has each Windows code once', () => {
    const codes = WINDOWS_ERRORS.map((e) => e.windowsCode);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('never maps an error to EAGAIN except WSAEWOULDBLOCK itself (EAGAIN means "try later" to the flow)', () => {
    expect(WINDOWS_ERRORS.filter((e) => e.code === 'EAGAIN').map((e) => e.name)).toEqual(['WSAEWOULDBLOCK']);
  });
});

describe('windowsSocketError', () => {
  it.each([
    [10054, 'ECONNRESET', 104, 'reset'],
    [10061, 'ECONNREFUSED', 111, 'refused'],
    [10060, 'ETIMEDOUT', 110, 'timeout'],
    [10053, 'ECONNABORTED', 103, 'reset'],
    [10050, 'ENETDOWN', 100, 'unreachable'],
    [10051, 'ENETUNREACH', 101, 'unreachable'],
    [10065, 'EHOSTUNREACH', 113, 'unreachable'],
    [10048, 'EADDRINUSE', 98, 'in-use'],
    [10013, 'EACCES', 13, 'permission'],
    [10047, 'EAFNOSUPPORT', 97, 'unsupported'],
    [995, 'ECANCELED', 125, 'aborted'],
    [1225, 'ECONNREFUSED', 111, 'refused'],
    [64, 'ECONNRESET', 104, 'reset'],
  ])('maps %i to %s (%i), kind %s', (code, name, errno, kind) => {
    for (const c of [code, -code]) {
      const e = windowsSocketError(c, 'connect');
      expect([e.code, e.errno, e.kind, e.syscall]).toEqual([name, errno, kind, 'connect']);
      expect(e.message).toContain(`(${windowsErrorName(code)} ${code})`);
    }
  });

  it('words the message as syscall, errno name and Windows name, after the context', () => {
    expect(windowsSocketError(-10061, 'connect', 'cannot connect to hvsock://parent/80').message).toBe(
      'cannot connect to hvsock://parent/80: connect ECONNREFUSED (WSAECONNREFUSED 10061)',
    );
  });

  it('keeps an unknown code as EIO, with its number', () => {
    expect(windowsError(-4242)).toEqual({ windowsCode: 4242, name: 'Windows error 4242', code: 'EIO', errno: 5 });
    const e = windowsSocketError(-4242, 'recv');
    expect(e.message).toBe('recv EIO (Windows error 4242)');
    expect(e.kind).toBe('io');
    expect(errnoOfWindowsError(-4242)).toBe(-5);
    expect(errnoOfWindowsError(-10054)).toBe(-104);
  });
});
