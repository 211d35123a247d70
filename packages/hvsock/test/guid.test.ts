import {
  canonicalGuid,
  guidFromBytes,
  guidToBytes,
  HV_GUID_BROADCAST,
  HV_GUID_CHILDREN,
  HV_GUID_LOOPBACK,
  HV_GUID_PARENT,
  HV_GUID_SILOHOST,
  HV_GUID_VSOCK_TEMPLATE,
  HV_GUID_WILDCARD,
  HV_GUID_ZERO,
  isGuid,
  MAX_SERVICE_PORT,
  parseGuid,
  serviceIdForPort,
  servicePort,
  WELL_KNOWN_VM_IDS,
  wellKnownVmId,
  wellKnownVmIdName,
} from '../src/address';

/** mulberry32: a small seeded PRNG, so that a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');

/** The bytes of a `DEFINE_GUID(name, l, w1, w2, b1..b8)` in memory on a little-endian machine, built by hand. */
function defineGuidBytes(l: number, w1: number, w2: number, b: number[]): Buffer {
  return Buffer.from([l & 0xff, (l >>> 8) & 0xff, (l >>> 16) & 0xff, l >>> 24, w1 & 0xff, w1 >>> 8, w2 & 0xff, w2 >>> 8, ...b]);
}

describe('GUID text', () => {
  test.each([
    ['00000050-facb-11e6-bd58-64006a7986d3', '00000050-facb-11e6-bd58-64006a7986d3'],
    ['3049197C-FACB-11E6-BD58-64006A7986D3', '3049197c-facb-11e6-bd58-64006a7986d3'],
    ['{A42E7CDA-D03F-480C-9CC2-A4DE20ABB878}', 'a42e7cda-d03f-480c-9cc2-a4de20abb878'],
    ['{e0e16197-dd56-4a10-9195-5ee7a155a838}', 'e0e16197-dd56-4a10-9195-5ee7a155a838'],
    ['FfFfFfFf-fFfF-FFFF-ffff-FFFFFFFFFFFF', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
  ])('parses %s as %s', (text, canonical) => {
    expect(parseGuid(text)).toBe(canonical);
    expect(isGuid(text)).toBe(true);
    expect(canonicalGuid(text)).toBe(canonical);
  });

  test.each([
    '',
    '00000050facb11e6bd5864006a7986d3',
    '00000050-facb-11e6-bd58-64006a7986d',
    '00000050-facb-11e6-bd58-64006a7986d3a',
    '{00000050-facb-11e6-bd58-64006a7986d3',
    '00000050-facb-11e6-bd58-64006a7986d3}',
    '{{00000050-facb-11e6-bd58-64006a7986d3}}',
    ' 00000050-facb-11e6-bd58-64006a7986d3',
    '00000050-facb-11e6-bd58-64006a7986d3\n',
    '0000005g-facb-11e6-bd58-64006a7986d3',
    '00000050-facb-11e6-bd5864-006a7986d3',
    '(00000050-facb-11e6-bd58-64006a7986d3)',
    'parent',
  ])('refuses %j', (text) => {
    expect(parseGuid(text)).toBeUndefined();
    expect(isGuid(text)).toBe(false);
    expect(() => canonicalGuid(text)).toThrow(RangeError);
  });

  test('a non-string is not a GUID (and does not throw)', () => {
    expect(parseGuid(42 as unknown as string)).toBeUndefined();
  });
});

describe('GUID bytes in the Windows layout (Data1 LE u32, Data2/Data3 LE u16, Data4 in order)', () => {
  test('§8 T0: port 80 ⇄ 00000050-facb-11e6-bd58-64006a7986d3 ⇄ 50 00 00 00 cb fa e6 11 bd 58 64 00 6a 79 86 d3', () => {
    const guid = serviceIdForPort(80);
    expect(guid).toBe('00000050-facb-11e6-bd58-64006a7986d3');
    const bytes = hex('50 00 00 00 cb fa e6 11 bd 58 64 00 6a 79 86 d3');
    expect(guidToBytes(guid)).toEqual(bytes);
    expect(guidFromBytes(bytes)).toBe(guid);
    expect(servicePort(guid)).toBe(80);
  });

  test('§8 T0: 0x5653 (linuxkit/virtsock sock_stress default port) ⇄ 00005653-facb-…', () => {
    const guid = serviceIdForPort(0x5653);
    expect(guid).toBe('00005653-facb-11e6-bd58-64006a7986d3');
    expect(guidToBytes(guid)).toEqual(hex('53 56 00 00 cb fa e6 11 bd 58 64 00 6a 79 86 d3'));
    expect(servicePort('00005653-FACB-11E6-BD58-64006A7986D3')).toBe(0x5653);
  });

  test('virtsock sock_stress service id 3049197C-FACB-… is port 0x3049197c', () => {
    expect(servicePort('3049197C-FACB-11E6-BD58-64006A7986D3')).toBe(0x3049197c);
    expect(guidToBytes('3049197C-FACB-11E6-BD58-64006A7986D3')).toEqual(hex('7c 19 49 30 cb fa e6 11 bd 58 64 00 6a 79 86 d3'));
  });

  test('a GUID with distinct bytes everywhere lands each field where Windows puts it', () => {
    expect(guidToBytes('00112233-4455-6677-8899-aabbccddeeff')).toEqual(hex('33 22 11 00 55 44 77 66 88 99 aa bb cc dd ee ff'));
    expect(guidFromBytes(hex('33 22 11 00 55 44 77 66 88 99 aa bb cc dd ee ff'))).toBe('00112233-4455-6677-8899-aabbccddeeff');
  });

  test('guidFromBytes reads at an offset, also inside a larger Uint8Array view', () => {
    const backing = new Uint8Array(40);
    backing.set(guidToBytes(HV_GUID_PARENT), 7);
    const view = backing.subarray(3);
    expect(guidFromBytes(view, 4)).toBe(HV_GUID_PARENT);
  });

  test('too few bytes or a bad offset is a programmer error', () => {
    expect(() => guidFromBytes(new Uint8Array(15))).toThrow(RangeError);
    expect(() => guidFromBytes(new Uint8Array(20), 5)).toThrow(RangeError);
    expect(() => guidFromBytes(new Uint8Array(20), -1)).toThrow(RangeError);
    expect(() => guidToBytes('not-a-guid')).toThrow(RangeError);
  });

  test('seeded: 2000 random GUIDs survive bytes → text → bytes and text → bytes → text', () => {
    const rnd = prng(0x6b90ba4);
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(Array.from({ length: 16 }, () => Math.floor(rnd() * 256)));
      const text = guidFromBytes(bytes);
      expect(parseGuid(text)).toBe(text);
      expect(guidToBytes(text)).toEqual(bytes);
      expect(guidFromBytes(guidToBytes(text.toUpperCase()))).toBe(text);
    }
  });
});

describe('well-known GUIDs (mingw-w64 hvsocket.h 10.0.0-3, microsoft/go-winio hvsock.go @0a4c421c)', () => {
  // The DEFINE_GUID arguments as hvsocket.h writes them; text and bytes are both checked.
  const table: [string, string, number, number, number, number[]][] = [
    ['HV_GUID_ZERO', HV_GUID_ZERO, 0x00000000, 0x0000, 0x0000, [0, 0, 0, 0, 0, 0, 0, 0]],
    ['HV_GUID_WILDCARD', HV_GUID_WILDCARD, 0x00000000, 0x0000, 0x0000, [0, 0, 0, 0, 0, 0, 0, 0]],
    ['HV_GUID_BROADCAST', HV_GUID_BROADCAST, 0xffffffff, 0xffff, 0xffff, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    ['HV_GUID_CHILDREN', HV_GUID_CHILDREN, 0x90db8b89, 0x0d35, 0x4f79, [0x8c, 0xe9, 0x49, 0xea, 0x0a, 0xc8, 0xb7, 0xcd]],
    ['HV_GUID_LOOPBACK', HV_GUID_LOOPBACK, 0xe0e16197, 0xdd56, 0x4a10, [0x91, 0x95, 0x5e, 0xe7, 0xa1, 0x55, 0xa8, 0x38]],
    ['HV_GUID_PARENT', HV_GUID_PARENT, 0xa42e7cda, 0xd03f, 0x480c, [0x9c, 0xc2, 0xa4, 0xde, 0x20, 0xab, 0xb8, 0x78]],
    ['HV_GUID_SILOHOST', HV_GUID_SILOHOST, 0x36bd0c5c, 0x7276, 0x4223, [0x88, 0xba, 0x7d, 0x03, 0xb6, 0x54, 0xc5, 0x68]],
    ['HV_GUID_VSOCK_TEMPLATE', HV_GUID_VSOCK_TEMPLATE, 0x00000000, 0xfacb, 0x11e6, [0xbd, 0x58, 0x64, 0x00, 0x6a, 0x79, 0x86, 0xd3]],
  ];

  test.each(table)('%s', (_name, value, l, w1, w2, b) => {
    const text = `${l.toString(16).padStart(8, '0')}-${w1.toString(16).padStart(4, '0')}-${w2.toString(16).padStart(4, '0')}-${Buffer.from(b.slice(0, 2)).toString('hex')}-${Buffer.from(b.slice(2)).toString('hex')}`;
    expect(value).toBe(text);
    expect(guidToBytes(value)).toEqual(defineGuidBytes(l, w1, w2, b));
  });

  test('the spec §1.2 table, verbatim', () => {
    expect([HV_GUID_WILDCARD, HV_GUID_BROADCAST, HV_GUID_CHILDREN, HV_GUID_LOOPBACK, HV_GUID_PARENT, HV_GUID_SILOHOST, HV_GUID_VSOCK_TEMPLATE]).toEqual([
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      '90db8b89-0d35-4f79-8ce9-49ea0ac8b7cd',
      'e0e16197-dd56-4a10-9195-5ee7a155a838',
      'a42e7cda-d03f-480c-9cc2-a4de20abb878',
      '36bd0c5c-7276-4223-88ba-7d03b654c568',
      '00000000-facb-11e6-bd58-64006a7986d3',
    ]);
  });

  test('VM id names ⇄ GUIDs, case-insensitively, and nothing else', () => {
    expect(WELL_KNOWN_VM_IDS).toEqual({
      wildcard: HV_GUID_WILDCARD,
      children: HV_GUID_CHILDREN,
      loopback: HV_GUID_LOOPBACK,
      parent: HV_GUID_PARENT,
      silohost: HV_GUID_SILOHOST,
      broadcast: HV_GUID_BROADCAST,
    });
    for (const [name, guid] of Object.entries(WELL_KNOWN_VM_IDS)) {
      expect(wellKnownVmId(name)).toBe(guid);
      expect(wellKnownVmId(name.toUpperCase())).toBe(guid);
      expect(wellKnownVmIdName(guid)).toBe(name);
      expect(wellKnownVmIdName(`{${guid.toUpperCase()}}`)).toBe(name);
    }
    expect(wellKnownVmId('host')).toBeUndefined();
    expect(wellKnownVmId('constructor')).toBeUndefined();
    expect(wellKnownVmId('__proto__')).toBeUndefined();
    expect(wellKnownVmIdName(HV_GUID_VSOCK_TEMPLATE)).toBeUndefined();
    expect(wellKnownVmIdName('parent')).toBeUndefined();
  });
});

describe('port ⇄ service id through the template', () => {
  test.each([
    [0, '00000000-facb-11e6-bd58-64006a7986d3'],
    [1, '00000001-facb-11e6-bd58-64006a7986d3'],
    [1024, '00000400-facb-11e6-bd58-64006a7986d3'],
    [0x7fffffff, '7fffffff-facb-11e6-bd58-64006a7986d3'],
  ])('port %d ⇄ %s', (port, guid) => {
    expect(serviceIdForPort(port)).toBe(guid);
    expect(servicePort(guid)).toBe(port);
  });

  test('mapping a port above 0x7fffffff, or not a port at all, is a programmer error', () => {
    expect(MAX_SERVICE_PORT).toBe(0x7fffffff);
    for (const bad of [0x80000000, 0xffffffff, -1, 1.5, Number.NaN, Infinity]) {
      expect(() => serviceIdForPort(bad)).toThrow(RangeError);
    }
  });

  test('a template GUID with Data1 above 0x7fffffff still reads back as its u32 (as hv_sock reads it)', () => {
    expect(servicePort('80000000-facb-11e6-bd58-64006a7986d3')).toBe(0x80000000);
    expect(servicePort('ffffffff-facb-11e6-bd58-64006a7986d3')).toBe(0xffffffff);
  });

  test('a GUID outside the template, or no GUID, has no port', () => {
    expect(servicePort(HV_GUID_PARENT)).toBeUndefined();
    expect(servicePort('00000050-facb-11e6-bd58-64006a7986d4')).toBeUndefined();
    expect(servicePort('00000050-facc-11e6-bd58-64006a7986d3')).toBeUndefined();
    expect(servicePort('80')).toBeUndefined();
    expect(servicePort('')).toBeUndefined();
  });
});
