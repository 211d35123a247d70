/**
 * One 4096-byte page shared with another domain, seen only through accessors: the page is never
 * a typed array in JS (a JIT may hoist or merge plain loads of memory the guest changes under
 * us; a view over a mapping would dangle after unmap). Offsets are bytes from the page start.
 */
export interface RingMemory {
  /** One aligned 32-bit little-endian load with acquire ordering. */
  loadU32(offset: number): number;
  /** One aligned 32-bit little-endian store with release ordering. */
  storeU32(offset: number, value: number): void;
  /** Copies `length` bytes at `offset` out of the page, once, into `target` at `targetOffset`. */
  readBytes(offset: number, length: number, target: Uint8Array, targetOffset: number): void;
  /** Copies `source` into the page at `offset`. */
  writeBytes(offset: number, source: Uint8Array): void;
  /** A full memory barrier. */
  fence(): void;
}

/** A page mapped from another domain; `unmap` releases it and every later access throws. */
export interface MappedPage extends RingMemory {
  /** Unmaps the page; idempotent. */
  unmap(): void;
  /** False once `unmap` was called. */
  readonly mapped: boolean;
}
