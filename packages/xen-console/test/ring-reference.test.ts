import { BackendRing } from '../src/ring/backend-ring';
import { FrontendRing } from '../src/ring/frontend-ring';
import { CONSOLE_LAYOUT } from '../src/ring/layout';
import { PlainPage } from '../src/sim/plain-page';
import { EINVAL, hvcReadConsole, hvcWriteConsole } from './support/ring-hvc-xen-model';
import { createPrng } from './support/ring-prng';
import { xenconsoledBufferAppend, xenconsoledHandleTtyRead, xenconsoledRingFreeBytes } from './support/ring-xenconsoled-model';

/** Index values where wrap-around and size arithmetic go wrong, if they go wrong anywhere. */
const EDGES = [
  0, 1, 2, 79, 80, 81, 1023, 1024, 1025, 2047, 2048, 2049, 4096, 0x7ffff800, 0x7fffffff, 0x80000000, 0x80000001, 0x800007ff,
  0xfffff7ff, 0xfffff800, 0xfffffbff, 0xfffffc00, 0xfffffffe, 0xffffffff,
];
const DELTAS = [0, 1, 2, 80, 1023, 1024, 1025, 2047, 2048, 2049, 0x7fffffff, 0x80000000, 0xfffff800, 0xfffffc00, 0xfffffffe, 0xffffffff];

/** The seeded adversarial set of (cons, prod) pairs: edges × edges, edges ± deltas, random ± deltas. */
function adversarialPairs(seed: number): Array<[number, number]> {
  const prng = createPrng(seed);
  const pairs: Array<[number, number]> = [];
  for (const cons of EDGES) for (const prod of EDGES) pairs.push([cons, prod]);
  const bases = [...EDGES, ...Array.from({ length: 40 }, () => prng.u32())];
  for (const cons of bases) {
    for (const delta of DELTAS) {
      pairs.push([cons, (cons + delta) >>> 0]);
      pairs.push([cons, (cons - delta) >>> 0]);
    }
    pairs.push([cons, (cons + prng.int(0, 4096)) >>> 0]);
    pairs.push([cons, prng.u32()]);
  }
  return pairs;
}

/** A page with random ring contents and the given indices, and an identical copy. */
function twinPages(seed: number, indices: Partial<Record<'inCons' | 'inProd' | 'outCons' | 'outProd', number>>): [ArrayBuffer, ArrayBuffer] {
  const buffer = new ArrayBuffer(CONSOLE_LAYOUT.PAGE_SIZE);
  new Uint8Array(buffer).set(createPrng(seed).bytes(3072));
  const view = new DataView(buffer);
  view.setUint32(CONSOLE_LAYOUT.IN_CONS, indices.inCons ?? 0, true);
  view.setUint32(CONSOLE_LAYOUT.IN_PROD, indices.inProd ?? 0, true);
  view.setUint32(CONSOLE_LAYOUT.OUT_CONS, indices.outCons ?? 0, true);
  view.setUint32(CONSOLE_LAYOUT.OUT_PROD, indices.outProd ?? 0, true);
  return [buffer, buffer.slice(0)];
}

const same = (a: ArrayBuffer, b: ArrayBuffer): boolean => Buffer.from(a).equals(Buffer.from(b));
const hex = (n: number): string => `0x${n.toString(16)}`;

const pairs = adversarialPairs(20260820);

describe('backend ring vs xenconsoled (tools/console/daemon/io.c)', () => {
  test(`buffer_append: the same (cons, prod) pairs are taken, ignored or empty, with the same bytes (${pairs.length} pairs)`, () => {
    for (const [i, [cons, prod]] of pairs.entries()) {
      const [ours, theirs] = twinPages(i, { outCons: cons, outProd: prod });
      const model = xenconsoledBufferAppend(theirs);
      const result = new BackendRing(new PlainPage(ours)).read(CONSOLE_LAYOUT.OUT_SIZE);
      const where = `out_cons=${hex(cons)} out_prod=${hex(prod)}`;
      switch (model.result) {
        case 'screwed':
          expect({ where, corrupt: result.corrupt?.reason, bytes: result.bytes }).toEqual({ where, corrupt: 'indices-out-of-range', bytes: undefined });
          break;
        case 'empty':
          expect({ where, result }).toEqual({ where, result: { bytes: undefined, notify: false } });
          break;
        case 'appended':
          expect({ where, corrupt: result.corrupt, same: Buffer.from(result.bytes ?? []).equals(Buffer.from(model.bytes)) }).toEqual({
            where,
            corrupt: undefined,
            same: true,
          });
      }
      expect({ where, samePage: same(ours, theirs) }).toEqual({ where, samePage: true });
    }
  });

  test(`ring_free_bytes and handle_tty_read: the same free space, the same refusals, the same page after (${pairs.length} pairs)`, () => {
    const msg = createPrng(7).bytes(200);
    for (const [i, [cons, prod]] of pairs.entries()) {
      const [ours, theirs] = twinPages(i, { inCons: cons, inProd: prod });
      const where = `in_cons=${hex(cons)} in_prod=${hex(prod)}`;
      const model = xenconsoledRingFreeBytes(theirs);
      const ring = new BackendRing(new PlainPage(ours));
      const space = ring.space();
      expect({ where, free: space.bytes, screwed: space.corrupt?.reason === 'indices-out-of-range' }).toEqual({ where, ...model });
      const written = xenconsoledHandleTtyRead(theirs, msg);
      // xenconsoled offers at most 80 bytes at a time; offer ours the same.
      const result = ring.write(msg.subarray(0, Math.min(80, space.bytes)));
      expect({ where, written: result.written, samePage: same(ours, theirs) }).toEqual({ where, written, samePage: true });
    }
  });
});

describe('frontend ring vs Linux hvc_xen (drivers/tty/hvc/hvc_xen.c)', () => {
  test(`domU_read_console: -EINVAL exactly where Linux refuses, the same bytes elsewhere (${pairs.length} pairs)`, () => {
    for (const [i, [cons, prod]] of pairs.entries()) {
      for (const len of [1, 80, 1024]) {
        const [ours, theirs] = twinPages(i, { inCons: cons, inProd: prod });
        const where = `in_cons=${hex(cons)} in_prod=${hex(prod)} len=${len}`;
        const model = hvcReadConsole(theirs, len);
        const result = new FrontendRing(new PlainPage(ours)).read(len);
        if (model === EINVAL) {
          expect({ where, corrupt: result.corrupt?.reason }).toEqual({ where, corrupt: 'indices-out-of-range' });
        } else {
          expect({ where, corrupt: result.corrupt, bytes: [...(result.bytes ?? [])] }).toEqual({ where, corrupt: undefined, bytes: [...model] });
        }
        expect({ where, samePage: same(ours, theirs) }).toEqual({ where, samePage: true });
      }
    }
  });

  test(`__write_console: -EINVAL exactly where Linux refuses, the same count and page elsewhere (${pairs.length} pairs)`, () => {
    const data = createPrng(11).bytes(3000);
    for (const [i, [cons, prod]] of pairs.entries()) {
      for (const len of [1, 100, 3000]) {
        const [ours, theirs] = twinPages(i, { outCons: cons, outProd: prod });
        const where = `out_cons=${hex(cons)} out_prod=${hex(prod)} len=${len}`;
        const model = hvcWriteConsole(theirs, data.subarray(0, len));
        const result = new FrontendRing(new PlainPage(ours)).write(data.subarray(0, len));
        if (model === EINVAL) {
          expect({ where, corrupt: result.corrupt?.reason, written: result.written }).toEqual({ where, corrupt: 'indices-out-of-range', written: 0 });
        } else {
          expect({ where, corrupt: result.corrupt, written: result.written }).toEqual({ where, corrupt: undefined, written: model });
        }
        expect({ where, samePage: same(ours, theirs) }).toEqual({ where, samePage: true });
      }
    }
  });
});
