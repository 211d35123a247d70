import { pair, type PairOptions } from '@flow/core';
import type { Console } from './console';
import { ConsoleFlow } from './console-flow';
import { checkLineEnding, type LineEnding } from './line-ending';

/** Options of `consolePair`; they apply to both ends. */
export interface MemoryConsoleOptions {
  /** What `log` appends on both ends. Default `\n`. */
  readonly lineEnding?: LineEnding;
  /** Bytes each direction holds before writes wait. Default 64 KiB. */
  readonly capacity?: number;
  /** Largest chunk a read returns. Default: unlimited. */
  readonly chunkSize?: number;
  /** Labels of the two ends. Default `['console:a', 'console:b']`. */
  readonly labels?: readonly [string, string];
}

/** One end of an in-memory console pair; `peer` is the other end. */
export interface MemoryConsole extends Console {
  /** Always `memory` for this kind of console. */
  readonly backend: 'memory';
  /** The other end of the pair: it reads what this end writes or logs, and the other way round. */
  readonly peer: MemoryConsole;
}

class MemoryConsoleFlow extends ConsoleFlow implements MemoryConsole {
  declare readonly backend: 'memory';
  peer!: MemoryConsole;
}

/**
 * Two connected in-memory consoles, for testing code that talks to a console: what one end
 * writes or logs, the other reads. Bounded by `capacity` in each direction.
 */
export function consolePair(options: MemoryConsoleOptions = {}): [MemoryConsole, MemoryConsole] {
  const lineEnding = checkLineEnding(options.lineEnding, '\n');
  const pairOptions: PairOptions = {
    capacity: options.capacity,
    chunkSize: options.chunkSize,
    labels: options.labels ?? ['console:a', 'console:b'],
  };
  const [fa, fb] = pair(pairOptions);
  const released = (): Promise<void> => Promise.resolve();
  const a = new MemoryConsoleFlow({ backend: 'memory', flow: fa, lineEnding, released });
  const b = new MemoryConsoleFlow({ backend: 'memory', flow: fb, lineEnding, released });
  a.peer = b;
  b.peer = a;
  return [a, b];
}
