import { formatEndpoint, listen, parseEndpoint, type Endpoint } from '../src';

describe('parseEndpoint', () => {
  test.each([
    ['tcp://127.0.0.1:80', { host: '127.0.0.1', port: 80 }],
    ['tcp://[::1]:8080', { host: '::1', port: 8080 }],
    ['tcp://localhost:0', { host: 'localhost', port: 0 }],
    ['TCP://example-host.lan:65535/', { host: 'example-host.lan', port: 65535 }],
    ['tcp://[fe80::1%25lo]:22', { host: 'fe80::1%lo', port: 22 }],
    ['unix:///tmp/x.sock', { path: '/tmp/x.sock' }],
    ['unix:/tmp/x.sock', { path: '/tmp/x.sock' }],
    ['unix:relative.sock', { path: 'relative.sock' }],
    ['unix:///tmp/with%20space.sock', { path: '/tmp/with space.sock' }],
  ])('accepts %s', (uri, expected) => {
    expect(parseEndpoint(uri)).toEqual({ ok: true, value: expected });
  });

  test.each([
    ['127.0.0.1:80', 'missing scheme'],
    ['http://127.0.0.1:80', 'unknown scheme "http"'],
    ['tcp:127.0.0.1:80', 'missing "//"'],
    ['tcp://127.0.0.1', 'missing ":port"'],
    ['tcp://127.0.0.1:', 'empty port'],
    ['tcp://127.0.0.1:99999', 'port 99999 is out of range'],
    ['tcp://127.0.0.1:8o', 'port "8o" is not a number'],
    ['tcp://::1:80', 'must be in brackets'],
    ['tcp://[::1:80', 'unterminated IPv6 literal'],
    ['tcp://[1.2.3.4]:80', 'is not an IPv6 address'],
    ['tcp://:80', 'missing host'],
    ['tcp://bad_host!:80', 'neither an IP address nor a host name'],
    ['tcp://127.0.0.1:80/path', 'unexpected path'],
    ['unix://host/tmp/x', 'no host part'],
    ['unix://', 'empty socket path'],
    ['unix:///tmp/%zz', 'bad percent-encoding'],
  ])('rejects %s, naming the wrong part and showing an example', (uri, part) => {
    const r = parseEndpoint(uri);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe('invalid');
    expect(r.error.message).toContain(part);
    expect(r.error.message).toContain(uri);
    expect(r.error.message).toMatch(/expected e\.g\. (tcp|unix):/);
  });

  test('never throws, even for a non-string', () => {
    const r = parseEndpoint(42 as unknown as string);
    expect(r.ok ? 'parsed' : r.error.kind).toBe('invalid');
  });
});

describe('formatEndpoint', () => {
  test.each<[Endpoint, string]>([
    [{ family: 'IPv4', address: '127.0.0.1', port: 80 }, 'tcp://127.0.0.1:80'],
    [{ family: 'IPv6', address: '::1', port: 80 }, 'tcp://[::1]:80'],
    [{ family: 'IPv6', address: 'fe80::1%lo', port: 1 }, 'tcp://[fe80::1%25lo]:1'],
    [{ family: 'unix', path: '/run/a b.sock' }, 'unix:///run/a b.sock'],
    [{ family: 'unix', path: 'rel/%.sock' }, 'unix:rel/%25.sock'],
  ])('formats %j as %s, which parses back', (e, uri) => {
    expect(formatEndpoint(e)).toBe(uri);
    const back = parseEndpoint(uri);
    expect(back.ok).toBe(true);
    if (back.ok) expect(back.value).toEqual(e.family === 'unix' ? { path: e.path } : { host: e.address, port: e.port });
  });
});

test('listen with a port outside 0-65535 throws RangeError; a bad URI gives invalid', async () => {
  expect(() => listen({ port: -1 })).toThrow(RangeError);
  expect(() => listen({ host: '127.0.0.1', port: 65536 })).toThrow(RangeError);
  expect(() => listen({ port: 1.5 })).toThrow(RangeError);
  const r = await listen('tcp://127.0.0.1:65536');
  expect(r.ok ? 'listening' : r.error.kind).toBe('invalid');
});

test('a Unix socket path longer than sun_path is refused as invalid, and no truncated socket file appears', async () => {
  const { existsSync, mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { connect } = await import('../src');
  const dir = mkdtempSync(join(tmpdir(), 'flow-long-'));
  try {
    const path = join(dir, 'x'.repeat(200));
    for (const r of [await listen({ path }), await listen(`unix://${path}`), await connect({ path }), await connect(`unix://${path}`)]) {
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.kind).toBe('invalid');
        expect(r.error.message).toMatch(/at most 107 \(sun_path\)/);
      }
    }
    expect(existsSync(path.slice(0, 107))).toBe(false);
    // 107 bytes fit.
    const fits = join(dir, 'y'.repeat(107 - Buffer.byteLength(dir) - 1));
    const l = await listen({ path: fits });
    expect(l.ok).toBe(true);
    if (l.ok) await l.value.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
