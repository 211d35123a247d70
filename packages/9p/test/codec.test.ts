import { decode, decodeDirents, decodeStats, encode, encodeDirent, encodeStat, type Message, SCHEMA } from '../src';
import { allMessages, sampleMessage } from './support/samples';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function normalise(m: Message): unknown {
  // Payload views and Buffers compare by content.
  return JSON.parse(JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)));
}

describe('round trips', () => {
  test('the table covers every message of the three dialects', () => {
    expect(Object.keys(SCHEMA)).toHaveLength(66);
    expect(allMessages().filter(([, d]) => d === '9P2000.L')).toHaveLength(57);
    expect(allMessages().filter(([, d]) => d === '9P2000')).toHaveLength(27);
  });

  test.each(allMessages())('%s in %s encodes and decodes to the same value', (type, dialect) => {
    for (const seed of [1, 2, 3]) {
      const m = sampleMessage(type, dialect, seed);
      const bytes = Buffer.from(encode(m, dialect));
      expect(bytes.readUInt32LE(0)).toBe(bytes.length);
      expect(bytes[4]).toBe(SCHEMA[type].code);
      const back = decode(bytes, dialect);
      expect(back.ok).toBe(true);
      if (back.ok) expect(normalise(back.value)).toEqual(normalise(m));
    }
  });
});

describe('hand-written vectors', () => {
  test('Tversion with NOTAG', () => {
    const v = hex('15000000 64 ffff 00200000 0800 39503230 30302e4c');
    expect(encode({ type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L' }, '9P2000')).toEqual(v);
    expect(decode(v, '9P2000')).toEqual({ ok: true, value: { type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L' } });
  });

  test('Tattach carries n_uname only in .u and .L', () => {
    const plain = hex('14000000 68 0100 00000000 ffffffff 0100 75 0000');
    const ext = hex('18000000 68 0100 00000000 ffffffff 0100 75 0000 e8030000');
    const m = { type: 'Tattach', tag: 1, fid: 0, afid: 0xffffffff, uname: 'u', aname: '' } as const;
    expect(encode(m, '9P2000')).toEqual(plain);
    expect(encode({ ...m, nUname: 1000 }, '9P2000.u')).toEqual(ext);
    expect(encode({ ...m, nUname: 1000 }, '9P2000.L')).toEqual(ext);
    // Decoded with the negotiated dialect, never guessed from the length.
    expect(decode(plain, '9P2000.u').ok).toBe(false);
    expect(decode(ext, '9P2000').ok).toBe(false);
  });

  test('Twalk and Rwalk', () => {
    const tw = hex('18000000 6e 0200 00000000 01000000 0200 0100 61 0200 6263');
    expect(encode({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['a', 'bc'] }, '9P2000.L')).toEqual(tw);
    const rw = hex('16000000 6f 0200 0100 80 00000000 0100000000000000');
    const d = decode(rw, '9P2000.L');
    expect(d).toEqual({ ok: true, value: { type: 'Rwalk', tag: 2, qids: [{ type: 0x80, version: 0, path: 1n }] } });
  });

  test('Rread payload is a view of the frame', () => {
    const rr = hex('0d000000 75 0300 02000000 6869');
    const d = decode(rr, '9P2000');
    expect(d.ok && d.value.type === 'Rread' && Buffer.from(d.value.data).toString()).toBe('hi');
    if (d.ok && d.value.type === 'Rread') expect(d.value.data.buffer).toBe(rr.buffer);
  });

  test('Rerror gains errno in .u; Rlerror in .L', () => {
    expect(encode({ type: 'Rerror', tag: 4, ename: 'x' }, '9P2000')).toEqual(hex('0a000000 6b 0400 0100 78'));
    expect(encode({ type: 'Rerror', tag: 4, ename: 'x', errno: 2 }, '9P2000.u')).toEqual(hex('0e000000 6b 0400 0100 78 02000000'));
    expect(encode({ type: 'Rlerror', tag: 1, ecode: 2 }, '9P2000.L')).toEqual(hex('0b000000 07 0100 02000000'));
  });

  test('an empty 9P2000 stat is 49 bytes, a .u one 63, and Rstat repeats the size', () => {
    const stat = { type: 0, dev: 0, qid: { type: 0, version: 0, path: 0n }, mode: 0, atime: 0, mtime: 0, length: 0n, name: '', uid: '', gid: '', muid: '' };
    expect(encodeStat(stat, '9P2000')).toHaveLength(49);
    expect(Buffer.from(encodeStat(stat, "9P2000")).readUInt16LE(0)).toBe(47);
    expect(encodeStat({ ...stat, extension: '', nUid: 0, nGid: 0, nMuid: 0 }, '9P2000.u')).toHaveLength(63);
    const r = Buffer.from(encode({ type: "Rstat", tag: 1, stat }, "9P2000"));
    expect(r).toHaveLength(7 + 2 + 49);
    expect(r.readUInt16LE(7)).toBe(49);
    expect(r.readUInt16LE(9)).toBe(47);
  });

  test('Rgetattr is 160 bytes', () => {
    expect(encode(sampleMessage('Rgetattr', '9P2000.L'), '9P2000.L')).toHaveLength(160);
  });

  test('directory data: stats back to back, and .L dirents', () => {
    const st = { type: 0, dev: 0, qid: { type: 0, version: 0, path: 9n }, mode: 0o644, atime: 1, mtime: 2, length: 5n, name: 'f', uid: '0', gid: '0', muid: '' };
    const data = Buffer.concat([encodeStat(st, '9P2000'), encodeStat({ ...st, name: 'g' }, '9P2000')]);
    const d = decodeStats(data, '9P2000');
    expect(d.ok && d.value.map((s) => s.name)).toEqual(['f', 'g']);
    const de = Buffer.concat([encodeDirent({ qid: st.qid, offset: 1n, type: 8, name: 'f' }), encodeDirent({ qid: st.qid, offset: 2n, type: 4, name: 'dir' })]);
    expect(de).toHaveLength(24 + 1 + 24 + 3);
    const dd = decodeDirents(de);
    expect(dd.ok && dd.value.map((x) => [x.name, x.offset, x.type])).toEqual([['f', 1n, 8], ['dir', 2n, 4]]);
  });
});

describe('bad input is a typed error naming what was wrong', () => {
  const cases: [string, Buffer, string, RegExp][] = [
    ['too short', hex('0500000064'), '9P2000', /shorter than 7/],
    ['size disagrees', hex('08000000 78 0100 00000000'), '9P2000', /disagrees/],
    ['unknown type', hex('07000000 c8 0100'), '9P2000', /unknown message type 200/],
    ['Terror does not exist', hex('07000000 6a 0100'), '9P2000', /unknown message type 106/],
    ['.L message in 9P2000', hex('0f000000 0c 0100 00000000 00000000'), '9P2000', /Tlopen.*does not exist in 9P2000/],
    ['Topen in .L', hex('0c000000 70 0100 00000000 00'), '9P2000.L', /Topen.*does not exist in 9P2000.L/],
    ['truncated string', hex('0f000000 64 ffff 00200000 0900 3950'), '9P2000', /version at offset 13 needs 9 bytes, 2 left/],
    ['invalid UTF-8', hex('0f000000 64 ffff 00200000 0200 c328'), '9P2000', /not valid UTF-8/],
    ['nwname 17', Buffer.concat([hex('11000000 6e 0100 00000000 01000000 1100')]), '9P2000', /nwname 17 exceeds 16/],
    ['trailing bytes', hex('0c000000 78 0100 00000000 ff'), '9P2000', /1 unexpected bytes/],
    ['stat size below its fields', hex('11000000 7e 0100 00000000 0400 0200 0000'), '9P2000', /stat size 2 .* below the minimum 47/],
    ['.u stat without extension', Buffer.concat([hex('3c000000 7d 0100 3300'), encodeStat({ type: 0, dev: 0, qid: { type: 0, version: 0, path: 0n }, mode: 0, atime: 0, mtime: 0, length: 0n, name: '', uid: '', gid: '', muid: '' }, '9P2000'), hex('0000')]), '9P2000.u', /below the minimum 61/],
  ];
  test.each(cases)('%s', (_name, bytes, dialect, pattern) => {
    const r = decode(bytes, dialect as '9P2000');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('protocol');
      expect(r.error.message).toMatch(pattern);
    }
  });
});
