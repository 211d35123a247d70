import { BackendRing } from '../src/ring/backend-ring';
import { readConsoleIndices, resetConsolePage } from '../src/ring/console-page';
import { FrontendRing } from '../src/ring/frontend-ring';
import { PlainPage } from '../src/sim/plain-page';
import { createPrng, type Prng } from './support/ring-prng';

/** Bytes offered to a producer and not yet taken, and everything it accepted. */
class Source {
  readonly accepted: number[] = [];
  #queue: Uint8Array = new Uint8Array(0);
  constructor(private readonly prng: Prng) {}

  offer(max: number): Uint8Array {
    if (this.#queue.length === 0) this.#queue = this.prng.bytes(this.prng.int(1, max));
    return this.#queue;
  }

  took(count: number): void {
    for (let i = 0; i < count; i++) this.accepted.push(this.#queue[i] as number);
    this.#queue = this.#queue.subarray(count);
  }
}

interface Run {
  readonly outWritten: number[];
  readonly outRead: number[];
  readonly inWritten: number[];
  readonly inRead: number[];
}

/**
 * Random interleavings of the four parties (guest writer, dom0 reader, dom0 writer, guest
 * reader) with random chunk sizes, until `volume` bytes have crossed each way, then a drain.
 */
function simulate(seed: number, start: number, volume: number): Run {
  const prng = createPrng(seed);
  const page = new PlainPage();
  resetConsolePage(page, start);
  const back = new BackendRing(page);
  const front = new FrontendRing(page);
  const guestOut = new Source(prng);
  const dom0In = new Source(prng);
  const outRead: number[] = [];
  const inRead: number[] = [];
  const maxChunk = prng.pick([7, 100, 1024, 3000]);

  const step = (who: number): void => {
    switch (who) {
      case 0: {
        const r = front.write(guestOut.offer(maxChunk));
        if (r.corrupt) throw new Error(`seed ${seed}: frontend write saw ${r.corrupt.message}`);
        guestOut.took(r.written);
        break;
      }
      case 1: {
        const r = back.read(prng.int(1, maxChunk));
        if (r.corrupt) throw new Error(`seed ${seed}: backend read saw ${r.corrupt.message}`);
        if (r.bytes) outRead.push(...r.bytes);
        expect(r.notify).toBe(r.bytes !== undefined);
        break;
      }
      case 2: {
        const r = back.write(dom0In.offer(maxChunk));
        if (r.corrupt) throw new Error(`seed ${seed}: backend write saw ${r.corrupt.message}`);
        dom0In.took(r.written);
        break;
      }
      default: {
        const r = front.read(prng.int(1, maxChunk));
        if (r.corrupt) throw new Error(`seed ${seed}: frontend read saw ${r.corrupt.message}`);
        if (r.bytes) inRead.push(...r.bytes);
      }
    }
  };

  while (outRead.length < volume || inRead.length < volume) step(prng.int(0, 3));
  for (let drained = false; !drained; ) {
    const a = back.read();
    const b = front.read();
    if (a.bytes) outRead.push(...a.bytes);
    if (b.bytes) inRead.push(...b.bytes);
    drained = !a.bytes && !b.bytes;
  }
  return { outWritten: guestOut.accepted, outRead, inWritten: dom0In.accepted, inRead };
}

const starts: ReadonlyArray<[string, number]> = [
  ['0', 0],
  ['just below 2^31', 0x80000000 - 3001],
  ['just below 2^32', 0x100000000 - 3001],
  ['2^32 - 1', 0xffffffff],
  ['2^31 - 1', 0x7fffffff],
];

describe('ring property: what is delivered is exactly what was written', () => {
  test.each(starts)('random chunkings starting at %s (20 seeds each)', (_name, start) => {
    for (let seed = 1; seed <= 20; seed++) {
      const run = simulate(seed * 7919 + start, start, 12_000);
      expect(Buffer.from(run.outRead).equals(Buffer.from(run.outWritten))).toBe(true);
      expect(Buffer.from(run.inRead).equals(Buffer.from(run.inWritten))).toBe(true);
      expect(run.outRead.length).toBeGreaterThanOrEqual(12_000);
    }
  });

  test('random start indices anywhere in the u32 space (50 seeds)', () => {
    const prng = createPrng(0xc0ffee);
    for (let i = 0; i < 50; i++) {
      const start = prng.u32();
      const run = simulate(prng.u32(), start, 5000);
      expect(Buffer.from(run.outRead).equals(Buffer.from(run.outWritten))).toBe(true);
      expect(Buffer.from(run.inRead).equals(Buffer.from(run.inWritten))).toBe(true);
    }
  });
});

describe('mirage shared-memory-ring bug 2 regression (signed Int32 max stalls the ring at 2^31)', () => {
  // Across 2^31 the signed order breaks (where SMR's `max` stops); across 2^32 the unsigned one.
  const signedBefore = (a: number, b: number): boolean => (a | 0) < (b | 0);
  const unsignedBefore = (a: number, b: number): boolean => a < b;
  test.each([
    ['0x7fffffff', 0x7fffffff - 1000, signedBefore],
    ['0xffffffff', 0xffffffff - 1000, unsignedBefore],
  ])('indices keep moving, byte-exact, across %s in both halves', (_name, start, orderBreaks) => {
    const page = new PlainPage();
    resetConsolePage(page, start);
    const back = new BackendRing(page);
    const front = new FrontendRing(page);
    const sent: number[] = [];
    const got: number[] = [];
    let seq = 0;
    for (let round = 0; round < 10; round++) {
      const chunk = Uint8Array.from({ length: 700 }, () => seq++ & 0xff);
      const w = front.write(chunk);
      expect(w.written).toBe(700);
      sent.push(...chunk);
      const r = back.read();
      expect(r.corrupt).toBeUndefined();
      got.push(...(r.bytes ?? []));
      const input = back.write(chunk.subarray(0, 300));
      expect(input.written).toBe(300);
      expect(front.read().bytes?.length).toBe(300);
    }
    expect(Buffer.from(got).equals(Buffer.from(sent))).toBe(true);
    const end = readConsoleIndices(page);
    expect(end.outCons).toBe((start + 7000) >>> 0);
    expect(end.outProd).toBe((start + 7000) >>> 0);
    expect(end.inProd).toBe((start + 3000) >>> 0);
    // The indices did cross the boundary: an order-based max() would have kept them at the start.
    expect(orderBreaks(end.outCons, start)).toBe(true);
    expect(orderBreaks(end.inProd, start)).toBe(true);
  });
});
