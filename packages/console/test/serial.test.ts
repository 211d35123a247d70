import { EOF } from '@flow/core';
import { connect, connectSerial, type SerialConsole, type SerialOptions } from '../src';
import { pattern, readAll, sha256, writeAll } from './support/io';
import { openFds } from './support/processes';
import { startPtyLine, type PtyLine } from './support/socat';

async function serial(path: string, options?: SerialOptions): Promise<SerialConsole> {
  const r = await connectSerial(path, options);
  if (!r.ok) throw r.error;
  return r.value;
}

describe('serial console over a socat pty pair standing in for a serial line', () => {
  let line: PtyLine;

  beforeEach(async () => {
    line = await startPtyLine();
  });

  afterEach(async () => {
    await line.stop();
  });

  test('data crosses both ways at once, hash-checked', async () => {
    const a = await serial(line.paths[0], { baudRate: 115200, parity: 'none', stopBits: 1, rtscts: false });
    const r = await connect(`serial:${line.paths[1]}?baud=115200&dataBits=8&parity=none&stopBits=1`);
    if (!r.ok || r.value.backend !== 'serial') throw new Error('expected a serial console');
    const b = r.value;
    expect(b.settings).toMatchObject({ baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false });
    const size = 4 * 1024 * 1024;
    const aToB = pattern(size, 21);
    const bToA = pattern(size, 42);
    const [, , gotB, gotA] = await Promise.all([
      writeAll(a, aToB),
      writeAll(b, bToA),
      readAll(b, size),
      readAll(a, size),
    ]);
    expect(sha256(gotB)).toBe(sha256(aToB));
    expect(sha256(gotA)).toBe(sha256(bToA));
    await b.log('over');
    expect((await readAll(a, 6)).toString()).toBe('over\r\n');
    await a.disconnect();
    await b.disconnect();
  });

  test('line settings are applied and the baud rate can change on an open port', async () => {
    const a = await serial(line.paths[0], { baudRate: 9600, parity: 'even', dataBits: 7, stopBits: 2 });
    expect(a.settings).toMatchObject({ baudRate: 9600, parity: 'even', dataBits: 7, stopBits: 2 });
    expect((await a.setBaudRate(57600)).ok).toBe(true);
    expect(a.settings.baudRate).toBe(57600);
    expect(a.capabilities.halfCloseWrite).toBe('none');
    await a.disconnect();
    const after = await a.setBaudRate(9600);
    expect(after.ok ? 'ok' : after.error.kind).toBe('closed');
  });

  test('close drains the output and ends reads with EOF; log afterwards drops silently', async () => {
    const a = await serial(line.paths[0]);
    const b = await serial(line.paths[1]);
    await a.log('last words');
    const pending = a.read();
    expect((await a.close()).ok).toBe(true);
    const r = await pending;
    expect(r.ok && r.value === EOF).toBe(true);
    await a.log('dropped');
    expect((await readAll(b, 12)).toString()).toBe('last words\r\n');
    expect((await b.close()).ok).toBe(true);
    await a.disconnect();
    await b.disconnect();
  });

  test('a device another console holds locked is in-use; a parity the binding lacks is unsupported', async () => {
    const a = await serial(line.paths[0]);
    const again = await connectSerial(line.paths[0]);
    expect(again.ok ? 'ok' : again.error.kind).toBe('in-use');
    // Linux's binding knows none, even and odd only.
    const mark = await connectSerial(line.paths[1], { parity: 'mark' });
    expect(mark.ok ? 'ok' : mark.error.kind).toBe('unsupported');
    await a.disconnect();
  });

  test('disconnect closes the device descriptor', async () => {
    const before = openFds();
    const a = await serial(line.paths[0]);
    expect(openFds()).toBeGreaterThan(before);
    await a.disconnect();
    expect(openFds()).toBe(before);
  });

  test('the line going away mid-read is a reset error, not a crash', async () => {
    const a = await serial(line.paths[0]);
    const pending = a.read();
    await line.stop();
    const r = await pending;
    expect(r.ok ? 'data' : r.error.kind).toBe('reset');
    await a.disconnect();
  });
});

describe('serial console errors', () => {
  test('a device that does not exist is a not-found error', async () => {
    const r = await connectSerial('/dev/no-such-serial-device');
    expect(r.ok ? 'ok' : r.error.kind).toBe('not-found');
  });

  test('bad line settings in code are programmer errors', async () => {
    await expect(connectSerial('/dev/ttyS0', { baudRate: -1 })).rejects.toThrow(RangeError);
    await expect(connectSerial('/dev/ttyS0', { parity: 'odd2' as 'odd' })).rejects.toThrow(RangeError);
  });
});
