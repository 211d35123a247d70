/** Best, worst and median of repeated measurements where bigger is better (throughput). */
export interface Spread {
  readonly best: number;
  readonly worst: number;
  readonly median: number;
  readonly samples: readonly number[];
}

export function spread(samples: readonly number[]): Spread {
  if (samples.length === 0) throw new RangeError('spread of no samples');
  const sorted = [...samples].sort((x, y) => x - y);
  return { best: sorted[sorted.length - 1], worst: sorted[0], median: quantile(sorted, 0.5), samples };
}

/** Nearest-rank quantile of an ascending array. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** The mean of `samples`; undefined when there are none, or when one is not a number (a run without a figure). */
export function mean(samples: readonly number[]): number | undefined {
  if (samples.length === 0 || samples.some((x) => !Number.isFinite(x))) return undefined;
  return samples.reduce((a, b) => a + b, 0) / samples.length;
}

/** `(max - min) / max` as a percentage: how much the runs disagreed. */
export function spreadPercent(s: Spread): number {
  return s.best === 0 ? 0 : ((s.best - s.worst) / s.best) * 100;
}
