import { CONSOLE_LAYOUT } from './layout';

/** The names of the four indices of `struct xencons_interface`. */
export type ConsoleIndexName = 'in_cons' | 'in_prod' | 'out_cons' | 'out_prod';

/** One direction of the console page: a data area and its two indices. */
export interface RingHalf {
  /** `in` (dom0 to guest) or `out` (guest to dom0). */
  readonly name: 'in' | 'out';
  /** Byte offset of the data area in the page. */
  readonly dataOffset: number;
  /** Bytes in the data area: a power of two. */
  readonly size: number;
  /** Byte offset of the consumer index in the page. */
  readonly consOffset: number;
  /** Byte offset of the producer index in the page. */
  readonly prodOffset: number;
  /** The consumer index's name in console.h, for messages. */
  readonly consName: ConsoleIndexName;
  /** The producer index's name in console.h, for messages. */
  readonly prodName: ConsoleIndexName;
}

/** `in`: dom0 → guest (the guest's keyboard input). */
export const IN_HALF: RingHalf = Object.freeze({
  name: 'in',
  dataOffset: CONSOLE_LAYOUT.IN,
  size: CONSOLE_LAYOUT.IN_SIZE,
  consOffset: CONSOLE_LAYOUT.IN_CONS,
  prodOffset: CONSOLE_LAYOUT.IN_PROD,
  consName: 'in_cons',
  prodName: 'in_prod',
});

/** `out`: guest → dom0 (the guest's console output). */
export const OUT_HALF: RingHalf = Object.freeze({
  name: 'out',
  dataOffset: CONSOLE_LAYOUT.OUT,
  size: CONSOLE_LAYOUT.OUT_SIZE,
  consOffset: CONSOLE_LAYOUT.OUT_CONS,
  prodOffset: CONSOLE_LAYOUT.OUT_PROD,
  consName: 'out_cons',
  prodName: 'out_prod',
});
