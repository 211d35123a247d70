// The ring-level part of the hostile-guest suite (spec §11.1, ring items 1-4 and 8): a guest
// that writes any index, rewrites ours, or races our copy from another thread.
import { BackendRing } from '../src/ring/backend-ring';
import { readConsoleIndices, resetConsolePage } from '../src/ring/console-page';
import { FrontendRing } from '../src/ring/frontend-ring';
import { CONSOLE_LAYOUT } from '../src/ring/layout';
import { ringDistance, ringSlot } from '../src/ring/ring-index';
import { PlainPage } from '../src/sim/plain-page';
import { SabPage } from '../src/sim/sab-page';
import { startFlipper } from './support/ring-flipper';
import { createPrng } from './support/ring-prng';
import { bytesRead, RecordingMemory, type Access } from './support/ring-recording-memory';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function attach(start = 0): { page: PlainPage; memory: RecordingMemory; back: BackendRing } {
  const page = new PlainPage();
  resetConsolePage(page, start);
  const memory = new RecordingMemory(page);
  const back = new BackendRing(memory);
  memory.take();
  return { page, memory, back };
}

describe('1. out_prod - out_cons > 2048 (including 0xFFFFFFFF and 2^31)', () => {
  const bad: ReadonlyArray<[string, number, number]> = [
    ['2049', 0, 2049],
    ['0xFFFFFFFF (prod one behind cons)', 100, 99],
    ['2^31', 0, 0x80000000],
    ['2^31 across the 2^32 wrap', 0xfffffff0, 0x7ffffff0],
    ['prod = 0xFFFFFFFF, cons = 0', 0, 0xffffffff],
  ];

  test.each(bad)('%s: no data, a typed corruption, no copy, no store, constant work', (_name, cons, prod) => {
    const { page, memory, back } = attach(cons);
    page.storeU32(CONSOLE_LAYOUT.OUT_PROD, prod);
    for (let pass = 0; pass < 1000; pass++) {
      const result = back.read();
      expect(result.bytes).toBeUndefined();
      expect(result.notify).toBe(false);
      expect(result.corrupt).toMatchObject({ reason: 'indices-out-of-range', ring: 'out', prod, cons, size: 2048 });
      // Two loads and nothing else: no byte of the ring was touched, no index stored.
      expect(memory.take().map((a) => a.op)).toEqual(['load', 'load']);
    }
    expect(back.pending().corrupt?.reason).toBe('indices-out-of-range');
    expect(readConsoleIndices(page).outCons).toBe(cons);
  });

  test('the message says which indices and why', () => {
    const { page, back } = attach(0);
    page.storeU32(CONSOLE_LAYOUT.OUT_PROD, 0x80000000);
    expect(back.read().corrupt?.message).toBe(
      'out_prod - out_cons = 2147483648 exceeds the 2048-byte out ring (out_prod=2147483648, out_cons=0)',
    );
  });

  test('a guest that pushes in_cons past in_prod makes our writes refuse, not overwrite', () => {
    const { page, memory, back } = attach(0);
    back.write(text('abc'));
    page.storeU32(CONSOLE_LAYOUT.IN_CONS, 0x10000);
    memory.take();
    const result = back.write(text('more'));
    expect(result).toMatchObject({ written: 0, notify: false, corrupt: { reason: 'indices-out-of-range', ring: 'in' } });
    expect(memory.take().map((a) => a.op)).toEqual(['load', 'load']);
    expect(back.space().corrupt?.reason).toBe('indices-out-of-range');
  });

  test('a ring that the guest puts back in order works again (the policy above decides whether to go on)', () => {
    const { page, back } = attach(0);
    page.storeU32(CONSOLE_LAYOUT.OUT_PROD, 9999);
    expect(back.read().corrupt).toBeDefined();
    page.writeBytes(CONSOLE_LAYOUT.OUT, text('ok'));
    page.storeU32(CONSOLE_LAYOUT.OUT_PROD, 2);
    expect(new TextDecoder().decode(back.read().bytes)).toBe('ok');
  });
});

describe('2. indices wrap across 2^32 and 2^31 with a well-behaved guest', () => {
  test('byte-exact across both boundaries (see ring-property for the random interleavings)', () => {
    for (const start of [0x7fffffff - 10, 0xffffffff - 10]) {
      const page = new PlainPage();
      resetConsolePage(page, start);
      const back = new BackendRing(page);
      const front = new FrontendRing(page);
      const prng = createPrng(start);
      for (let i = 0; i < 5; i++) {
        const data = prng.bytes(9);
        front.write(data);
        expect([...(back.read().bytes ?? [])]).toEqual([...data]);
      }
    }
  });
});

describe('3. the guest writes our indices (out_cons, in_prod)', () => {
  const moves: ReadonlyArray<[string, (honest: number) => number]> = [
    ['forward, to make us skip data', (honest) => (honest + 40) >>> 0],
    ['backward, to make us deliver old data again', (honest) => (honest - 10) >>> 0],
    ['to 0xFFFFFFFF', () => 0xffffffff],
  ];
  test.each(moves)('out_cons moved %s: detected, nothing delivered, our copy kept', (_name, move) => {
    const { page, memory, back } = attach(1000);
    const front = new FrontendRing(page, { outProd: 1000 });
    front.write(text('0123456789'));
    back.read(5);
    const honest = readConsoleIndices(page).outCons;
    page.storeU32(CONSOLE_LAYOUT.OUT_CONS, move(honest));
    memory.take();
    const result = back.read();
    expect(result).toMatchObject({
      bytes: undefined,
      notify: false,
      corrupt: { reason: 'own-index-tampered', index: 'out_cons', expected: honest, found: move(honest) },
    });
    expect(memory.take().filter((a) => a.op !== 'load')).toEqual([]);
    expect(back.indices.outCons).toBe(honest);
    // Put back, the ring goes on from our copy, not from anything the guest wrote.
    page.storeU32(CONSOLE_LAYOUT.OUT_CONS, honest);
    expect(new TextDecoder().decode(back.read().bytes)).toBe('56789');
  });

  test('in_prod rewritten by the guest: our writes refuse and our copy is kept', () => {
    const { page, back } = attach(0);
    back.write(text('abc'));
    page.storeU32(CONSOLE_LAYOUT.IN_PROD, 1);
    expect(back.write(text('d'))).toMatchObject({ written: 0, notify: false, corrupt: { reason: 'own-index-tampered', index: 'in_prod', expected: 3, found: 1 } });
    expect(back.space().corrupt?.reason).toBe('own-index-tampered');
    expect(back.indices.inProd).toBe(3);
  });

  test('the frontend catches a backend that writes in_cons or out_prod the same way', () => {
    const page = new PlainPage();
    resetConsolePage(page, 0);
    const front = new FrontendRing(page);
    page.storeU32(CONSOLE_LAYOUT.IN_CONS, 5);
    expect(front.read().corrupt).toMatchObject({ reason: 'own-index-tampered', index: 'in_cons' });
    page.storeU32(CONSOLE_LAYOUT.OUT_PROD, 5);
    expect(front.write(text('x')).corrupt).toMatchObject({ reason: 'own-index-tampered', index: 'out_prod' });
  });
});

describe('4. the guest rewrites out_prod during our copy, from another thread', () => {
  /** Checks one pass against the snapshot it recorded; returns what kind of pass it was. */
  function checkPass(log: readonly Access[], consBefore: number, max: number, bytes: Uint8Array | undefined, corrupt: boolean): 'data' | 'corrupt' | 'empty' {
    const loads = log.filter((a): a is Extract<Access, { op: 'load' }> => a.op === 'load');
    // Exactly one snapshot: each index loaded once.
    expect(loads.map((a) => a.offset)).toEqual([CONSOLE_LAYOUT.OUT_CONS, CONSOLE_LAYOUT.OUT_PROD]);
    const prod = (loads[1] as { value: number }).value;
    const distance = ringDistance(prod, consBefore);
    if (corrupt) {
      expect(distance).toBeGreaterThan(2048);
      expect(log.filter((a) => a.op !== 'load')).toEqual([]);
      return 'corrupt';
    }
    const count = Math.min(distance, max);
    expect(bytes?.length ?? 0).toBe(count);
    if (count === 0) {
      expect(log.filter((a) => a.op !== 'load')).toEqual([]);
      return 'empty';
    }
    // Every byte from the snapshot's window, each shared byte read once.
    const expected = Array.from({ length: count }, (_, i) => CONSOLE_LAYOUT.OUT + ringSlot(consBefore + i, 2048));
    expect(bytesRead(log)).toEqual(expected);
    // Published after the copy and a fence, at the snapshot's end.
    const tail = log.slice(-2);
    expect(tail).toEqual([{ op: 'fence' }, { op: 'store', offset: CONSOLE_LAYOUT.OUT_CONS, value: (consBefore + count) >>> 0 }]);
    return 'data';
  }

  test('at most one validated snapshot per pass; no shared byte read twice; no byte from outside the window', async () => {
    const shared = new SabPage();
    resetConsolePage(shared, 0xfffff000);
    const memory = new RecordingMemory(shared);
    const back = new BackendRing(memory);
    const prng = createPrng(4);
    const seen = { data: 0, corrupt: 0, empty: 0, racedDuringPass: 0 };
    const flipper = await startFlipper(shared.buffer);
    try {
      const startFlips = flipper.flips();
      for (let pass = 0; pass < 2_000_000; pass++) {
        const max = prng.pick([1, 13, 2048]);
        const consBefore = back.indices.outCons;
        memory.take();
        const result = back.read(max);
        const log = memory.take();
        seen[checkPass(log, consBefore, max, result.bytes, result.corrupt !== undefined)]++;
        const snapshotProd = (log[1] as { value: number }).value;
        if (shared.loadU32(CONSOLE_LAYOUT.OUT_PROD) !== snapshotProd) seen.racedDuringPass++;
        if (seen.data >= 200 && seen.corrupt >= 200 && seen.racedDuringPass >= 200 && flipper.flips() - startFlips > 10_000) break;
      }
    } finally {
      await flipper.stop();
    }
    expect(seen.data).toBeGreaterThanOrEqual(200);
    expect(seen.corrupt).toBeGreaterThanOrEqual(200);
    expect(seen.racedDuringPass).toBeGreaterThanOrEqual(200);
  });
});

describe('8. zero-length and spurious events', () => {
  test('a pass with no data stores nothing, asks for no notify and changes nothing, however often', () => {
    const { page, memory, back } = attach(0xfffffffe);
    const before = Buffer.from(new Uint8Array(4096));
    page.readBytes(0, 4096, before, 0);
    for (let i = 0; i < 10_000; i++) expect(back.read()).toEqual({ bytes: undefined, notify: false });
    expect(memory.take().every((a) => a.op === 'load')).toBe(true);
    const after = Buffer.from(new Uint8Array(4096));
    page.readBytes(0, 4096, after, 0);
    expect(after.equals(before)).toBe(true);
  });

  test('an empty write asks for no notify', () => {
    const { back } = attach(0);
    expect(back.write(new Uint8Array(0))).toEqual({ written: 0, notify: false });
  });
});
