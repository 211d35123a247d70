import { Worker } from 'node:worker_threads';

/**
 * A hostile guest in a worker thread: it rewrites `out_prod` in a tight loop (relative to the
 * backend's current `out_cons`: some values valid, some far out of range) and scribbles over the
 * `out` data, until told to stop. Plain JavaScript: it needs nothing but the shared page.
 */
const FLIPPER = `
const { workerData } = require('node:worker_threads');
const words = new Uint32Array(workerData.page);
const bytes = new Uint8Array(workerData.page);
const control = new Int32Array(workerData.control);
const deltas = [0, 1, 7, 100, 1024, 2047, 2048, 2049, 5000, 0x80000000, 0xffffffff, 0x7fffffff];
let i = 0;
Atomics.store(control, 1, 1);
Atomics.notify(control, 1);
while (Atomics.load(control, 0) === 0) {
  const cons = Atomics.load(words, 3080 / 4);
  Atomics.store(words, 3084 / 4, (cons + deltas[i % deltas.length]) >>> 0);
  bytes[1024 + ((i * 37) & 2047)] = i & 0xff;
  i++;
  Atomics.store(control, 2, i);
}
`;

export interface Flipper {
  /** How many times it has rewritten `out_prod` so far. */
  flips(): number;
  /** Stops it and waits for the thread to end. */
  stop(): Promise<void>;
}

/** Starts the flipper on `page` and resolves once its loop runs. */
export async function startFlipper(page: SharedArrayBuffer): Promise<Flipper> {
  const control = new Int32Array(new SharedArrayBuffer(12));
  const worker = new Worker(FLIPPER, { eval: true, workerData: { page, control: control.buffer } });
  const done = new Promise<void>((resolve, reject) => {
    worker.once('exit', () => resolve());
    worker.once('error', reject);
  });
  const started = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string } }).waitAsync(
    control,
    1,
    0,
  );
  if (started.async) await started.value;
  return {
    flips: () => Atomics.load(control, 2),
    stop: async () => {
      Atomics.store(control, 0, 1);
      await done;
    },
  };
}
