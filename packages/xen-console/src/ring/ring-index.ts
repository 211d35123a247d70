/**
 * Arithmetic on the console's free-running u32 indices. They wrap modulo 2^32, so they are never
 * compared with `<` or `max`: that is mirage shared-memory-ring's bug 2 (a signed Int32 `max`
 * that stops the ring once an index crosses 0x7FFFFFFF). Only differences are meaningful.
 */

/** How far `prod` is ahead of `cons`, modulo 2^32. */
export function ringDistance(prod: number, cons: number): number {
  return (prod - cons) >>> 0;
}

/** `index + count`, modulo 2^32. */
export function ringAdvance(index: number, count: number): number {
  return (index + count) >>> 0;
}

/** The slot of `index` in a ring of `size` bytes (a power of two): `MASK_XENCONS_IDX`. */
export function ringSlot(index: number, size: number): number {
  return (index & (size - 1)) >>> 0;
}

/** Whether `value` can be a ring index (an integer in 0..2^32-1). */
export function isRingIndex(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}
