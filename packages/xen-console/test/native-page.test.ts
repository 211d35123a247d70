// NativePage and the addon's page accessors, on anonymous pages from the test-only
// allocTestPage() (a grant mapping goes through the same accessors; only its map and unmap
// differ). Every access checks the mapped flag and the bounds before touching memory: misuse
// throws and the process lives on. The accessors behave as the simulator's pages do.
import { endianness } from 'node:os';
import { CONSOLE_LAYOUT } from '../src/ring/layout';
import type { MappedPage } from '../src/ring/memory';
import { BackendRing } from '../src/ring/backend-ring';
import { FrontendRing } from '../src/ring/frontend-ring';
import { PlainPage } from '../src/sim/plain-page';
import type { PageHandle, PollHandle } from '../src/platform/native-binding';
import { NativePage } from '../src/platform/native-page';
import { fifo, runChild, xen } from './support/native-addon';

function testPage(writable = true, onUnmap?: () => void): NativePage {
  const handle = xen().allocTestPage(writable);
  if (typeof handle === 'number') throw new Error(`allocTestPage gave ${handle}`);
  return new NativePage(xen(), handle, { writable, onUnmap, description: 'a test page' });
}

/**
 * What `run` threw. The addon's errors come from Node's realm, not the test's (jest runs tests in
 * a vm context): they are told apart by name, not by instanceof.
 */
function thrown(run: () => unknown): { name: string; message: string; code: unknown } {
  try {
    run();
  } catch (error) {
    const { name, message, code } = error as { name: string; message: string; code?: unknown };
    return { name, message, code };
  }
  throw new Error('expected a throw; the call returned');
}

function contents(page: MappedPage): Buffer {
  const copy = Buffer.alloc(CONSOLE_LAYOUT.PAGE_SIZE);
  page.readBytes(0, copy.length, copy, 0);
  return copy;
}

test('the host is little-endian, as the ring indices are (spec §8.3)', () => {
  expect(endianness()).toBe('LE');
});

describe('loads, stores and copies', () => {
  test('a fresh page reads as zeros and is mapped', () => {
    const page = testPage();
    expect(page.mapped).toBe(true);
    expect(contents(page).equals(Buffer.alloc(4096))).toBe(true);
    page.unmap();
  });

  test.each([0, 1, 0x7fffffff, 0x80000000, 0xffffffff])('storeU32/loadU32 of %d at every index of the console page, little-endian', (value) => {
    const page = testPage();
    const offsets = [0, CONSOLE_LAYOUT.IN_CONS, CONSOLE_LAYOUT.IN_PROD, CONSOLE_LAYOUT.OUT_CONS, CONSOLE_LAYOUT.OUT_PROD, 4092];
    for (const offset of offsets) {
      page.storeU32(offset, value);
      expect(page.loadU32(offset)).toBe(value);
      const bytes = Buffer.alloc(4);
      page.readBytes(offset, 4, bytes, 0);
      expect(bytes.readUInt32LE(0)).toBe(value);
    }
    page.unmap();
  });

  test('writeBytes then readBytes into a target at an offset; zero lengths are fine', () => {
    const page = testPage();
    page.writeBytes(CONSOLE_LAYOUT.OUT + 2046, Buffer.from('hello'));
    const target = Buffer.alloc(9, '.');
    page.readBytes(CONSOLE_LAYOUT.OUT + 2046, 5, target, 2);
    expect(target.toString()).toBe('..hello..');
    page.readBytes(4096, 0, target, 9);
    page.writeBytes(4096, new Uint8Array(0));
    expect(target.toString()).toBe('..hello..');
    page.fence();
    page.unmap();
  });

  test('a whole page in and out', () => {
    const page = testPage();
    const pattern = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7 + 3) & 0xff));
    page.writeBytes(0, pattern);
    expect(contents(page).equals(pattern)).toBe(true);
    page.unmap();
  });
});

describe('misuse throws and never touches memory', () => {
  test.each([
    ['past the end', 4096],
    ['the last partial word', 4093],
    ['negative', -4],
    ['unaligned', 2],
    ['fractional', 1.5],
    ['NaN', Number.NaN],
  ])('loadU32 and storeU32 at an offset %s: RangeError', (_what, offset) => {
    const page = testPage();
    expect(thrown(() => page.loadU32(offset))).toMatchObject({ name: 'RangeError' });
    expect(thrown(() => page.storeU32(offset, 1))).toMatchObject({ name: 'RangeError' });
    expect(contents(page).equals(Buffer.alloc(4096))).toBe(true);
    page.unmap();
  });

  test.each([-1, 2 ** 32, 0.5, Number.POSITIVE_INFINITY])('storeU32 of %d (not a u32): RangeError, nothing stored', (value) => {
    const page = testPage();
    expect(thrown(() => page.storeU32(0, value))).toMatchObject({ name: 'RangeError' });
    expect(page.loadU32(0)).toBe(0);
    page.unmap();
  });

  test('copies that would pass the end of the page or of the target: RangeError, nothing copied', () => {
    const page = testPage();
    page.writeBytes(4088, Buffer.from('ABCDEFGH'));
    const target = Buffer.alloc(8);
    expect(thrown(() => page.readBytes(4090, 7, target, 0))).toMatchObject({ name: 'RangeError' });
    expect(thrown(() => page.readBytes(4088, 8, target, 1))).toMatchObject({ name: 'RangeError' });
    expect(thrown(() => page.readBytes(0, 4097, Buffer.alloc(5000), 0))).toMatchObject({ name: 'RangeError' });
    expect(thrown(() => page.readBytes(0, 1, target, -1))).toMatchObject({ name: 'RangeError' });
    expect(target.equals(Buffer.alloc(8))).toBe(true);
    expect(thrown(() => page.writeBytes(4095, Buffer.from('xy')))).toMatchObject({ name: 'RangeError' });
    expect(thrown(() => page.writeBytes(-1, Buffer.from('x')))).toMatchObject({ name: 'RangeError' });
    page.readBytes(4088, 8, target, 0);
    expect(target.toString()).toBe('ABCDEFGH');
    page.unmap();
  });

  test('targets and sources must be byte arrays; handles must be pages', () => {
    const b = xen();
    const page = testPage();
    expect(thrown(() => page.readBytes(0, 4, new Uint16Array(4) as unknown as Uint8Array, 0))).toMatchObject({ name: 'TypeError' });
    expect(thrown(() => page.writeBytes(0, [1, 2] as unknown as Uint8Array))).toMatchObject({ name: 'TypeError' });
    expect(thrown(() => b.pageLoadU32({} as PageHandle, 0))).toEqual({ name: 'TypeError', message: 'page must be a handle from mapGrant or allocTestPage', code: undefined });
    expect(thrown(() => b.pageLoadU32(null as unknown as PageHandle, 0))).toMatchObject({ name: 'TypeError' });
    const { reader, cleanup } = fifo();
    try {
      const poll = b.pollFd(reader, () => undefined);
      if (typeof poll === 'number') throw new Error(`pollFd gave ${poll}`);
      expect(thrown(() => b.pageLoadU32(poll as unknown as PageHandle, 0))).toMatchObject({ name: 'TypeError' });
      expect(thrown(() => b.pollClose(b.allocTestPage(true) as unknown as PollHandle))).toEqual({ name: 'TypeError', message: 'handle must come from evtchnPoll or pollFd', code: undefined });
      b.pollClose(poll);
    } finally {
      cleanup();
    }
    page.unmap();
  });

  test('a read-only mapping: loads and copies out work, stores throw instead of faulting', () => {
    const page = testPage(false);
    expect(page.writable).toBe(false);
    expect(page.loadU32(CONSOLE_LAYOUT.OUT_PROD)).toBe(0);
    expect(() => page.storeU32(CONSOLE_LAYOUT.OUT_CONS, 1)).toThrow(expect.objectContaining({ code: 'ERR_XEN_PAGE_READ_ONLY' }));
    expect(() => page.writeBytes(0, Buffer.from('x'))).toThrow('the page is mapped read-only');
    expect(contents(page).equals(Buffer.alloc(4096))).toBe(true);
    page.unmap();
  });

  test('after unmap every access throws (a use after unmap), unmap and release are idempotent, onUnmap runs once', () => {
    let unmapped = 0;
    const page = testPage(true, () => unmapped++);
    page.storeU32(0, 42);
    expect(page.release()).toEqual({ ok: true, value: undefined });
    expect(page.mapped).toBe(false);
    const gone = expect.objectContaining({ code: 'ERR_XEN_PAGE_UNMAPPED', message: 'the page is no longer mapped' });
    expect(() => page.loadU32(0)).toThrow(gone);
    expect(() => page.storeU32(0, 1)).toThrow(gone);
    expect(() => page.readBytes(0, 1, Buffer.alloc(1), 0)).toThrow(gone);
    expect(() => page.writeBytes(0, Buffer.from('x'))).toThrow(gone);
    expect(() => page.fence()).toThrow('use after unmap');
    page.unmap();
    expect(page.release()).toEqual({ ok: true, value: undefined });
    expect(unmapped).toBe(1);
  });
});

describe('NativePage behaves as the simulator\'s PlainPage', () => {
  /** A small deterministic generator (xorshift32), so that a failure replays. */
  function generator(seed: number): (n: number) => number {
    let x = seed >>> 0 || 1;
    return (n) => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x % n;
    };
  }

  type Outcome = { value: unknown } | { threw: string };
  function outcome(run: () => unknown): Outcome {
    try {
      const value = run();
      return { value: value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value };
    } catch (error) {
      return { threw: (error as Error).constructor.name };
    }
  }

  test.each([1, 2, 3])('3000 random operations (seed %d), valid and not, give the same results and the same error classes', (seed) => {
    const random = generator(seed * 2654435761);
    const offsetNear = (): number => [random(4100), random(1025) * 4, 4092 + random(8) - 4, -random(8)][random(4)];
    const native = testPage();
    const plain: MappedPage = new PlainPage();
    const pages: MappedPage[] = [native, plain];
    const steps: string[] = [];
    for (let step = 0; step < 3000; step++) {
      const kind = step === 2900 ? 5 : random(5);
      const offset = offsetNear();
      let op: (page: MappedPage) => unknown;
      let name: string;
      if (kind === 0) {
        name = `loadU32(${offset})`;
        op = (page) => page.loadU32(offset);
      } else if (kind === 1) {
        const value = [random(2 ** 16) * 65536 + random(65536), 0xffffffff, -1, 2 ** 32][random(4)];
        name = `storeU32(${offset}, ${value})`;
        op = (page) => page.storeU32(offset, value);
      } else if (kind === 2) {
        const length = random(70);
        const targetOffset = random(10) - 1;
        name = `readBytes(${offset}, ${length}, 64, ${targetOffset})`;
        op = (page) => {
          const target = new Uint8Array(64);
          page.readBytes(offset, length, target, targetOffset);
          return target;
        };
      } else if (kind === 3) {
        const source = Uint8Array.from({ length: random(40) }, () => random(256));
        name = `writeBytes(${offset}, ${source.length} bytes)`;
        op = (page) => page.writeBytes(offset, source);
      } else if (kind === 4) {
        name = 'fence()';
        op = (page) => page.fence();
      } else {
        name = 'unmap(), then a load';
        op = (page) => {
          page.unmap();
          return page.loadU32(0);
        };
      }
      steps.push(name);
      const [a, b] = pages.map((page) => outcome(() => op(page)));
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        throw new Error(`step ${step} ${name}: NativePage ${JSON.stringify(a)}, PlainPage ${JSON.stringify(b)}\nafter ${steps.slice(-5).join('; ')}`);
      }
    }
    expect(native.mapped).toBe(false);
  });
});

test('the console ring code runs natively: a guest-side and a dom0-side ring exchange 64 KiB each way on one NativePage, across 2^32', () => {
  const page = testPage();
  const start = 0xffffffff - 700;
  for (const offset of [CONSOLE_LAYOUT.IN_CONS, CONSOLE_LAYOUT.IN_PROD, CONSOLE_LAYOUT.OUT_CONS, CONSOLE_LAYOUT.OUT_PROD]) page.storeU32(offset, start);
  const guest = new FrontendRing(page);
  const dom0 = new BackendRing(page);
  const pattern = (seed: number): Buffer => Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * seed + (i >>> 8)) & 0xff));
  const output = pattern(7);
  const input = pattern(13);
  const gotOutput: Uint8Array[] = [];
  const gotInput: Uint8Array[] = [];
  let sentOutput = 0;
  let sentInput = 0;
  for (let pass = 0; pass < 10_000 && (sentOutput < output.length || sentInput < input.length || gotOutput.length === 0); pass++) {
    const chunk = 1 + ((pass * 769) % 1500);
    const wrote = guest.write(output.subarray(sentOutput, sentOutput + chunk));
    const read = dom0.read();
    const answered = dom0.write(input.subarray(sentInput, sentInput + chunk));
    const heard = guest.read();
    for (const result of [wrote, read, answered, heard]) expect(result.corrupt).toBeUndefined();
    sentOutput += wrote.written;
    sentInput += answered.written;
    if (read.bytes) gotOutput.push(read.bytes);
    if (heard.bytes) gotInput.push(heard.bytes);
  }
  const drained = [dom0.read().bytes, guest.read().bytes];
  if (drained[0]) gotOutput.push(drained[0]);
  if (drained[1]) gotInput.push(drained[1]);
  expect(Buffer.concat(gotOutput).equals(output)).toBe(true);
  expect(Buffer.concat(gotInput).equals(input)).toBe(true);
  // The indices went past 2^32 and wrapped.
  expect(page.loadU32(CONSOLE_LAYOUT.OUT_PROD)).toBe((start + output.length) >>> 0);
  expect(page.loadU32(CONSOLE_LAYOUT.IN_PROD)).toBe((start + input.length) >>> 0);
  page.unmap();
});

describe('pages that are forgotten', () => {
  /** The number of mappings of a process (lines of /proc/<pid>/maps). */
  const MAPPINGS = "() => require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n').length";

  test('a handle collected while mapped is unmapped by its finalizer (2000 pages come and go)', () => {
    // Writable and read-only pages alternate so that the kernel cannot merge neighbours: each
    // page is one mapping, counted in /proc/self/maps.
    const run = runChild(
      `
      const b = require(ADDON), mappings = ${MAPPINGS};
      const before = mappings();
      let pages = [];
      for (let i = 0; i < 2000; i++) pages.push(b.allocTestPage(i % 2 === 0));
      const held = mappings();
      pages = null;
      let rounds = 0;
      const collect = () => {
        globalThis.gc();
        if (mappings() - before > 100 && ++rounds < 50) return setImmediate(collect);
        console.log(JSON.stringify({ held: held - before, after: mappings() - before }));
      };
      collect();`,
      ['--expose-gc'],
    );
    expect(run).toMatchObject({ status: 0, signal: null, stderr: '' });
    const counts = JSON.parse(run.stdout) as { held: number; after: number };
    expect(counts.held).toBeGreaterThanOrEqual(1900);
    expect(counts.after).toBeLessThanOrEqual(100);
  });

  test('a worker thread that ends with pages mapped exits cleanly (its environment unmaps them)', () => {
    const run = runChild(`
      const { Worker } = require('worker_threads');
      const w = new Worker(\`
        const b = require(\${JSON.stringify(ADDON)});
        globalThis.pages = [];
        for (let i = 0; i < 100; i++) { const p = b.allocTestPage(true); b.pageStoreU32(p, 0, i); globalThis.pages.push(p); }
        process.exit(0);\`, { eval: true });
      w.on('exit', (code) => console.log('worker exited ' + code));`);
    expect(run).toMatchObject({ status: 0, signal: null, stdout: 'worker exited 0\n', stderr: '' });
  });
});
