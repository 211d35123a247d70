import { CONSOLE_LAYOUT } from './layout';
import type { RingMemory } from './memory';
import { isRingIndex } from './ring-index';

/** The four indices of a console page, as loaded at one moment. */
export interface ConsoleIndices {
  /** `in_cons`: how far the guest has read its input (u32, free-running). */
  readonly inCons: number;
  /** `in_prod`: how far dom0 has written the guest's input (u32, free-running). */
  readonly inProd: number;
  /** `out_cons`: how far dom0 has read the guest's output (u32, free-running). */
  readonly outCons: number;
  /** `out_prod`: how far the guest has written its output (u32, free-running). */
  readonly outProd: number;
}

/** Loads the four indices (for diagnostics and tests: the rings keep their own copies). */
export function readConsoleIndices(memory: RingMemory): ConsoleIndices {
  return {
    inCons: memory.loadU32(CONSOLE_LAYOUT.IN_CONS),
    inProd: memory.loadU32(CONSOLE_LAYOUT.IN_PROD),
    outCons: memory.loadU32(CONSOLE_LAYOUT.OUT_CONS),
    outProd: memory.loadU32(CONSOLE_LAYOUT.OUT_PROD),
  };
}

/**
 * Zeroes a console page and sets all four indices to `start`, as a frontend does before it
 * grants the page (Linux allocates it zeroed and `memset`s it on resume). A non-zero `start`
 * lets tests begin near 2^31 or 2^32.
 */
export function resetConsolePage(memory: RingMemory, start = 0): void {
  if (!isRingIndex(start)) throw new RangeError(`start index ${start} is not a u32`);
  memory.writeBytes(0, new Uint8Array(CONSOLE_LAYOUT.PAGE_SIZE));
  memory.storeU32(CONSOLE_LAYOUT.IN_CONS, start);
  memory.storeU32(CONSOLE_LAYOUT.IN_PROD, start);
  memory.storeU32(CONSOLE_LAYOUT.OUT_CONS, start);
  memory.storeU32(CONSOLE_LAYOUT.OUT_PROD, start);
}
