import type { ProxyRow } from './hvsock-measure';
import { spreadPercent } from './summary';
import { fixed, markdownTable, ratio } from './table';

const MIB = 1024 * 1024;

/** The issue's target for `flow proxy` against socat doing the same job. */
export const TARGET_THROUGHPUT_RATIO = 1.2;
export const TARGET_P50_RATIO = 1.0;

/**
 * The table of one section: throughput (best, worst, spread), round trips, memory, and every
 * figure as a ratio to socat's, then one line per row saying what ran there.
 */
export function formatProxyTable(title: string, rows: readonly ProxyRow[], notes: readonly string[] = []): string {
  const socat = rows.find((r) => r.name === 'socat' && !r.skipped);
  const table = markdownTable(
    ['path', 'Gbit/s best', 'worst', 'spread', 'vs socat', 'p50 µs', 'p99 µs', 'p50 vs socat', 'p99 vs socat', 'RSS bulk MiB'],
    rows.map((r) =>
      r.skipped
        ? [r.name, 'skipped', '', '', '', '', '', '', '', '']
        : [
            r.name,
            fixed(r.gbps?.best, 2),
            fixed(r.gbps?.worst, 2),
            r.gbps ? `${fixed(spreadPercent(r.gbps), 0)}%` : 'n/a',
            ratio(r.gbps?.best, socat?.gbps?.best),
            fixed(r.ping?.p50us),
            fixed(r.ping?.p99us),
            ratio(r.ping?.p50us, socat?.ping?.p50us),
            ratio(r.ping?.p99us, socat?.ping?.p99us),
            r.bulkPeakRss === undefined ? 'n/a' : fixed(r.bulkPeakRss / MIB, 0),
          ],
    ),
  );
  const lines = [...rows.map((r) => `- ${r.name}: ${r.skipped ?? r.note}`), ...notes.map((n) => `- ${n}`)];
  const verdict = targetVerdict(rows);
  return `${title}\n\n${table}\n\n${verdict ? `${verdict}\n\n` : ''}${lines.join('\n')}`;
}

/** `flow proxy / socat: throughput 1.31x (target ≥ 1.20x: met), p50 0.97x (target ≤ 1.00x: met)`, or undefined without both rows. */
export function targetVerdict(rows: readonly ProxyRow[]): string | undefined {
  const flow = rows.find((r) => r.name === 'flow proxy' && !r.skipped);
  const socat = rows.find((r) => r.name === 'socat' && !r.skipped);
  if (!flow?.gbps || !socat?.gbps || !flow.ping || !socat.ping) return undefined;
  const throughput = flow.gbps.best / socat.gbps.best;
  const p50 = flow.ping.p50us / socat.ping.p50us;
  const met = (ok: boolean): string => (ok ? 'met' : 'missed');
  return (
    `flow proxy / socat: throughput ${throughput.toFixed(2)}x (target ≥ ${TARGET_THROUGHPUT_RATIO.toFixed(2)}x: ${met(throughput >= TARGET_THROUGHPUT_RATIO)}), ` +
    `p50 ${p50.toFixed(2)}x (target ≤ ${TARGET_P50_RATIO.toFixed(2)}x: ${met(p50 <= TARGET_P50_RATIO)})`
  );
}
