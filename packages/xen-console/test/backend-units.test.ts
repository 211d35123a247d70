// The backend's policies as units: xenconsoled's event rate limit (with an injected clock), the
// discard-the-middle buffer, the strict parsers for what a guest writes, and the nodes and
// permissions `create` writes.
import { checkDevid, checkDomid, consoleNodes, DiscardMiddleBuffer, EventRateLimiter, parseState, parseU32, printable } from '../src';
import { pattern } from './support/backend-guest';

describe('EventRateLimiter (xenconsoled: 30 events per 200 ms, the port left masked beyond)', () => {
  function clocked(options = {}): { limiter: EventRateLimiter; at(t: number): void } {
    let now = 1000;
    const limiter = new EventRateLimiter(options, () => now);
    return { limiter, at: (t) => (now = t) };
  }

  test('the first 29 events unmask at once; the 30th and every later one in the period keep the port masked', () => {
    const { limiter, at } = clocked();
    at(1001);
    const answers = Array.from({ length: 100 }, () => limiter.admit());
    expect(answers.slice(0, 29)).toEqual(Array(29).fill(true));
    expect(answers.slice(29)).toEqual(Array(71).fill(false));
    // 30 events were handled in this period: the 30th is handled, its unmask deferred.
    expect(answers.filter((a) => a).length + 1).toBe(30);
    expect(limiter.limitedPeriods).toBe(1);
  });

  test('a new period starts once 200 ms have passed since the period began, not before', () => {
    const { limiter, at } = clocked();
    at(2000);
    for (let i = 0; i < 30; i++) limiter.admit();
    expect(limiter.msUntilNextPeriod()).toBe(200);
    at(2199);
    expect(limiter.admit()).toBe(false);
    expect(limiter.msUntilNextPeriod()).toBe(1);
    at(2200);
    expect(limiter.admit()).toBe(true);
    expect(limiter.msUntilNextPeriod()).toBe(200);
    expect(limiter.limitedPeriods).toBe(1);
    for (let i = 0; i < 40; i++) limiter.admit();
    expect(limiter.limitedPeriods).toBe(2);
  });

  test('a guest below the allowance is never limited, however long it runs', () => {
    const { limiter, at } = clocked();
    for (let period = 0; period < 50; period++) {
      for (let i = 0; i < 29; i++) {
        at(10_000 + period * 200 + i);
        expect(limiter.admit()).toBe(true);
      }
    }
    expect(limiter.limitedPeriods).toBe(0);
  });

  test('custom allowance and period; bad options are programmer errors', () => {
    const { limiter, at } = clocked({ eventsPerPeriod: 2, periodMs: 50 });
    at(5000);
    expect([limiter.admit(), limiter.admit(), limiter.admit()]).toEqual([true, false, false]);
    at(5050);
    expect(limiter.admit()).toBe(true);
    expect(() => new EventRateLimiter({ eventsPerPeriod: 0 })).toThrow(RangeError);
    expect(() => new EventRateLimiter({ eventsPerPeriod: 1.5 })).toThrow(RangeError);
    expect(() => new EventRateLimiter({ periodMs: 0 })).toThrow(RangeError);
    expect(() => new EventRateLimiter({ periodMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('DiscardMiddleBuffer (xenconsoled --overflow-data=discard)', () => {
  function drain(b: DiscardMiddleBuffer): Buffer {
    const parts: Uint8Array[] = [];
    for (let c = b.take(1000); c; c = b.take(1000)) parts.push(c);
    return Buffer.concat(parts);
  }

  test('below 5/4 of the limit nothing is dropped and bytes come out in order', () => {
    const b = new DiscardMiddleBuffer(1000);
    const data = pattern(1250, 1);
    for (let i = 0; i < data.length; i += 50) b.append(data.subarray(i, i + 50));
    expect(b.length).toBe(1250);
    expect(b.discarded).toBe(0);
    expect(drain(b)).toEqual(data);
    expect(b.length).toBe(0);
  });

  test('past 5/4 of the limit the middle goes: the first limit/2 bytes and the newest bytes stay, never more than 5/4 held', () => {
    const limit = 1000;
    const b = new DiscardMiddleBuffer(limit);
    const data = pattern(100_000, 2);
    let peak = 0;
    for (let i = 0; i < data.length; i += 37) {
      b.append(data.subarray(i, i + 37));
      peak = Math.max(peak, b.length);
    }
    expect(peak).toBeLessThanOrEqual((limit * 5) / 4);
    const kept = drain(b);
    expect(kept.length + b.discarded).toBe(data.length);
    expect(kept.length).toBeGreaterThanOrEqual(limit);
    expect(kept.length).toBeLessThanOrEqual((limit * 5) / 4);
    // The head: the start of the boot log.
    expect(kept.subarray(0, limit / 2)).toEqual(data.subarray(0, limit / 2));
    // The tail: what is happening now, contiguous up to the last byte.
    const tail = kept.length - limit / 2;
    expect(kept.subarray(limit / 2)).toEqual(data.subarray(data.length - tail));
  });

  test('bytes taken by readers are not part of the head kept later', () => {
    const b = new DiscardMiddleBuffer(100);
    const data = pattern(1000, 3);
    b.append(data.subarray(0, 60));
    expect(Buffer.from(b.take(60) ?? [])).toEqual(data.subarray(0, 60));
    for (let i = 60; i < 1000; i += 10) b.append(data.subarray(i, i + 10));
    const kept = drain(b);
    expect(kept.subarray(0, 50)).toEqual(data.subarray(60, 110));
    expect(kept.subarray(kept.length - 10)).toEqual(data.subarray(990));
  });

  test('take() splits a chunk; empty appends and takes do nothing; a tiny limit is refused', () => {
    const b = new DiscardMiddleBuffer(16);
    b.append(new Uint8Array(0));
    expect(b.take(5)).toBeUndefined();
    b.append(Uint8Array.of(1, 2, 3, 4, 5));
    expect([...(b.take(2) ?? [])]).toEqual([1, 2]);
    expect(b.take(0)).toBeUndefined();
    expect([...(b.take(10) ?? [])]).toEqual([3, 4, 5]);
    expect(() => new DiscardMiddleBuffer(3)).toThrow(RangeError);
    expect(() => new DiscardMiddleBuffer(10.5)).toThrow(RangeError);
  });
});

describe('strict parsing of what the guest writes', () => {
  test.each(['0', '8', '25', '4294967295', '1048576'])('parseU32 accepts %p', (s) => {
    expect(parseU32(s)).toBe(Number(s));
  });

  test.each([
    ['missing', undefined],
    ['empty', ''],
    ['trailing junk (sscanf would say 12)', '12abc'],
    ['negative', '-1'],
    ['plus sign', '+1'],
    ['2^32', '4294967296'],
    ['far beyond', '99999999999999999999'],
    ['leading zero', '08'],
    ['hex', '0x10'],
    ['exponent', '1e3'],
    ['fraction', '1.0'],
    ['spaces', ' 8'],
    ['newline', '8\n'],
    ['NUL', '8\u0000'],
    ['full-width digits', '\uff18'],
    ['huge', '9'.repeat(2048)],
  ])('parseU32 refuses %s', (_name, s) => {
    expect(parseU32(s)).toBeUndefined();
  });

  test('parseState: exactly one digit 0-8', () => {
    for (let n = 0; n <= 8; n++) expect(parseState(String(n))).toBe(n);
    for (const bad of [undefined, '', '9', '10', '03', '-1', ' 4', '4 ', '\u0004', 'Connected']) expect(parseState(bad)).toBeUndefined();
  });

  test('printable: control characters, escape sequences and invisible format characters never come out raw', () => {
    const hostile = 'con\u001b[2J\u001b]0;pwned\u0007sole\r\n\u0000\u007f\u0085\u009b31m\u202eevil\u2028x';
    const shown = printable(hostile);
    // eslint-disable-next-line no-control-regex
    expect(shown).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/);
    expect(shown.startsWith('con?[2J?]0;pwned?sole')).toBe(true);
    expect(printable('console-1')).toBe('console-1');
    expect(printable('x'.repeat(500)).length).toBeLessThanOrEqual(64);
  });
});

describe('consoleNodes: the keys and permissions of libxl and Conproto', () => {
  const D = 5;
  const guestOwned = [{ access: 'n', domid: D }, { access: 'r', domid: 0 }];
  const backendOwned = [{ access: 'n', domid: 0 }, { access: 'r', domid: D }];

  test('backend nodes are ours (readable by the guest); the guest owns its directory and state; limit, type, output, tty, name are read-only to it', () => {
    const n = consoleNodes({ domid: D, devid: 1, name: 'serial' });
    const perms = new Map([...n.dirs, ...n.keys].map((k) => [k.path, k.perms]));
    const values = new Map(n.keys.map((k) => [k.path, k.value]));
    const back = '/local/domain/0/backend/console/5/1';
    const front = '/local/domain/5/device/console/1';
    expect(n.back).toBe(back);
    expect(n.front).toBe(front);
    expect(perms.get(back)).toEqual(backendOwned);
    expect(perms.get(front)).toEqual(guestOwned);
    for (const k of ['frontend', 'frontend-id', 'online', 'state', 'protocol']) expect(perms.get(`${back}/${k}`)).toEqual(backendOwned);
    for (const k of ['backend', 'backend-id', 'state', 'protocol']) expect(perms.get(`${front}/${k}`)).toEqual(guestOwned);
    for (const k of ['limit', 'type', 'output', 'tty', 'name']) expect(perms.get(`${front}/${k}`)).toEqual(backendOwned);
    expect(Object.fromEntries([...values].filter(([p]) => p.startsWith(back)).map(([p, v]) => [p.slice(back.length + 1), v]))).toEqual({
      frontend: front,
      'frontend-id': '5',
      online: '1',
      state: '1',
      protocol: 'vt100',
    });
    expect(values.get(`${front}/backend`)).toBe(back);
    expect(values.get(`${front}/backend-id`)).toBe('0');
    expect(values.get(`${front}/limit`)).toBe('1048576');
    expect(values.get(`${front}/type`)).toBe('flow');
    expect(values.get(`${front}/name`)).toBe('serial');
  });

  test('a driver domain as backend: its domid everywhere the backend appears', () => {
    const n = consoleNodes({ domid: 7, devid: 3, backendDomid: 2, backendName: 'vcons' });
    expect(n.back).toBe('/local/domain/2/backend/vcons/7/3');
    expect(n.dirs[0]?.perms).toEqual([{ access: 'n', domid: 2 }, { access: 'r', domid: 7 }]);
    expect(n.dirs[1]?.perms).toEqual([{ access: 'n', domid: 7 }, { access: 'r', domid: 2 }]);
    expect(n.keys.find((k) => k.path.endsWith('/backend-id'))?.value).toBe('2');
  });

  test.each([
    ['devid 0 (the primary console is the toolstack\'s)', { domid: 5, devid: 0 }],
    ['devid 10 (Linux reads one digit)', { domid: 5, devid: 10 }],
    ['a negative domid', { domid: -1, devid: 1 }],
    ['domid past DOMID_FIRST_RESERVED', { domid: 0x7ff0, devid: 1 }],
    ['type xenconsoled', { domid: 5, devid: 1, type: 'xenconsoled' }],
    ['type ioemu', { domid: 5, devid: 1, type: 'ioemu' }],
    ['a limit of 0', { domid: 5, devid: 1, limit: 0 }],
    ['a fractional limit', { domid: 5, devid: 1, limit: 1.5 }],
    ['a backend name with a slash', { domid: 5, devid: 1, backendName: 'a/b' }],
    ['a name with an escape', { domid: 5, devid: 1, name: 'x\u001b[2J' }],
  ])('%s is a programmer error', (_name, options) => {
    expect(() => consoleNodes(options)).toThrow(RangeError);
  });

  test('checkDevid and checkDomid', () => {
    expect(checkDevid(0)).toBe(0);
    expect(checkDevid(9)).toBe(9);
    expect(() => checkDevid(1.5)).toThrow(RangeError);
    expect(() => checkDevid('1')).toThrow(RangeError);
    expect(checkDomid(0x7fef)).toBe(0x7fef);
    expect(() => checkDomid(0x7ff0)).toThrow(RangeError);
  });
});
