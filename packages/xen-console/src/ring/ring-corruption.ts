import type { ConsoleIndexName, RingHalf } from './ring-half';

/**
 * Why one pass over a ring refused to move data. The peer wrote indices that no correct peer
 * writes; nothing was copied and no index was stored. The caller decides what follows
 * (xenconsoled ignores the ring, Linux returns -EINVAL, our backend closes the console).
 */
export type RingCorruption =
  | {
      /** `prod - cons` (mod 2^32) exceeds the ring's size. */
      readonly reason: 'indices-out-of-range';
      /** The ring whose indices are wrong. */
      readonly ring: 'in' | 'out';
      /** The producer index as loaded (u32). */
      readonly prod: number;
      /** The consumer index as loaded (u32). */
      readonly cons: number;
      /** The ring's size in bytes. */
      readonly size: number;
      /** The same facts in one sentence, for logs. */
      readonly message: string;
    }
  | {
      /** The page holds a value for one of *our* indices that differs from what we stored. */
      readonly reason: 'own-index-tampered';
      /** The ring whose index was changed. */
      readonly ring: 'in' | 'out';
      /** Which of our indices was changed, e.g. `out_cons`. */
      readonly index: ConsoleIndexName;
      /** The value we stored last (u32). */
      readonly expected: number;
      /** The value the page holds now (u32). */
      readonly found: number;
      /** The same facts in one sentence, for logs. */
      readonly message: string;
    };

export function indicesOutOfRange(half: RingHalf, prod: number, cons: number): RingCorruption {
  const distance = (prod - cons) >>> 0;
  return {
    reason: 'indices-out-of-range',
    ring: half.name,
    prod,
    cons,
    size: half.size,
    message: `${half.prodName} - ${half.consName} = ${distance} exceeds the ${half.size}-byte ${half.name} ring (${half.prodName}=${prod}, ${half.consName}=${cons})`,
  };
}

export function ownIndexTampered(half: RingHalf, index: ConsoleIndexName, expected: number, found: number): RingCorruption {
  return {
    reason: 'own-index-tampered',
    ring: half.name,
    index,
    expected,
    found,
    message: `${index} on the page is ${found}, but we last stored ${expected}: the peer wrote our index`,
  };
}
