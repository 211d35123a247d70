import { createHash } from 'node:crypto';
import { BufferedReader, BufferedWriter, EOF, fromChunks, isEarlyEof, pair, type Flow } from '../src';

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('latin1');
}

/** Writes `data` from `a` to its peer, then shuts `a` down. */
async function send(a: Flow, data: string | Buffer): Promise<void> {
  const w = await a.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  expect(w.ok).toBe(true);
  expect((await a.shutdownWrite()).ok).toBe(true);
}

async function lines(reader: BufferedReader): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const r = await reader.readLine();
    if (!r.ok) throw r.error;
    if (r.value === EOF) return out;
    out.push(r.value);
  }
}

describe('BufferedReader.readExactly', () => {
  test('reads exactly n bytes across many 1-byte chunks and leaves the rest buffered', async () => {
    const [a, b] = pair({ chunkSize: 1 });
    const sending = send(a, 'abcdefgh');
    const reader = new BufferedReader(b);
    const r = await reader.readExactly(5);
    expect(r.ok && !isEarlyEof(r.value) && text(r.value)).toBe('abcde');
    const rest = await reader.readExactly(3);
    expect(rest.ok && !isEarlyEof(rest.value) && text(rest.value)).toBe('fgh');
    await sending;
  });

  test('early EOF returns the partial data instead of losing it', async () => {
    const reader = new BufferedReader(fromChunks(['ab', 'c']));
    const r = await reader.readExactly(10);
    expect(r.ok).toBe(true);
    if (!r.ok || !isEarlyEof(r.value)) throw new Error('expected an early EOF');
    expect(r.value.kind).toBe('eof');
    expect(text(r.value.partial)).toBe('abc');
    const again = await reader.readExactly(1);
    expect(again.ok && isEarlyEof(again.value) && again.value.partial.length).toBe(0);
  });

  test('readExactly(0) returns an empty buffer without reading', async () => {
    const reader = new BufferedReader(fromChunks(['x']));
    const r = await reader.readExactly(0);
    expect(r.ok && !isEarlyEof(r.value) && r.value.length).toBe(0);
    expect(reader.buffered).toBe(0);
  });

  test('an aborted readExactly keeps the bytes it gathered buffered', async () => {
    const [a, b] = pair();
    const reader = new BufferedReader(b);
    expect((await a.write(Buffer.from('abc'))).ok).toBe(true);
    const controller = new AbortController();
    const pending = reader.readExactly(6, { signal: controller.signal });
    // Wait until the first chunk was taken from the flow into the reader's buffer.
    while (reader.buffered < 3) await new Promise((r) => setImmediate(r));
    controller.abort();
    const r = await pending;
    expect(!r.ok && r.error.kind).toBe('aborted');
    expect(reader.buffered).toBe(3);
    await send(a, 'def');
    const whole = await reader.readExactly(6);
    expect(whole.ok && !isEarlyEof(whole.value) && text(whole.value)).toBe('abcdef');
  });

  test('a read error keeps the gathered bytes buffered and readSome returns them before the error', async () => {
    const [a, b] = pair({ faults: { aToB: { afterBytes: 4 } } });
    const reader = new BufferedReader(b);
    const w = await a.write(Buffer.from('abcdefgh'));
    expect(!w.ok && w.error.bytesAccepted).toBe(4);
    const r = await reader.readExactly(8);
    expect(!r.ok && r.error.kind).toBe('reset');
    expect(reader.buffered).toBe(4);
    const some = await reader.readSome();
    expect(some.ok && some.value !== EOF && text(some.value)).toBe('abcd');
    const after = await reader.readSome();
    expect(!after.ok && after.error.kind).toBe('reset');
  });

  test('memory stays bounded: the buffer never holds more than n plus one chunk', async () => {
    const [a, b] = pair({ chunkSize: 1000, capacity: 4000 });
    const total = 200_000;
    const sending = send(a, Buffer.alloc(total, 7));
    const reader = new BufferedReader(b);
    let got = 0;
    while (got < total) {
      const r = await reader.readExactly(1500);
      if (!r.ok) throw r.error;
      const bytes = isEarlyEof(r.value) ? r.value.partial : r.value;
      got += bytes.length;
      expect(reader.buffered).toBeLessThan(1000);
      if (isEarlyEof(r.value)) break;
    }
    expect(got).toBe(total);
    await sending;
  });
});

describe('BufferedReader.readLine', () => {
  test('splits on LF and strips the CR of CRLF', async () => {
    const reader = new BufferedReader(fromChunks(['one\r\ntwo\nthree\r\n']));
    expect(await lines(reader)).toEqual(['one', 'two', 'three']);
  });

  test('strips a CR that ended the previous chunk (1-byte chunks)', async () => {
    const [a, b] = pair({ chunkSize: 1 });
    const sending = send(a, 'ab\r\ncd\r\n');
    expect(await lines(new BufferedReader(b))).toEqual(['ab', 'cd']);
    await sending;
  });

  test('distinguishes an empty line from EOF', async () => {
    const reader = new BufferedReader(fromChunks(['\n', '\r\n', 'x\n']));
    const first = await reader.readLine();
    expect(first.ok && first.value).toBe('');
    const second = await reader.readLine();
    expect(second.ok && second.value).toBe('');
    const third = await reader.readLine();
    expect(third.ok && third.value).toBe('x');
    const end = await reader.readLine();
    expect(end.ok && end.value).toBe(EOF);
    const again = await reader.readLine();
    expect(again.ok && again.value).toBe(EOF);
  });

  test('a last line without LF before EOF is returned as a line', async () => {
    const reader = new BufferedReader(fromChunks(['first\nlas', 't']));
    expect(await lines(reader)).toEqual(['first', 'last']);
  });

  test('a lone CR at the end of the stream stays part of the last line', async () => {
    const reader = new BufferedReader(fromChunks(['foo\r']));
    const r = await reader.readLine();
    expect(r.ok && r.value).toBe('foo\r');
  });

  test('maxLength counts only the line: a line of exactly maxLength with CRLF is accepted', async () => {
    const [a, b] = pair({ chunkSize: 1 });
    const sending = send(a, 'abcde\r\nabcdef\r\n');
    const reader = new BufferedReader(b);
    const ok5 = await reader.readLine({ maxLength: 5 });
    expect(ok5.ok && ok5.value).toBe('abcde');
    const tooLong = await reader.readLine({ maxLength: 5 });
    expect(!tooLong.ok && tooLong.error.kind).toBe('limit');
    await sending;
  });

  test('a too-long line returns a limit error and leaves its bytes buffered', async () => {
    const reader = new BufferedReader(fromChunks(['0123456789', 'abc\nnext\n']));
    const r = await reader.readLine({ maxLength: 8 });
    expect(!r.ok && r.error.kind).toBe('limit');
    // The reader did not move: a larger limit now reads the same line, then the next one.
    expect(reader.buffered).toBeGreaterThan(8);
    const again = await reader.readLine({ maxLength: 100 });
    expect(again.ok && again.value).toBe('0123456789abc');
    const next = await reader.readLine({ maxLength: 8 });
    expect(next.ok && next.value).toBe('next');
  });

  test('a too-long line stops reading at maxLength plus one chunk', async () => {
    const [a, b] = pair({ chunkSize: 16, capacity: 1024 });
    const sending = a.write(Buffer.alloc(100_000, 0x61));
    const reader = new BufferedReader(b);
    const r = await reader.readLine({ maxLength: 64 });
    expect(!r.ok && r.error.kind).toBe('limit');
    expect(reader.buffered).toBeLessThanOrEqual(64 + 1 + 16);
    expect(b.stats.bytesRead).toBe(reader.buffered);
    a.abort();
    await sending;
  });

  test('the default maxLineLength bounds lines too', async () => {
    const reader = new BufferedReader(fromChunks(['x'.repeat(20), '\n']), { maxLineLength: 10 });
    const r = await reader.readLine();
    expect(!r.ok && r.error.kind).toBe('limit');
  });

  test('decodes the line with the given encoding, after joining chunks split inside a character', async () => {
    const bytes = Buffer.from('héllo wörld\n', 'utf8');
    const reader = new BufferedReader(fromChunks([bytes.subarray(0, 2), bytes.subarray(2, 3), bytes.subarray(3)]));
    const r = await reader.readLine();
    expect(r.ok && r.value).toBe('héllo wörld');
    const latin = new BufferedReader(fromChunks([Buffer.from([0xe9, 0x0a])]));
    const l = await latin.readLine({ encoding: 'latin1' });
    expect(l.ok && l.value).toBe('é');
  });

  test('readLineBytes returns the line as bytes', async () => {
    const reader = new BufferedReader(fromChunks([Buffer.from([1, 2, 0x0d]), Buffer.from([0x0a, 3])]));
    const r = await reader.readLineBytes();
    expect(r.ok && r.value !== EOF && [...r.value]).toEqual([1, 2]);
    const last = await reader.readLineBytes();
    expect(last.ok && last.value !== EOF && [...last.value]).toEqual([3]);
  });
});

describe('BufferedReader with BufferedWriter', () => {
  test('headers as lines and a body read exactly keep every byte in order over odd chunking', async () => {
    const [a, b] = pair({ chunkSize: 777, capacity: 8192 });
    const body = Buffer.alloc(1024 * 1024 + 3);
    for (let i = 0; i < body.length; i += 1) body[i] = (i * 13 + (i >> 8)) & 0xff;
    const writing = (async () => {
      const writer = new BufferedWriter(a, { newline: '\r\n' });
      await writer.writeLine('POST /upload');
      await writer.writeLine(`Content-Length: ${body.length}`);
      await writer.writeLine('');
      await writer.write(body);
      await writer.writeLine('trailer');
      expect((await writer.shutdownWrite()).ok).toBe(true);
    })();
    const reader = new BufferedReader(b, { maxLineLength: 100 });
    const headers: string[] = [];
    for (;;) {
      const line = await reader.readLine();
      if (!line.ok || line.value === EOF) throw new Error('headers ended early');
      if (line.value === '') break;
      headers.push(line.value);
    }
    expect(headers).toEqual(['POST /upload', `Content-Length: ${body.length}`]);
    const length = Number(headers[1].split(': ')[1]);
    const got = await reader.readExactly(length);
    if (!got.ok || isEarlyEof(got.value)) throw new Error('body ended early');
    expect(createHash('sha256').update(got.value).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    const trailer = await reader.readLine();
    expect(trailer.ok && trailer.value).toBe('trailer');
    const end = await reader.readLine();
    expect(end.ok && end.value).toBe(EOF);
    await writing;
  });
});

describe('BufferedReader buffer access', () => {
  test('readSome returns at most max bytes and keeps the surplus buffered', async () => {
    const reader = new BufferedReader(fromChunks(['abcdef']));
    const r = await reader.readSome(2);
    expect(r.ok && r.value !== EOF && text(r.value)).toBe('ab');
    expect(reader.buffered).toBe(4);
    const rest = await reader.readSome();
    expect(rest.ok && rest.value !== EOF && text(rest.value)).toBe('cdef');
    const end = await reader.readSome();
    expect(end.ok && end.value).toBe(EOF);
  });

  test('read drains the internal buffer before reading the flow', async () => {
    const reader = new BufferedReader(fromChunks(['line\nrest', '-more']));
    const line = await reader.readLine();
    expect(line.ok && line.value).toBe('line');
    const r1 = await reader.read();
    expect(r1.ok && r1.value !== EOF && text(r1.value)).toBe('rest');
    const r2 = await reader.read();
    expect(r2.ok && r2.value !== EOF && text(r2.value)).toBe('-more');
  });

  test('unread pushes bytes back in front of the buffer', async () => {
    const reader = new BufferedReader(fromChunks(['world\n']));
    reader.unread(Buffer.from('hello '));
    expect(reader.buffered).toBe(6);
    const r = await reader.readLine();
    expect(r.ok && r.value).toBe('hello world');
  });

  test('unread after a partial readSome restores the original order', async () => {
    const reader = new BufferedReader(fromChunks(['abc\n']));
    const r = await reader.readSome(2);
    if (!r.ok || r.value === EOF) throw new Error('expected bytes');
    reader.unread(r.value);
    const line = await reader.readLine();
    expect(line.ok && line.value).toBe('abc');
  });

  test('detach hands back the flow and the leftover bytes for a protocol switch', async () => {
    const [a, b] = pair();
    const sending = send(a, 'UPGRADE\r\nbinary-bytes');
    const reader = new BufferedReader(b);
    const line = await reader.readLine();
    expect(line.ok && line.value).toBe('UPGRADE');
    const { flow, leftover } = reader.detach();
    expect(flow).toBe(b);
    const tail: Uint8Array[] = [leftover];
    for (;;) {
      const r = await flow.read();
      if (!r.ok) throw r.error;
      if (r.value === EOF) break;
      tail.push(r.value);
    }
    expect(Buffer.concat(tail).toString()).toBe('binary-bytes');
    expect(() => reader.readSome()).toThrow(/detached/);
    await sending;
  });

  test('a second operation while one is pending is rejected with a programmer error', async () => {
    const [a, b] = pair();
    const reader = new BufferedReader(b);
    const pending = reader.readLine();
    expect(() => reader.readExactly(1)).toThrow(/in progress/);
    expect(() => reader.unread(Buffer.from('x'))).toThrow(/in progress/);
    await send(a, 'ok\n');
    const r = await pending;
    expect(r.ok && r.value).toBe('ok');
    // Once the first settled, the reader is usable again.
    const end = await reader.readLine();
    expect(end.ok && end.value).toBe(EOF);
  });

  test('bad arguments throw', () => {
    const reader = new BufferedReader(fromChunks([]));
    expect(() => reader.readExactly(-1)).toThrow(RangeError);
    expect(() => reader.readExactly(1.5)).toThrow(RangeError);
    expect(() => reader.readSome(0)).toThrow(RangeError);
    expect(() => reader.readSome(1.5)).toThrow(RangeError);
    expect(() => reader.readLine({ maxLength: -1 })).toThrow(RangeError);
    expect(() => reader.readLine({ encoding: 'nope' as BufferEncoding })).toThrow(TypeError);
    expect(() => new BufferedReader(fromChunks([]), { maxLineLength: -1 })).toThrow(RangeError);
  });
});
