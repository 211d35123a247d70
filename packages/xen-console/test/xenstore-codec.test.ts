import {
  checkPath,
  decodeHeader,
  decodeReplyPayload,
  decodeRequestPayload,
  encodeErrorPayload,
  encodeFrame,
  encodeReplyPayload,
  encodeRequestPayload,
  FrameDecoder,
  formatPerm,
  isPathWithin,
  parentPath,
  parseErrorPayload,
  parsePerm,
  requestTypeCode,
  WatchEventQueue,
  XENSTORE_ABS_PATH_MAX,
  XENSTORE_PAYLOAD_MAX,
  XENSTORE_REL_PATH_MAX,
  XS_ERRORS,
  XS_TYPE_COUNT_4_17,
  XS_TYPE_COUNT_MASTER,
  xsError,
  xsErrorKind,
  XsType,
  xsTypeName,
  type XsReply,
  type XsRequest,
} from '../src/xenstore';
import { backoffDelay } from '../src/xenstore/backoff';
import { header } from './support/xenstore-peer';
import { failure, value } from './support/xenstore-support';

const hex = (b: Buffer): string => b.toString('hex');

describe('message types (xs_wire.h)', () => {
  it('has the 4.17 numbers and master additions', () => {
    expect(XsType).toMatchObject({
      CONTROL: 0,
      DIRECTORY: 1,
      READ: 2,
      GET_PERMS: 3,
      WATCH: 4,
      UNWATCH: 5,
      TRANSACTION_START: 6,
      TRANSACTION_END: 7,
      INTRODUCE: 8,
      RELEASE: 9,
      GET_DOMAIN_PATH: 10,
      WRITE: 11,
      MKDIR: 12,
      RM: 13,
      SET_PERMS: 14,
      WATCH_EVENT: 15,
      ERROR: 16,
      IS_DOMAIN_INTRODUCED: 17,
      RESUME: 18,
      SET_TARGET: 19,
      RESET_WATCHES: 21,
      DIRECTORY_PART: 22,
      GET_FEATURE: 23,
      SET_FEATURE: 24,
      GET_QUOTA: 25,
      SET_QUOTA: 26,
      INVALID: 0xffff,
    });
    expect(XS_TYPE_COUNT_4_17).toBe(23);
    expect(XS_TYPE_COUNT_MASTER).toBe(27);
    expect(xsTypeName(20)).toBeUndefined(); // XS_RESTRICT, removed
    expect(xsTypeName(22)).toBe('DIRECTORY_PART');
  });

  it('lists the xsd_errors names with their errno values', () => {
    expect(Object.keys(XS_ERRORS)).toEqual([
      'EINVAL',
      'EACCES',
      'EEXIST',
      'EISDIR',
      'ENOENT',
      'ENOMEM',
      'ENOSPC',
      'EIO',
      'ENOTEMPTY',
      'ENOSYS',
      'EROFS',
      'EBUSY',
      'EAGAIN',
      'EISCONN',
      'E2BIG',
      'EPERM',
    ]);
  });
});

describe('frames', () => {
  // Wire trace of libxenstore 4.17 (xenstore-utils) in the reference, section 9.
  const trace: Array<[string, number, number, string]> = [
    ['WRITE', 0, 0, '/local/domain/1/device/console/1/state\x001'],
    ['TRANSACTION_START', 0, 0, '\x00'],
    ['SET_PERMS', 0, 7, '/local/domain/1/device/console/1\x00n1\x00r0\x00'],
    ['TRANSACTION_END', 0, 7, 'T\x00'],
    ['WATCH', 0, 0, '/local/domain/1/device/console/1\x00/local/domain/1/device/console/1\x00'],
  ];

  it.each(trace)('encodes the traced %s frame byte for byte', (type, reqId, txId, payload) => {
    const body = Buffer.from(payload, 'latin1');
    const frame = encodeFrame({ type: XsType[type as keyof typeof XsType], reqId, txId, payload: body });
    expect(hex(frame)).toBe(hex(Buffer.concat([header(XsType[type as keyof typeof XsType], reqId, txId, body.length), body])));
    expect(decodeHeader(frame)).toEqual({ type: XsType[type as keyof typeof XsType], reqId, txId, len: body.length });
  });

  it('produces the traced payloads from typed requests, with the traced lengths', () => {
    const reqs: XsRequest[] = [
      { type: 'WRITE', path: '/local/domain/1/device/console/1/state', value: Buffer.from('1') },
      { type: 'TRANSACTION_START' },
      {
        type: 'SET_PERMS',
        path: '/local/domain/1/device/console/1',
        perms: [
          { access: 'n', domid: 1 },
          { access: 'r', domid: 0 },
        ],
      },
      { type: 'TRANSACTION_END', commit: true },
      { type: 'WATCH', path: '/local/domain/1/device/console/1', token: '/local/domain/1/device/console/1' },
    ];
    const lengths = [40, 1, 39, 2, 66];
    reqs.forEach((req, i) => {
      const payload = encodeRequestPayload(req);
      expect(payload.toString('latin1')).toBe(trace[i][3]);
      expect(payload.length).toBe(lengths[i]);
      expect(requestTypeCode(req.type)).toBe(XsType[trace[i][0] as keyof typeof XsType]);
    });
  });

  it('writes the header little-endian', () => {
    const f = encodeFrame({ type: 0x01020304, reqId: 0x05060708, txId: 0x090a0b0c, payload: Buffer.from('ab') });
    expect(hex(f)).toBe('04030201' + '08070605' + '0c0b0a09' + '02000000' + '6162');
  });

  it('refuses to encode a payload over 4096 bytes or bad header fields', () => {
    expect(() => encodeFrame({ type: 2, reqId: 1, txId: 0, payload: Buffer.alloc(XENSTORE_PAYLOAD_MAX + 1) })).toThrow(RangeError);
    expect(encodeFrame({ type: 2, reqId: 1, txId: 0, payload: Buffer.alloc(XENSTORE_PAYLOAD_MAX) }).length).toBe(16 + 4096);
    expect(() => encodeFrame({ type: -1, reqId: 1, txId: 0, payload: Buffer.alloc(0) })).toThrow(RangeError);
    expect(() => encodeFrame({ type: 2, reqId: 2 ** 32, txId: 0, payload: Buffer.alloc(0) })).toThrow(RangeError);
  });
});

describe('FrameDecoder', () => {
  const frames = [
    encodeFrame({ type: 2, reqId: 1, txId: 0, payload: Buffer.from('/a\0') }),
    encodeFrame({ type: 15, reqId: 0, txId: 0, payload: Buffer.from('/a\0tok\0') }),
    encodeFrame({ type: 11, reqId: 3, txId: 9, payload: Buffer.alloc(0) }),
  ];
  const all = Buffer.concat(frames);

  it('decodes frames fed one byte at a time', () => {
    const d = new FrameDecoder();
    const out = [];
    for (const byte of all) out.push(...value(d.push(Buffer.from([byte]))));
    expect(out.map((f) => [f.type, f.reqId, f.txId, f.payload.toString('latin1')])).toEqual([
      [2, 1, 0, '/a\0'],
      [15, 0, 0, '/a\0tok\0'],
      [11, 3, 9, ''],
    ]);
    expect(d.buffered).toBe(0);
    expect(d.finish().ok).toBe(true);
  });

  it('decodes many frames in one chunk and keeps a partial tail', () => {
    const d = new FrameDecoder();
    const out = value(d.push(Buffer.concat([all, frames[0].subarray(0, 10)])));
    expect(out).toHaveLength(3);
    expect(d.buffered).toBe(10);
    expect(value(d.push(frames[0].subarray(10)))).toHaveLength(1);
  });

  it('rejects a header announcing more than 4096 bytes before buffering any of it', () => {
    const d = new FrameDecoder();
    const e = failure(d.push(header(2, 1, 0, 0xffffffff)));
    expect(e.kind).toBe('protocol');
    expect(e.code).toBe('E2BIG');
    expect(d.buffered).toBe(0);
    // Sticky: later input gets the same error.
    expect(failure(d.push(frames[0]))).toBe(e);
    expect(failure(new FrameDecoder().push(header(2, 1, 0, 4097))).kind).toBe('protocol');
    expect(value(new FrameDecoder().push(header(2, 1, 0, 4096)))).toEqual([]);
  });

  it('reports a frame cut short at end of stream', () => {
    const d = new FrameDecoder();
    value(d.push(frames[1].subarray(0, 20)));
    const e = failure(d.finish());
    expect(e.kind).toBe('eof-early');
    expect(e.message).toMatch(/20 of 23 bytes/);
    const h = new FrameDecoder();
    value(h.push(frames[1].subarray(0, 5)));
    expect(failure(h.finish()).message).toMatch(/5 of 16 bytes/);
  });

  it('never holds more than one frame however the input is cut', () => {
    const d = new FrameDecoder();
    let most = 0;
    const big = encodeFrame({ type: 11, reqId: 1, txId: 0, payload: Buffer.alloc(4096, 0x61) });
    const stream = Buffer.concat(Array.from({ length: 50 }, () => big));
    let count = 0;
    for (let at = 0; at < stream.length; at += 1000) {
      count += value(d.push(stream.subarray(at, at + 1000))).length;
      most = Math.max(most, d.buffered);
    }
    expect(count).toBe(50);
    expect(most).toBeLessThanOrEqual(16 + 4096);
  });
});

describe('request payloads', () => {
  const cases: Array<[XsRequest, string]> = [
    [{ type: 'READ', path: '/a/b' }, '/a/b|'],
    [{ type: 'DIRECTORY', path: '/a' }, '/a|'],
    [{ type: 'GET_PERMS', path: '/a' }, '/a|'],
    [{ type: 'MKDIR', path: '/a' }, '/a|'],
    [{ type: 'RM', path: '/a' }, '/a|'],
    [{ type: 'WRITE', path: '/a', value: Buffer.from('x\0y') }, '/a|x|y'],
    [{ type: 'WRITE', path: '/a', value: Buffer.alloc(0) }, '/a|'],
    [{ type: 'SET_PERMS', path: '/a', perms: [{ access: 'b', domid: 3 }] }, '/a|b3|'],
    [{ type: 'WATCH', path: '/a', token: 't' }, '/a|t|'],
    [{ type: 'WATCH', path: '@releaseDomain', token: 't', depth: 1 }, '@releaseDomain|t|1|'],
    [{ type: 'UNWATCH', path: '/a', token: 't' }, '/a|t|'],
    [{ type: 'TRANSACTION_START' }, '|'],
    [{ type: 'TRANSACTION_END', commit: false }, 'F|'],
    [{ type: 'INTRODUCE', domid: 5, mfn: '1234', port: 7 }, '5|1234|7|'],
    [{ type: 'RELEASE', domid: 5 }, '5|'],
    [{ type: 'RESUME', domid: 5 }, '5|'],
    [{ type: 'GET_DOMAIN_PATH', domid: 5 }, '5|'],
    [{ type: 'IS_DOMAIN_INTRODUCED', domid: 5 }, '5|'],
    [{ type: 'SET_TARGET', domid: 5, target: 6 }, '5|6|'],
    [{ type: 'RESET_WATCHES' }, '|'],
    [{ type: 'DIRECTORY_PART', path: '/a', offset: 10 }, '/a|10|'],
    [{ type: 'GET_FEATURE' }, ''],
    [{ type: 'GET_FEATURE', domid: 2 }, '2|'],
    [{ type: 'SET_FEATURE', domid: 2, value: 1 }, '2|1|'],
    [{ type: 'GET_QUOTA' }, ''],
    [{ type: 'GET_QUOTA', quota: 'nodes' }, 'nodes|'],
    [{ type: 'GET_QUOTA', domid: 3, quota: 'nodes' }, '3|nodes|'],
    [{ type: 'SET_QUOTA', quota: 'nodes', value: 9 }, 'nodes|9|'],
    [{ type: 'SET_QUOTA', domid: 3, quota: 'nodes', value: 9 }, '3|nodes|9|'],
    [{ type: 'CONTROL', args: ['print', 'hi'] }, 'print|hi|'],
  ];

  it.each(cases)('%j encodes as %s and decodes back', (req, wire) => {
    const payload = encodeRequestPayload(req);
    expect(payload.toString('latin1').replace(/\0/g, '|')).toBe(wire);
    const back = value(decodeRequestPayload(XsType[req.type], payload));
    expect(back).toEqual(req);
  });

  it('rejects malformed requests as a server must', () => {
    const bad: Array<[number, string]> = [
      [XsType.READ, '/a'], // no NUL
      [XsType.READ, '/a\0b\0'], // two strings
      [XsType.WRITE, '/a'], // no separator
      [XsType.SET_PERMS, '/a\0'], // no permission
      [XsType.SET_PERMS, '/a\0x1\0'],
      [XsType.SET_PERMS, '/a\0r99999\0'],
      [XsType.WATCH, '/a\0'],
      [XsType.WATCH, '/a\0t\0deep\0'],
      [XsType.TRANSACTION_START, 'x\0'],
      [XsType.TRANSACTION_END, 'X\0'],
      [XsType.TRANSACTION_END, 'T'],
      [XsType.GET_DOMAIN_PATH, '-1\0'],
      [XsType.GET_DOMAIN_PATH, '12abc\0'],
      [XsType.GET_DOMAIN_PATH, '65536\0'],
      [XsType.INTRODUCE, '1\0x\0'],
      [XsType.ERROR, 'EINVAL\0'],
      [XsType.WATCH_EVENT, '/a\0t\0'],
      [99, ''],
      [20, ''],
    ];
    for (const [type, payload] of bad) {
      const r = decodeRequestPayload(type, Buffer.from(payload, 'latin1'));
      expect([type, payload, r.ok]).toEqual([type, payload, false]);
    }
  });

  it('throws for arguments no request can carry', () => {
    expect(() => encodeRequestPayload({ type: 'READ', path: '/a\0b' })).toThrow(TypeError);
    expect(() => encodeRequestPayload({ type: 'RELEASE', domid: 70000 })).toThrow(RangeError);
  });
});

describe('reply payloads', () => {
  const cases: Array<[XsReply, string]> = [
    [{ type: 'READ', value: Buffer.from('v\0w') }, 'v|w'],
    [{ type: 'DIRECTORY', children: ['a', 'b'] }, 'a|b|'],
    [{ type: 'DIRECTORY', children: [] }, ''],
    [
      {
        type: 'GET_PERMS',
        perms: [
          { access: 'n', domid: 0 },
          { access: 'r', domid: 1 },
        ],
      },
      'n0|r1|',
    ],
    [{ type: 'TRANSACTION_START', txId: 7 }, '7|'],
    [{ type: 'GET_DOMAIN_PATH', path: '/local/domain/3' }, '/local/domain/3|'],
    [{ type: 'IS_DOMAIN_INTRODUCED', introduced: true }, 'T|'],
    [{ type: 'DIRECTORY_PART', generation: '5', children: ['a'], complete: true }, '5|a||'],
    [{ type: 'DIRECTORY_PART', generation: '5', children: ['a'], complete: false }, '5|a|'],
    [{ type: 'GET_FEATURE', value: 1 }, '1|'],
    [{ type: 'GET_QUOTA', text: '1000' }, '1000|'],
    [{ type: 'WRITE' }, 'OK|'],
    [{ type: 'TRANSACTION_END' }, 'OK|'],
    [{ type: 'ERROR', code: 'EACCES' }, 'EACCES|'],
    [{ type: 'WATCH_EVENT', path: '/a/b', token: 'tok' }, '/a/b|tok|'],
  ];

  it.each(cases)('%j encodes as %s and decodes back', (reply, wire) => {
    const payload = encodeReplyPayload(reply);
    expect(payload.toString('latin1').replace(/\0/g, '|')).toBe(wire);
    expect(value(decodeReplyPayload(XsType[reply.type], payload))).toEqual(reply);
  });

  it('rejects malformed replies with a protocol error', () => {
    const bad: Array<[number, string]> = [
      [XsType.WRITE, 'KO\0'],
      [XsType.DIRECTORY, 'a\0b'],
      [XsType.DIRECTORY, 'a\0\0'],
      [XsType.GET_PERMS, ''],
      [XsType.GET_PERMS, 'q1\0'],
      [XsType.TRANSACTION_START, '0\0'],
      [XsType.TRANSACTION_START, '99999999999\0'],
      [XsType.TRANSACTION_START, 'x\0'],
      [XsType.ERROR, 'EINVAL'.repeat(5) + '\0'],
      [XsType.ERROR, 'nope\0'],
      [XsType.WATCH_EVENT, '/a\0'],
      [XsType.WATCH_EVENT, '\0t\0'],
      [XsType.IS_DOMAIN_INTRODUCED, 'X\0'],
      [1234, ''],
    ];
    for (const [type, payload] of bad) {
      const e = failure(decodeReplyPayload(type, Buffer.from(payload, 'latin1')));
      expect(e.kind).toBe('protocol');
    }
  });
});

describe('errors', () => {
  it('maps xenstore error names to flow error kinds', () => {
    expect(xsErrorKind('ENOENT')).toBe('not-found');
    expect(xsErrorKind('EACCES')).toBe('permission');
    expect(xsErrorKind('EPERM')).toBe('permission');
    expect(xsErrorKind('EEXIST')).toBe('in-use');
    expect(xsErrorKind('E2BIG')).toBe('limit');
    expect(xsErrorKind('ENOSPC')).toBe('limit');
    expect(xsErrorKind('EQUOTA')).toBe('limit');
    expect(xsErrorKind('EINVAL')).toBe('invalid');
    expect(xsErrorKind('EAGAIN')).toBe('io');
    expect(xsErrorKind('EWHATEVER')).toBe('io');
  });

  it('builds errors that keep the code, the errno and say what failed', () => {
    const e = xsError('EAGAIN', 'TRANSACTION_END (transaction 7)');
    expect(e.code).toBe('EAGAIN');
    expect(e.errno).toBe(11);
    expect(e.message).toMatch(/TRANSACTION_END \(transaction 7\): EAGAIN .*conflict/);
    expect(xsError('ENOENT', 'READ /x').kind).toBe('not-found');
  });

  it('parses ERROR payloads strictly', () => {
    expect(value(parseErrorPayload(Buffer.from('ENOENT\0')))).toBe('ENOENT');
    expect(value(parseErrorPayload(Buffer.from('EQUOTA')))).toBe('EQUOTA');
    expect(parseErrorPayload(Buffer.from('ENOENT\0junk')).ok).toBe(false);
    expect(parseErrorPayload(Buffer.from('\0')).ok).toBe(false);
    expect(encodeErrorPayload('EPERM').toString('latin1')).toBe('EPERM\0');
    expect(() => encodeErrorPayload('nope')).toThrow(RangeError);
  });
});

describe('paths', () => {
  it('accepts what xenstored accepts', () => {
    for (const p of ['/', '/local/domain/1', '/a-b_c@d/0', '/@x']) expect(checkPath(p).ok).toBe(true);
    expect(checkPath('device/console/1', { allowRelative: true }).ok).toBe(true);
    expect(checkPath('@releaseDomain', { allowSpecial: true }).ok).toBe(true);
    expect(checkPath('@introduceDomain', { allowSpecial: true }).ok).toBe(true);
    expect(checkPath('/' + 'a'.repeat(XENSTORE_ABS_PATH_MAX - 1)).ok).toBe(true);
    expect(checkPath('a'.repeat(XENSTORE_REL_PATH_MAX), { allowRelative: true }).ok).toBe(true);
  });

  it('refuses the rest with an invalid error', () => {
    const bad: Array<[string, object]> = [
      ['', {}],
      ['/a b', {}],
      ['/a.b', {}],
      ['/a\nb', {}],
      ['/é', {}],
      ['//a', {}],
      ['/a//b', {}],
      ['/a/', {}],
      ['rel', {}],
      ['rel/', { allowRelative: true }],
      ['@releaseDomain', {}],
      ['@releaseDomain/5', { allowSpecial: true, allowRelative: true }],
      ['@whatever', { allowSpecial: true, allowRelative: true }],
      ['/' + 'a'.repeat(XENSTORE_ABS_PATH_MAX), {}],
      ['a'.repeat(XENSTORE_REL_PATH_MAX + 1), { allowRelative: true }],
    ];
    for (const [p, o] of bad) {
      const e = failure(checkPath(p, o));
      expect(e.kind).toBe('invalid');
      expect(e.code).toBe('EINVAL');
    }
  });

  it('knows parents and descendants', () => {
    expect(parentPath('/a/b')).toBe('/a');
    expect(parentPath('/a')).toBe('/');
    expect(parentPath('/')).toBeUndefined();
    expect(isPathWithin('/a/b', '/a')).toBe(true);
    expect(isPathWithin('/a', '/a')).toBe(true);
    expect(isPathWithin('/ab', '/a')).toBe(false);
    expect(isPathWithin('/x', '/')).toBe(true);
  });
});

describe('permissions', () => {
  it('parses and formats the four access letters', () => {
    for (const t of ['n0', 'r1', 'w12', 'b65535']) expect(formatPerm(value(parsePerm(t)))).toBe(t);
    for (const t of ['x1', 'r', 'r-1', 'r+1', 'r 1', 'r65536', 'r0x1', 'R1', 'r1 ']) expect(parsePerm(t).ok).toBe(false);
  });
});

describe('WatchEventQueue', () => {
  it('is a FIFO below its limit', () => {
    const q = new WatchEventQueue(4, '/w');
    for (const p of ['/w/a', '/w/b', '/w/a']) q.push(p);
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual(['/w/a', '/w/b', '/w/a', undefined]);
    expect(q.dropped).toBe(0);
  });

  it('drops duplicates when full, and collapses to the watched path on a new one', () => {
    const q = new WatchEventQueue(3, '/w');
    for (const p of ['/w/a', '/w/b', '/w/c', '/w/b', '/w/a']) q.push(p);
    expect(q.size).toBe(3);
    expect(q.dropped).toBe(2);
    q.push('/w/d');
    expect(q.size).toBe(1);
    expect(q.shift()).toBe('/w');
  });

  it('stays within its limit under a storm of a million events', () => {
    const q = new WatchEventQueue(64, '/w');
    let most = 0;
    for (let i = 0; i < 1_000_000; i++) {
      q.push(`/w/${i % 1000}`);
      most = Math.max(most, q.size);
    }
    expect(most).toBeLessThanOrEqual(64);
    expect(q.dropped).toBeGreaterThan(900_000);
  });
});

describe('back-off', () => {
  it('is jittered within an exponentially growing, capped window', () => {
    expect(backoffDelay(0, 2, 100, () => 0)).toBe(0);
    expect(backoffDelay(0, 2, 100, () => 0.999)).toBe(2);
    expect(backoffDelay(3, 2, 100, () => 0.999)).toBe(16);
    expect(backoffDelay(40, 2, 100, () => 0.999)).toBe(100);
  });
});
