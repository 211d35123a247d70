import type { RingMemory } from '../../src/ring/memory';

/** One access to the page, in order. */
export type Access =
  | { readonly op: 'load'; readonly offset: number; readonly value: number }
  | { readonly op: 'store'; readonly offset: number; readonly value: number }
  | { readonly op: 'read'; readonly offset: number; readonly length: number }
  | { readonly op: 'write'; readonly offset: number; readonly length: number }
  | { readonly op: 'fence' };

/**
 * A `RingMemory` that forwards to another and records every access: the hostile-guest tests use
 * it to prove that a pass loads each index once, copies each shared byte at most once, and
 * publishes only after the data and a fence.
 */
export class RecordingMemory implements RingMemory {
  readonly log: Access[] = [];

  constructor(private readonly inner: RingMemory) {}

  loadU32(offset: number): number {
    const value = this.inner.loadU32(offset);
    this.log.push({ op: 'load', offset, value });
    return value;
  }

  storeU32(offset: number, value: number): void {
    this.log.push({ op: 'store', offset, value });
    this.inner.storeU32(offset, value);
  }

  readBytes(offset: number, length: number, target: Uint8Array, targetOffset: number): void {
    this.log.push({ op: 'read', offset, length });
    this.inner.readBytes(offset, length, target, targetOffset);
  }

  writeBytes(offset: number, source: Uint8Array): void {
    this.log.push({ op: 'write', offset, length: source.length });
    this.inner.writeBytes(offset, source);
  }

  fence(): void {
    this.log.push({ op: 'fence' });
    this.inner.fence();
  }

  /** Returns and forgets the accesses so far. */
  take(): Access[] {
    return this.log.splice(0, this.log.length);
  }
}

/** The byte offsets of the page that `accesses` read with `readBytes`, with repeats. */
export function bytesRead(accesses: readonly Access[]): number[] {
  const offsets: number[] = [];
  for (const a of accesses) if (a.op === 'read') for (let i = 0; i < a.length; i++) offsets.push(a.offset + i);
  return offsets;
}
