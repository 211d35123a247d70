import { AckLineReader, MAX_ACK_LINE_BYTES, parseAckLine } from '../src/hybrid/ack-line';
import { encodeConnectLine } from '../src/hybrid/connect-line';
import { hybridListenPath } from '../src/hybrid/paths';
import { checkSocketPath, maxSocketPathBytes, sunPathBytes } from '../src/unix/path-limit';
import { printableBytes } from '../src/unix/printable-bytes';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('encodeConnectLine', () => {
  test.each([
    [0, 'CONNECT 0\n'],
    [52, 'CONNECT 52\n'],
    [1024, 'CONNECT 1024\n'],
    [0xffffffff, 'CONNECT 4294967295\n'],
  ])('port %d is "%s" in decimal', (port, line) => {
    expect(encodeConnectLine(port)).toEqual(bytes(line));
  });

  test('the longest line fits in the 32 bytes the VMMs read', () => {
    expect(encodeConnectLine(0xffffffff).length).toBeLessThanOrEqual(32);
  });

  test.each([-1, 2 ** 32, 1.5, Number.NaN])('port %p is a programmer error', (port) => {
    expect(() => encodeConnectLine(port)).toThrow(RangeError);
  });
});

describe('parseAckLine', () => {
  test.each([
    ['OK 1073741824', 1073741824],
    ['ok 52', 52],
    ['Ok 7', 7],
    ['oK 0', 0],
    ['OK 4294967295', 4294967295],
    ['OK 0052', 52],
    ['OK  9\r', 9],
    ['OK\t9 ', 9],
  ])('%p gives %d', (line, port) => {
    expect(parseAckLine(bytes(line))).toBe(port);
  });

  test.each(['', 'OK', 'OK ', 'OK x', 'OK -1', 'OK 4294967296', 'OK 12345678901', 'KO 5', ' OK 5', 'OK 5 6', 'OKAY 5', 'OK 5\r\r', 'ERR 5', 'OK 1e3'])(
    '%p is not an acknowledgement',
    (line) => {
      expect(parseAckLine(bytes(line))).toBeUndefined();
    },
  );
});

describe('AckLineReader', () => {
  test('a whole line in one chunk, nothing after it', () => {
    const step = new AckLineReader().push(bytes('OK 1073741825\n'));
    expect(step).toEqual({ status: 'ok', ackPort: 1073741825, rest: new Uint8Array(0) });
  });

  test('bytes after the newline come back as the first stream data, not copied', () => {
    const chunk = bytes('OK 5\nhello\nOK 6\n');
    const step = new AckLineReader().push(chunk);
    if (step.status !== 'ok') throw new Error(step.status);
    expect(Buffer.from(step.rest).toString('latin1')).toBe('hello\nOK 6\n');
    // A view into the caller's chunk: a large first chunk costs no copy.
    expect(step.rest.buffer).toBe(chunk.buffer);
  });

  test('a line split into one-byte chunks, then data in the last chunk', () => {
    const reader = new AckLineReader();
    for (const c of 'ok 1073741824') expect(reader.push(bytes(c))).toEqual({ status: 'incomplete' });
    const step = reader.push(bytes('\nxyz'));
    expect(step).toEqual({ status: 'ok', ackPort: 1073741824, rest: bytes('xyz') });
  });

  test('every split point of a line with data after it gives the same port and the same data', () => {
    const wire = bytes('OK 4294967295\r\nDATA');
    for (let cut = 0; cut <= wire.length; cut += 1) {
      const reader = new AckLineReader();
      const first = reader.push(wire.subarray(0, cut));
      const step = first.status === 'incomplete' ? reader.push(wire.subarray(cut)) : first;
      if (step.status !== 'ok') throw new Error(`cut ${cut}: ${step.status}`);
      expect(step.ackPort).toBe(4294967295);
      const after = first.status === 'ok' ? Buffer.concat([step.rest, wire.subarray(cut)]) : Buffer.from(step.rest);
      expect(after.toString('latin1')).toBe('DATA');
    }
  });

  test(`a line of exactly ${MAX_ACK_LINE_BYTES} bytes with its newline is read`, () => {
    const line = `OK ${'0'.repeat(MAX_ACK_LINE_BYTES - 5)}7\n`;
    expect(line.length).toBe(MAX_ACK_LINE_BYTES);
    expect(new AckLineReader().push(bytes(line))).toEqual({ status: 'ok', ackPort: 7, rest: new Uint8Array(0) });
  });

  test(`${MAX_ACK_LINE_BYTES} bytes without a newline are too long, and only ${MAX_ACK_LINE_BYTES} are kept`, () => {
    const reader = new AckLineReader();
    expect(reader.push(bytes('OK 1234567890'))).toEqual({ status: 'incomplete' });
    const step = reader.push(Buffer.alloc(1 << 20, 0x20));
    expect(step.status).toBe('too-long');
    if (step.status === 'too-long') expect(step.line.length).toBe(MAX_ACK_LINE_BYTES);
  });

  test('a newline one byte past the cap is too long too', () => {
    const line = `OK ${'0'.repeat(MAX_ACK_LINE_BYTES - 4)}7\n`;
    expect(line.length).toBe(MAX_ACK_LINE_BYTES + 1);
    expect(new AckLineReader().push(bytes(line)).status).toBe('too-long');
  });

  test('junk is malformed and the reply is kept, newline included', () => {
    const step = new AckLineReader().push(bytes('ERROR no listener\nmore'));
    expect(step).toEqual({ status: 'malformed', line: bytes('ERROR no listener\n') });
  });

  test('binary junk is malformed', () => {
    expect(new AckLineReader().push(Buffer.from([0x00, 0xff, 0x4f, 0x4b, 0x0a])).status).toBe('malformed');
  });

  test('received holds an unfinished line', () => {
    const reader = new AckLineReader();
    reader.push(bytes('OK 1'));
    reader.push(bytes('2'));
    expect(Buffer.from(reader.received).toString('latin1')).toBe('OK 12');
  });

  test('feeding a finished reader is a programmer error', () => {
    const reader = new AckLineReader();
    reader.push(bytes('OK 1\n'));
    expect(() => reader.push(bytes('x'))).toThrow();
  });
});

test('hybridListenPath appends _<port> in decimal', () => {
  expect(hybridListenPath('/run/fc/v.sock', 52)).toBe('/run/fc/v.sock_52');
  expect(hybridListenPath('v.sock', 4294967295)).toBe('v.sock_4294967295');
  expect(() => hybridListenPath('v.sock', -1)).toThrow(RangeError);
});

test('printableBytes shows peer bytes exactly and safely', () => {
  expect(printableBytes(Buffer.from('OK 5\r\n\t"\\\x00\xff', 'latin1'))).toBe('"OK 5\\r\\n\\t\\"\\\\\\x00\\xff"');
});

describe('Unix-socket path limits', () => {
  test('sun_path is 108 bytes on Linux and 104 on macOS; one byte goes to the NUL', () => {
    expect(sunPathBytes('linux')).toBe(108);
    expect(sunPathBytes('darwin')).toBe(104);
    expect(sunPathBytes('freebsd')).toBe(104);
    expect(maxSocketPathBytes('linux')).toBe(107);
    expect(maxSocketPathBytes('darwin')).toBe(103);
  });

  test('a path that fits is fine; one byte more is an invalid error saying why', () => {
    expect(checkSocketPath(`/${'a'.repeat(102)}`, 'the VMM socket', 'darwin')).toBeUndefined();
    const error = checkSocketPath(`/${'a'.repeat(103)}`, 'the VMM socket', 'darwin');
    expect(error?.kind).toBe('invalid');
    expect(error?.message).toContain('is 104 bytes long');
    expect(error?.message).toContain('at most 103 bytes on darwin');
    expect(checkSocketPath(`/${'a'.repeat(106)}`, 'x', 'linux')).toBeUndefined();
    expect(checkSocketPath(`/${'a'.repeat(107)}`, 'x', 'linux')?.kind).toBe('invalid');
  });

  test('the length counts UTF-8 bytes, not characters', () => {
    // 36 three-byte characters: 108 bytes, in 36 characters.
    expect(checkSocketPath('\u20ac'.repeat(36), 'x', 'linux')?.kind).toBe('invalid');
  });
});
