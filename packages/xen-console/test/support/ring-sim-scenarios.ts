// What the test thread asks of the guest worker (support/ring-sim-worker.ts), shared by both.
import type { SimDomainDescriptor } from '../../src/sim/domain-rpc';

export type WorkerScenario =
  | { readonly scenario: 'console'; readonly descriptor: SimDomainDescriptor; readonly start: number; readonly outputBytes: number; readonly inputBytes: number }
  | { readonly scenario: 'map'; readonly descriptor: SimDomainDescriptor; readonly ref: number }
  | { readonly scenario: 'storm'; readonly descriptor: SimDomainDescriptor; readonly notifies: number }
  | { readonly scenario: 'garbage'; readonly descriptor: SimDomainDescriptor };

/** The byte at position `i` of a deterministic stream (so both threads can check it). */
export function patternByte(i: number, salt: number): number {
  return (i * 31 + salt + (i >>> 8)) & 0xff;
}
