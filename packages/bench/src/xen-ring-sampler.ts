// A worker thread that samples a console page's indices while dom0 runs, so that the samples
// fall at moments independent of dom0's event loop. Started by `RingWatch` (xen-ring-watch.ts),
// always from the built JavaScript. It says it is ready, waits for the page, then samples in a
// blocking loop until told to stop, and posts what it counted.
import { parentPort, workerData } from 'node:worker_threads';
import { CONSOLE_LAYOUT, readConsoleIndices, type ConsoleIndices } from '@flow/xen-console';
import { SabPage } from '@flow/xen-console/sim';
import { LONG_STALL_MS, SAMPLER_STOP, SAMPLER_WAITING, type RingWatchCounts, type SamplerData } from './xen-ring-watch';

const data = workerData as SamplerData;
const control = new Int32Array(data.control);

/** The watched ring's indices when it stalls (so that a stall that lasts can be told from a new one). */
function stallKey(i: ConsoleIndices): string | undefined {
  if (data.ring === 'out') return ((i.outProd - i.outCons) >>> 0) === CONSOLE_LAYOUT.OUT_SIZE ? `${i.outProd}/${i.outCons}` : undefined;
  return ((i.inProd - i.inCons) >>> 0) === 0 ? `${i.inProd}/${i.inCons}` : undefined;
}

function sample(pageBuffer: SharedArrayBuffer): RingWatchCounts {
  const page = new SabPage(pageBuffer, { writable: false });
  const started = performance.now();
  let samples = 0;
  let waiting = 0;
  let stalled = 0;
  // A stall that lasts: successive samples find the ring stalled with the same indices, so
  // nobody touched it in between (a stall with new indices is the next ring-full of a lock step).
  let episode: { readonly key: string; readonly since: number; last: number } | undefined;
  let longestStallMs = 0;
  let longStalls = 0;
  const endEpisode = (): void => {
    if (!episode) return;
    const ms = episode.last - episode.since;
    longestStallMs = Math.max(longestStallMs, ms);
    if (ms >= LONG_STALL_MS) longStalls += 1;
    episode = undefined;
  };
  // At least one sample: a short run can end (and ask the sampler to stop) before this thread
  // has even received the page, and its one look at the ring still counts.
  do {
    samples += 1;
    const now = performance.now();
    const key = Atomics.load(control, SAMPLER_WAITING) !== 0 ? (waiting++, stallKey(readConsoleIndices(page))) : undefined;
    if (key === undefined || key !== episode?.key) endEpisode();
    if (key !== undefined) {
      stalled += 1;
      if (episode) episode.last = now;
      else episode = { key, since: now, last: now };
    }
    // Sleeps `intervalMs`, or less when told to stop.
    Atomics.wait(control, SAMPLER_STOP, 0, data.intervalMs);
  } while (Atomics.load(control, SAMPLER_STOP) === 0);
  endEpisode();
  return { samples, ms: performance.now() - started, waiting, stalled, longestStallMs, longStalls };
}

parentPort?.once('message', (page: SharedArrayBuffer) => parentPort?.postMessage(sample(page)));
parentPort?.postMessage('ready');
