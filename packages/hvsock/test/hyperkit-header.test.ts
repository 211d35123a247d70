import { DEFAULT_HYPERKIT_GUEST_CID, decodeHyperkitHeader, encodeHyperkitHeader, HYPERKIT_HEADER_BYTES } from '../src/hyperkit/header';
import { dockerDesktopHyperkitDir, hyperkitConnectPath, hyperkitListenPath } from '../src/hyperkit/paths';

describe('encodeHyperkitHeader', () => {
  test.each([
    [3, 80, '00000003.00000050\n'],
    [3, 0x5653, '00000003.00005653\n'],
    [0xffffffff, 0xffffffff, 'ffffffff.ffffffff\n'],
    [0, 0, '00000000.00000000\n'],
    [0xabc, 0xdef12, '00000abc.000def12\n'],
  ])('cid %d port %d is %p', (cid, port, text) => {
    const header = encodeHyperkitHeader(cid, port);
    expect(header.toString('latin1')).toBe(text);
    expect(header.length).toBe(HYPERKIT_HEADER_BYTES);
  });

  test('the default guest CID is 3', () => {
    expect(DEFAULT_HYPERKIT_GUEST_CID).toBe(3);
  });

  test.each([
    [-1, 1],
    [1, 2 ** 32],
    [1.5, 1],
  ])('cid %p port %p are programmer errors', (cid, port) => {
    expect(() => encodeHyperkitHeader(cid, port)).toThrow(RangeError);
  });
});

describe('decodeHyperkitHeader', () => {
  test('round-trips', () => {
    expect(decodeHyperkitHeader(encodeHyperkitHeader(3, 0x5653))).toEqual({ cid: 3, port: 0x5653 });
    expect(decodeHyperkitHeader(Buffer.from('0000000A.0000FFFF\n'))).toEqual({ cid: 10, port: 0xffff });
  });

  test.each(['00000003.00000050', '00000003.00000050\n\n', '0000003.000000050\n', '00000003:00000050\n', '0000000g.00000050\n', '00000003.00000050\r'])(
    '%p is rejected',
    (text) => {
      expect(decodeHyperkitHeader(Buffer.from(text, 'latin1'))).toBeUndefined();
    },
  );
});

describe('hyperkit paths', () => {
  test('host → guest connections go to <dir>/connect', () => {
    expect(hyperkitConnectPath('/var/vm')).toBe('/var/vm/connect');
  });

  test('guest → host connections arrive at <dir>/00000002.<port %08x>', () => {
    expect(hyperkitListenPath('/var/vm', 80)).toBe('/var/vm/00000002.00000050');
    expect(hyperkitListenPath('/var/vm', 0xffffffff)).toBe('/var/vm/00000002.ffffffff');
  });

  test("Docker Desktop's VM directory", () => {
    expect(dockerDesktopHyperkitDir('/Users/me')).toBe('/Users/me/Library/Containers/com.docker.docker/Data/vms/0');
  });
});
