import { formatError, type DirectionResult } from '@flow/core';

/** One direction of a proxied connection, as printed in `--stats` lines. */
export interface DirectionReport {
  readonly outcome: DirectionResult['outcome'];
  readonly bytes: number;
  readonly ops: number;
  readonly durationMs: number;
  /** Bytes per second over the direction's lifetime, a float. */
  readonly rate: number;
  readonly error?: string;
  /** `fast`: copied by the native engine; `pure`: by the TypeScript copy. */
  readonly path: DirectionResult['path'];
  /** Why the native engine was not used, when it was tried and declined. */
  readonly fallbackReason?: string;
}

export function directionReport(r: DirectionResult): DirectionReport {
  const durationMs = Math.max(0, r.endedAt - r.startedAt);
  const report: DirectionReport = {
    outcome: r.outcome,
    bytes: r.bytes,
    ops: r.ops,
    durationMs: Number(durationMs.toFixed(3)),
    rate: durationMs > 0 ? Number(((r.bytes * 1000) / durationMs).toFixed(1)) : 0,
    path: r.path,
    ...(r.fallbackReason === undefined ? {} : { fallbackReason: r.fallbackReason }),
  };
  return r.error ? { ...report, error: formatError(r.error) } : report;
}
