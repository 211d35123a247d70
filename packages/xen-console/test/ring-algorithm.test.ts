import { BackendRing } from '../src/ring/backend-ring';
import { readConsoleIndices, resetConsolePage } from '../src/ring/console-page';
import { FrontendRing } from '../src/ring/frontend-ring';
import { CONSOLE_LAYOUT } from '../src/ring/layout';
import { IN_HALF, OUT_HALF } from '../src/ring/ring-half';
import { ringAdvance, ringDistance, ringSlot } from '../src/ring/ring-index';
import { PlainPage } from '../src/sim/plain-page';
import { RecordingMemory } from './support/ring-recording-memory';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined): string => (b === undefined ? '<none>' : new TextDecoder().decode(b));

function pair(start = 0): { page: PlainPage; back: BackendRing; front: FrontendRing } {
  const page = new PlainPage();
  resetConsolePage(page, start);
  return { page, back: new BackendRing(page), front: new FrontendRing(page) };
}

describe('index arithmetic', () => {
  test('distances and advances wrap modulo 2^32 and never go negative', () => {
    expect(ringDistance(5, 0xfffffffe)).toBe(7);
    expect(ringDistance(0x80000001, 0x7fffffff)).toBe(2);
    expect(ringDistance(0, 1)).toBe(0xffffffff);
    expect(ringAdvance(0xffffffff, 1)).toBe(0);
    expect(ringAdvance(0x7fffffff, 1)).toBe(0x80000000);
    expect(ringSlot(0xffffffff, 2048)).toBe(2047);
  });

  test('the halves sit where console.h puts them', () => {
    expect([OUT_HALF.dataOffset, OUT_HALF.size, OUT_HALF.consOffset, OUT_HALF.prodOffset]).toEqual([1024, 2048, 3080, 3084]);
    expect([IN_HALF.dataOffset, IN_HALF.size, IN_HALF.consOffset, IN_HALF.prodOffset]).toEqual([0, 1024, 3072, 3076]);
  });
});

describe('backend and frontend over one page', () => {
  test('guest output goes frontend → backend through out, and input backend → frontend through in', () => {
    const { page, back, front } = pair();
    expect(front.write(text('HELLO-ON-HVC1\r\n'))).toEqual({ written: 15, notify: true });
    expect(str(back.read()?.bytes)).toBe('HELLO-ON-HVC1\r\n');
    expect(back.write(text('PING-FROM-DOM0'))).toEqual({ written: 14, notify: true });
    expect(str(front.read().bytes)).toBe('PING-FROM-DOM0');
    expect(readConsoleIndices(page)).toEqual({ inCons: 14, inProd: 14, outCons: 15, outProd: 15 });
  });

  test('the backend never reads its own input back (mirage shared-memory-ring bug 1)', () => {
    const { back } = pair();
    back.write(text('typed by dom0'));
    expect(back.read()).toEqual({ bytes: undefined, notify: false });
  });

  test('an empty pass delivers nothing, stores nothing and asks for no notify', () => {
    const { page, back } = pair(77);
    const memory = new RecordingMemory(page);
    const ring = new BackendRing(memory);
    memory.take();
    expect(ring.read()).toEqual({ bytes: undefined, notify: false });
    expect(memory.take().map((a) => a.op)).toEqual(['load', 'load']);
    expect(back.pending()).toEqual({ bytes: 0 });
  });

  test('read(max) takes at most max bytes; the rest stays for the next pass', () => {
    const { back, front } = pair();
    front.write(text('abcdefgh'));
    expect(back.pending()).toEqual({ bytes: 8 });
    expect(str(back.read(3).bytes)).toBe('abc');
    expect(str(back.read(100).bytes)).toBe('defgh');
    expect(() => back.read(0)).toThrow(RangeError);
    expect(() => back.read(1.5)).toThrow(RangeError);
  });

  test('a write takes what fits; a full ring takes nothing and asks for no notify', () => {
    const { back, front } = pair();
    const big = new Uint8Array(1500).fill(0x61);
    expect(back.write(big)).toEqual({ written: 1024, notify: true });
    expect(back.space()).toEqual({ bytes: 0 });
    expect(back.write(big)).toEqual({ written: 0, notify: false });
    expect(front.read(24).bytes?.length).toBe(24);
    expect(back.write(big)).toEqual({ written: 24, notify: true });
    expect(front.write(new Uint8Array(5000))).toEqual({ written: 2048, notify: true });
  });

  test('data that wraps the end of the ring is copied in two pieces, in order', () => {
    const { page, front } = pair(2040);
    const memory = new RecordingMemory(page);
    const reader = new BackendRing(memory);
    front.write(text('0123456789ABCDEF'));
    memory.take();
    expect(str(reader.read().bytes)).toBe('0123456789ABCDEF');
    const reads = memory.take().filter((a) => a.op === 'read');
    expect(reads).toEqual([
      { op: 'read', offset: CONSOLE_LAYOUT.OUT + 2040, length: 8 },
      { op: 'read', offset: CONSOLE_LAYOUT.OUT, length: 8 },
    ]);
  });

  test('a consumer copies, fences, then release-stores its index (xenconsoled buffer_append order)', () => {
    const { page, front } = pair();
    front.write(text('xyz'));
    const memory = new RecordingMemory(page);
    const back = new BackendRing(memory);
    memory.take();
    back.read();
    expect(memory.take()).toEqual([
      { op: 'load', offset: CONSOLE_LAYOUT.OUT_CONS, value: 0 },
      { op: 'load', offset: CONSOLE_LAYOUT.OUT_PROD, value: 3 },
      { op: 'read', offset: CONSOLE_LAYOUT.OUT, length: 3 },
      { op: 'fence' },
      { op: 'store', offset: CONSOLE_LAYOUT.OUT_CONS, value: 3 },
    ]);
  });

  test('a producer writes the data, fences, then release-stores its index (ring_free_bytes + xen_wmb order)', () => {
    const { page } = pair();
    const memory = new RecordingMemory(page);
    const back = new BackendRing(memory);
    memory.take();
    back.write(text('ab'));
    expect(memory.take()).toEqual([
      { op: 'load', offset: CONSOLE_LAYOUT.IN_CONS, value: 0 },
      { op: 'load', offset: CONSOLE_LAYOUT.IN_PROD, value: 0 },
      { op: 'write', offset: CONSOLE_LAYOUT.IN, length: 2 },
      { op: 'fence' },
      { op: 'store', offset: CONSOLE_LAYOUT.IN_PROD, value: 2 },
    ]);
  });

  test('a ring adopts the indices on the page when it attaches (an unzeroed console 0 keeps its output)', () => {
    const page = new PlainPage();
    resetConsolePage(page, 0);
    const early = new FrontendRing(page);
    early.write(text('early boot output'));
    const back = new BackendRing(page);
    expect(back.indices).toEqual({ outCons: 0, inProd: 0 });
    expect(str(back.read().bytes)).toBe('early boot output');
    expect(back.indices.outCons).toBe(17);
  });

  test('explicit start indices are used as given (and then must match the page)', () => {
    const page = new PlainPage();
    resetConsolePage(page, 0x7ffffff0);
    const back = new BackendRing(page, { outCons: 0x7ffffff0, inProd: 0x7ffffff0 });
    expect(back.indices).toEqual({ outCons: 0x7ffffff0, inProd: 0x7ffffff0 });
    const wrongStart = new BackendRing(page, { outCons: 5 });
    expect(wrongStart.read().corrupt?.reason).toBe('own-index-tampered');
    expect(() => new BackendRing(page, { outCons: -1 })).toThrow(RangeError);
    expect(() => new FrontendRing(page, { outProd: 2 ** 32 })).toThrow(RangeError);
  });

  test('resetConsolePage zeroes the page and sets every index', () => {
    const page = new PlainPage();
    page.writeBytes(0, new Uint8Array(4096).fill(0xee));
    resetConsolePage(page, 0xfffffffe);
    expect(readConsoleIndices(page)).toEqual({ inCons: 0xfffffffe, inProd: 0xfffffffe, outCons: 0xfffffffe, outProd: 0xfffffffe });
    const data = new Uint8Array(3072);
    page.readBytes(0, 3072, data, 0);
    expect(data.every((b) => b === 0)).toBe(true);
    expect(() => resetConsolePage(page, -5)).toThrow(RangeError);
  });

  test('each read returns a fresh buffer that later traffic does not change', () => {
    const { back, front } = pair();
    front.write(text('first'));
    const first = back.read().bytes;
    front.write(new Uint8Array(2048).fill(0x7a));
    back.read();
    expect(str(first)).toBe('first');
  });
});
