/**
 * A tiny seeded generator (sfc32) for property tests: the same seed gives the same run, and a
 * failing case prints its seed. No dependency: fast-check is not available here.
 */
export interface Prng {
  readonly seed: number;
  /** A uniform u32. */
  u32(): number;
  /** A uniform integer in [min, max]. */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T;
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
}

export function createPrng(seed: number): Prng {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const u32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 15; i++) u32();
  const prng: Prng = {
    seed,
    u32,
    int(min, max) {
      if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) throw new RangeError(`bad range ${min}..${max}`);
      return min + Math.floor((u32() / 0x100000000) * (max - min + 1));
    },
    chance(p) {
      return u32() / 0x100000000 < p;
    },
    pick(items) {
      if (items.length === 0) throw new RangeError('pick from nothing');
      return items[prng.int(0, items.length - 1)] as (typeof items)[number];
    },
    bytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = u32() & 0xff;
      return out;
    },
  };
  return prng;
}
