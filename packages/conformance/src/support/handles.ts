import { waitUntil } from './wait';

// Timers and one-shot requests come and go with the test runner itself; what a flow can leak
// is a socket, a pipe, a server or a child process.
const TRANSIENT = /^(Timeout|Immediate|FSReq|FileHandle|GetAddrInfoReqWrap|GetNameInfoReqWrap|Q?ueryWrap|ShutdownWrap|WriteWrap|ConnectWrap)/;

/** Counts the process's active handles that are not timers or transient requests. */
export function countHandles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) {
    if (TRANSIENT.test(name)) continue;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

/** Handle kinds that have more entries now than in `baseline`, with the surplus. */
export function surplus(baseline: Map<string, number>, now: Map<string, number> = countHandles()): string[] {
  const out: string[] = [];
  for (const [name, n] of now) {
    const before = baseline.get(name) ?? 0;
    if (n > before) out.push(`${name} +${n - before}`);
  }
  return out;
}

/**
 * Waits (up to a generous deadline, since handle close callbacks run on a later loop turn) until
 * no handle kind has more entries than in `baseline`; returns what is still in surplus.
 */
export async function waitForHandlesReleased(baseline: Map<string, number>, deadlineMs = 5000): Promise<string[]> {
  await waitUntil(() => surplus(baseline).length === 0, deadlineMs);
  return surplus(baseline);
}
