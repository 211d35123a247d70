import { connect, parseConsoleName } from '../src';

function invalidMessage(name: string): string {
  const r = parseConsoleName(name);
  if (r.ok) throw new Error(`${name} parsed`);
  expect(r.error.kind).toBe('invalid');
  return r.error.message;
}

describe('parseConsoleName', () => {
  test('stdio and memory take parameters but no target', () => {
    expect(parseConsoleName('stdio')).toEqual({ ok: true, value: { backend: 'stdio', options: {} } });
    expect(parseConsoleName('stdio?raw=false&lineEnding=crlf&shutdown=keep-open')).toEqual({
      ok: true,
      value: { backend: 'stdio', options: { raw: false, lineEnding: '\r\n', shutdown: 'keep-open' } },
    });
    expect(parseConsoleName('memory?capacity=1024')).toEqual({ ok: true, value: { backend: 'memory', options: { capacity: 1024 } } });
    expect(invalidMessage('stdio:/dev/tty')).toMatch(/stdio takes no target.*e\.g\. "stdio\?/);
  });

  test('pty names a command, with repeated arg parameters and percent-encoding', () => {
    expect(parseConsoleName('pty:/bin/sh?arg=-c&arg=echo%20hi%26bye&cols=100&rows=30&term=vt100&eof=none')).toEqual({
      ok: true,
      value: {
        backend: 'pty',
        command: '/bin/sh',
        options: { args: ['-c', 'echo hi&bye'], cols: 100, rows: 30, term: 'vt100', eof: 'none' },
      },
    });
    expect(invalidMessage('pty:')).toMatch(/pty needs a command.*e\.g\. "pty:\/bin\/sh/);
    expect(invalidMessage('pty:/bin/sh?cols=wide')).toMatch(/"cols" must be an integer from 1 to 65535, got "wide"/);
    expect(invalidMessage('pty:/bin/sh?colls=80')).toMatch(/unknown parameter "colls" \(known: arg, cols/);
  });

  test('serial names a device with its line settings', () => {
    expect(parseConsoleName('serial:/dev/ttyS0?baud=115200&parity=none&stopBits=1&rtscts=false&dataBits=7&xon=true')).toEqual({
      ok: true,
      value: {
        backend: 'serial',
        path: '/dev/ttyS0',
        options: { baudRate: 115200, parity: 'none', stopBits: 1, rtscts: false, dataBits: 7, xon: true },
      },
    });
    expect(parseConsoleName('serial:/dev/ttyUSB0?stopBits=1.5')).toMatchObject({ ok: true, value: { options: { stopBits: 1.5 } } });
    expect(invalidMessage('serial:/dev/ttyS0?parity=odd2')).toMatch(/"parity" must be one of none, even, odd, mark, space, got "odd2"/);
    expect(invalidMessage('serial:/dev/ttyS0?baud=115200&baud=9600')).toMatch(/"baud" is given 2 times/);
    expect(invalidMessage('serial:/dev/ttyS0?rtscts')).toMatch(/"rtscts" .*has no value/);
    expect(invalidMessage('serial:/dev/ttyS0?baud=9600%')).toMatch(/bad percent-encoding/);
  });

  test('an unknown backend or an empty name is invalid and shows a correct example', () => {
    expect(invalidMessage('telnet:host')).toMatch(/unknown console backend "telnet" in "telnet:host".*e\.g\. "pty:/);
    expect(invalidMessage('')).toMatch(/empty console name/);
    expect(invalidMessage('x'.repeat(5000))).toMatch(/longer than 4096/);
  });

  test('connect returns the parse error as a value, never throws', async () => {
    const r = await connect('serial:/dev/ttyS0?baud=fast');
    expect(r.ok ? 'ok' : r.error.kind).toBe('invalid');
    expect(r.ok ? '' : r.error.message).toContain('e.g. "serial:/dev/ttyS0?baud=115200&parity=none&stopBits=1&rtscts=false"');
  });
});
