import { Worker } from 'node:worker_threads';
import { CONSOLE_LAYOUT } from '../src/ring/layout';
import type { PageOptions } from '../src/sim/page-access';
import { PlainPage } from '../src/sim/plain-page';
import { SabPage } from '../src/sim/sab-page';
import { exited } from './support/ring-ts-worker';

const kinds: ReadonlyArray<[string, (options?: PageOptions) => PlainPage | SabPage]> = [
  ['PlainPage', (options) => new PlainPage(undefined, options)],
  ['SabPage', (options) => new SabPage(undefined, options)],
];

describe.each(kinds)('%s', (_name, make) => {
  test('indices are little-endian u32 words at their byte offsets', () => {
    const page = make();
    page.storeU32(CONSOLE_LAYOUT.OUT_PROD, 0x11223344);
    const out = new Uint8Array(4);
    page.readBytes(CONSOLE_LAYOUT.OUT_PROD, 4, out, 0);
    expect([...out]).toEqual([0x44, 0x33, 0x22, 0x11]);
    page.storeU32(CONSOLE_LAYOUT.IN_CONS, 0xffffffff);
    expect(page.loadU32(CONSOLE_LAYOUT.IN_CONS)).toBe(0xffffffff);
  });

  test('bytes go in and come out where they were put', () => {
    const page = make();
    page.writeBytes(4090, Uint8Array.of(1, 2, 3, 4, 5, 6));
    const target = new Uint8Array(10);
    page.readBytes(4090, 6, target, 2);
    expect([...target]).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 0, 0]);
  });

  test('misaligned, out-of-page and non-u32 accesses are programmer errors', () => {
    const page = make();
    expect(() => page.loadU32(3)).toThrow(RangeError);
    expect(() => page.loadU32(4096)).toThrow(RangeError);
    expect(() => page.storeU32(0, -1)).toThrow(RangeError);
    expect(() => page.storeU32(0, 2 ** 32)).toThrow(RangeError);
    expect(() => page.writeBytes(4095, new Uint8Array(2))).toThrow(RangeError);
    expect(() => page.readBytes(0, 5, new Uint8Array(4), 0)).toThrow(RangeError);
  });

  test('every access after unmap throws a clear error; a second unmap is harmless', () => {
    let unmaps = 0;
    const page = make({ onUnmap: () => unmaps++ });
    expect(page.mapped).toBe(true);
    page.unmap();
    page.unmap();
    expect(page.mapped).toBe(false);
    expect(unmaps).toBe(1);
    expect(() => page.loadU32(0)).toThrow(/unmapped/);
    expect(() => page.storeU32(0, 1)).toThrow(/unmapped/);
    expect(() => page.readBytes(0, 1, new Uint8Array(1), 0)).toThrow(/unmapped/);
    expect(() => page.writeBytes(0, new Uint8Array(1))).toThrow(/unmapped/);
    expect(() => page.fence()).toThrow(/unmapped/);
  });

  test('a read-only mapping refuses stores and allows loads', () => {
    const page = make({ writable: false });
    expect(page.loadU32(0)).toBe(0);
    expect(() => page.storeU32(0, 1)).toThrow(/read-only/);
    expect(() => page.writeBytes(0, new Uint8Array(1))).toThrow(/read-only/);
  });
});

describe('SabPage sharing', () => {
  test('two mappings of one buffer see each other, and the buffer is gone after unmap', () => {
    const a = new SabPage();
    const b = new SabPage(a.buffer);
    a.writeBytes(1024, Uint8Array.of(7, 8, 9));
    a.storeU32(CONSOLE_LAYOUT.OUT_PROD, 3);
    expect(b.loadU32(CONSOLE_LAYOUT.OUT_PROD)).toBe(3);
    const got = new Uint8Array(3);
    b.readBytes(1024, 3, got, 0);
    expect([...got]).toEqual([7, 8, 9]);
    b.unmap();
    expect(() => b.buffer).toThrow(/unmapped/);
    expect(a.loadU32(CONSOLE_LAYOUT.OUT_PROD)).toBe(3);
  });

  test('a page buffer must be exactly one page', () => {
    expect(() => new SabPage(new SharedArrayBuffer(8192))).toThrow(RangeError);
    expect(() => new PlainPage(new ArrayBuffer(100))).toThrow(RangeError);
  });

  test('a worker thread writes through the same memory (data, then a release-store of the index)', async () => {
    const page = new SabPage();
    const worker = new Worker(
      `
      const { workerData } = require('node:worker_threads');
      const words = new Uint32Array(workerData.sab);
      const bytes = new Uint8Array(workerData.sab);
      bytes.set([104, 105], 1024);
      Atomics.store(words, 3084 / 4, 2);
      `,
      { eval: true, workerData: { sab: page.buffer } },
    );
    expect(await exited(worker)).toBe(0);
    expect(page.loadU32(CONSOLE_LAYOUT.OUT_PROD)).toBe(2);
    const got = new Uint8Array(2);
    page.readBytes(1024, 2, got, 0);
    expect(Buffer.from(got).toString()).toBe('hi');
  });
});
