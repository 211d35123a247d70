import { createHash, randomFillSync } from 'node:crypto';

/**
 * How chunks are produced:
 * - `shared`: every chunk is the same buffer, so producing costs nothing (what a zero-copy
 *   transport can exploit, and what no real source does);
 * - `fresh`: every chunk is a new buffer (one allocation and one copy), as a socket or a file
 *   read hands them over;
 * - `verify`: fresh and distinct (stamped with their index), so that a lost, duplicated or
 *   reordered chunk changes the hash.
 */
export type ChunkMode = 'shared' | 'fresh' | 'verify';

/** The bytes a benchmark moves: `total` bytes cut into `chunkSize` pieces (the last one may be shorter). */
export class ChunkPlan {
  readonly count: number;
  private readonly base: Buffer;

  constructor(
    readonly total: number,
    readonly chunkSize: number,
    readonly mode: ChunkMode,
  ) {
    if (!(total >= 1) || !(chunkSize >= 1)) throw new RangeError('total and chunkSize must be at least 1');
    this.count = Math.ceil(total / chunkSize);
    this.base = randomFillSync(Buffer.allocUnsafe(Math.min(chunkSize, total)));
  }

  /** Length of chunk `i`. */
  lengthOf(i: number): number {
    return i === this.count - 1 ? this.total - i * this.chunkSize : this.chunkSize;
  }

  get verify(): boolean {
    return this.mode === 'verify';
  }

  /** Chunk `i`. */
  chunk(i: number): Buffer {
    const n = this.lengthOf(i);
    if (this.mode === 'shared') return n === this.base.length ? this.base : this.base.subarray(0, n);
    const c = Buffer.allocUnsafe(n);
    this.base.copy(c, 0, 0, n);
    if (this.mode === 'fresh') return c;
    // Stamp the index over the first bytes so that every chunk differs.
    for (let k = 0; k < Math.min(4, n); k += 1) c[k] = (i >>> (8 * k)) & 0xff;
    return c;
  }

  /** SHA-256 of everything the plan produces (for checking what arrived). */
  digest(): string {
    const h = createHash('sha256');
    for (let i = 0; i < this.count; i += 1) h.update(this.chunk(i));
    return h.digest('hex');
  }
}
