/** A deterministic generator (mulberry32) for seeded tests: same seed, same sequence. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` pseudo-random bytes from `seed`, so that a reordering or a lost byte changes the hash. */
export function patternBytes(n: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  const next = prng(seed * 2654435761);
  let i = 0;
  for (; i + 4 <= n; i += 4) out.writeUInt32LE(Math.floor(next() * 4294967296), i);
  for (; i < n; i++) out[i] = Math.floor(next() * 256);
  return out;
}
