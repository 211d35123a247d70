import type { FlowCapabilities } from '@flow/core';
import type { ConformanceCheck, FlowPair } from './options';

/** What a running check gets: the transport's declared facts and a way to open pairs. */
export interface CaseEnv {
  /** Known once the first pair is open when they were not declared up front: read after `open`. */
  readonly capabilities: FlowCapabilities;
  readonly maxBytes: number;
  /** A fresh pair; whatever the check leaves open is aborted and cleaned up after it. */
  open(): Promise<FlowPair>;
  /** Aborts both ends (a no-op once they closed) and runs the pair's cleanup now, once. */
  release(pair: FlowPair): Promise<void>;
}

/** One test of the suite. */
export interface ConformanceCase {
  readonly check: ConformanceCheck;
  readonly title: string;
  /** Why these capabilities make the case inapplicable, or undefined when it applies. */
  readonly requires?: (capabilities: FlowCapabilities) => string | undefined;
  readonly run: (env: CaseEnv) => Promise<void>;
}

export function needsHalfCloseWrite(capabilities: FlowCapabilities): string | undefined {
  return capabilities.halfCloseWrite === 'none' ? "capabilities.halfCloseWrite is 'none'" : undefined;
}

export function needsHalfCloseRead(capabilities: FlowCapabilities): string | undefined {
  return capabilities.halfCloseRead === 'none' ? "capabilities.halfCloseRead is 'none'" : undefined;
}
