// The pieces of the simulated guest that need no worker: its cooked tty, its source bytes, and
// the write stamps it shares with dom0's thread.
import { LineDiscipline, MAX_LINE } from '../src/sim/guest-line-discipline';
import { checkBehaviour, SourceBytes, sourceBytes } from '../src/sim/guest-behaviours';
import { WriteStamps } from '../src/sim/guest-write-stamps';

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');

describe('LineDiscipline (n_tty, cooked)', () => {
  test('echoes as typed, maps CR to NL, and writes each line back with CR LF (ONLCR)', () => {
    const tty = new LineDiscipline();
    expect(text(tty.input(bytes('ab')))).toBe('ab');
    expect(tty.pending).toBe(2);
    expect(text(tty.input(bytes('c\r')))).toBe('c\r\nabc\r\n');
    expect(text(tty.input(bytes('\n')))).toBe('\r\n\r\n'); // an empty line
    expect(tty.pending).toBe(0);
  });

  test('DEL and BS erase one byte (BS space BS), ^U the line; erasing nothing echoes nothing', () => {
    const tty = new LineDiscipline();
    expect(text(tty.input(bytes('\x7f\x08')))).toBe('');
    expect(text(tty.input(bytes('xy\x08z\x15q\n')))).toBe('xy\b \bz\b \b\b \bq\r\nq\r\n');
  });

  test('a line holds at most N_TTY_BUF_SIZE - 1 bytes before its newline; the rest is dropped unechoed', () => {
    const tty = new LineDiscipline();
    const echoed = tty.input(new Uint8Array(MAX_LINE + 100).fill(0x61));
    expect(echoed.length).toBe(MAX_LINE - 1);
    const line = text(tty.input(bytes('\n')));
    expect(line).toBe(`\r\n${'a'.repeat(MAX_LINE - 1)}\r\n`);
  });
});

describe('source bytes', () => {
  test('the stream does not depend on how it is cut into writes', () => {
    const whole = sourceBytes(10_007, 42);
    const cut = new SourceBytes(42);
    const parts = [1, 2, 3, 5, 4093, 7, 5896].map((n) => Buffer.from(cut.fill(new Uint8Array(n))));
    expect(Buffer.concat(parts).equals(Buffer.from(whole))).toBe(true);
    expect(Buffer.from(sourceBytes(64, 43)).equals(Buffer.from(whole.subarray(0, 64)))).toBe(false);
  });

  test('seed 0 is usable (xorshift has no zero state)', () => {
    expect(sourceBytes(16, 0).some((b) => b !== 0)).toBe(true);
  });

  test('behaviours are checked before a worker starts', () => {
    expect(() => checkBehaviour({ kind: 'sink', bytes: 1.5 })).toThrow(RangeError);
    expect(() => checkBehaviour({ kind: 'source', bytes: 1, seed: 2 ** 32 })).toThrow(RangeError);
    expect(() => checkBehaviour({ kind: 'source', bytes: 1, chunkSize: 32 * 1024 * 1024 })).toThrow(RangeError);
    expect(() => checkBehaviour({ kind: 'nap' } as never)).toThrow(/unknown guest behaviour/);
    expect(() => checkBehaviour({ kind: 'source', bytes: 0 })).not.toThrow();
  });
});

describe('WriteStamps', () => {
  test('keeps the times of the last `slots` writes, in order, and forgets older ones', () => {
    const stamps = WriteStamps.create(3);
    expect(stamps.latest()).toBeUndefined();
    for (let i = 0; i < 5; i++) stamps.stamp(BigInt(100 + i));
    expect(stamps.count).toBe(5);
    expect([0, 1, 2, 3, 4].map((i) => stamps.at(i))).toEqual([undefined, undefined, 102n, 103n, 104n]);
    expect(stamps.latest()).toBe(104n);
    expect(stamps.at(5)).toBeUndefined();
  });

  test('another view of the same memory (the other thread) sees the same stamps', () => {
    const stamps = WriteStamps.create(2);
    const other = new WriteStamps(stamps.buffer);
    other.stamp(7n);
    expect(stamps.latest()).toBe(7n);
    expect(() => WriteStamps.create(0)).toThrow(RangeError);
    expect(() => new WriteStamps(new SharedArrayBuffer(12))).toThrow(RangeError);
  });
});
