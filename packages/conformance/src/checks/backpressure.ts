import { createHash } from 'node:crypto';
import type { ConformanceCase } from '../case';
import { MemoryWatch } from '../support/memory';
import { expectOk } from '../support/results';
import { expectSame, MiB, randomBytes, receive } from '../support/transfer';
import { sleep, yieldToLoop } from '../support/wait';

/** How long a write must stay pending before we call the writer held back. */
const STALL_MS = 200;

/**
 * The bound on the growth of buffer memory (`process.memoryUsage().arrayBuffers`, sampled after
 * a full collection, where every retained chunk shows): well below the bytes sent (three
 * quarters of them), but never below 16 MiB, which leaves room for the transport's buffers.
 */
export function memoryBound(bytes: number): number {
  return Math.max(16 * MiB, Math.floor(bytes * 0.75));
}

export function backpressureCases(maxBytes: number): ConformanceCase[] {
  return [
    {
      check: 'backpressure',
      title: `a writer pushing ${maxBytes} bytes to a slow reader is held back, memory stays bounded and every byte arrives`,
      run: async ({ open }) => {
        const { a, b } = await open();
        const piece = Math.max(1, Math.min(MiB, Math.floor(maxBytes / 16)));
        const hash = createHash('sha256');
        let sent = 0;
        let pendingSince: number | undefined;
        let done = false;
        const watch = await MemoryWatch.start();
        const writing = (async () => {
          while (sent < maxBytes) {
            // A fresh buffer per write: a flow that retained them would show in the samples.
            const buffer = randomBytes(Math.min(piece, maxBytes - sent));
            hash.update(buffer);
            pendingSince = Date.now();
            expectOk(await a.write(buffer), `write after ${sent} bytes`);
            pendingSince = undefined;
            sent += buffer.length;
          }
          // A shutdown that waits for data the flow only pretended to accept is a stall too.
          pendingSince = Date.now();
          expectOk(await a.shutdownWrite(), 'shutdownWrite');
          pendingSince = undefined;
          done = true;
        })();
        writing.catch(() => undefined);
        // Phase 1: nobody reads. The writer must stall before it has handed everything over.
        while (!done && !(pendingSince !== undefined && Date.now() - pendingSince >= STALL_MS)) {
          await sleep(20);
        }
        const acceptedWhileIdle = sent;
        watch.sample();
        if (done || acceptedWhileIdle >= maxBytes) {
          throw new Error(`the writer was never held back: all ${maxBytes} bytes were accepted while nobody read`);
        }
        // Phase 2: a slow reader, yielding after every read and pausing every MiB.
        let nextSample = 4 * MiB;
        let nextPause = MiB;
        const received = await receive(b, {
          pace: async (bytes) => {
            if (bytes >= nextSample) {
              nextSample += 4 * MiB;
              watch.sample();
            }
            if (bytes >= nextPause) {
              nextPause += MiB;
              await sleep(1);
            } else {
              await yieldToLoop();
            }
          },
        });
        await writing;
        watch.sample();
        expectSame(received, { bytes: sent, sha256: hash.digest('hex'), writes: 0 }, 'eof', 'backpressure transfer');
        const bound = memoryBound(maxBytes);
        if (watch.arrayBuffersGrowth >= bound) {
          throw new Error(`buffer memory grew by ${watch.arrayBuffersGrowth} bytes while sending ${maxBytes} (bound ${bound})`);
        }
        // Resident memory also moves with the runner's own heap and code (tens of MiB on a
        // first test), so it only has to stay below the bytes sent, and only for a large transfer.
        if (maxBytes >= 64 * MiB && watch.rssGrowth >= maxBytes) {
          throw new Error(`rss grew by ${watch.rssGrowth} bytes while sending ${maxBytes}`);
        }
      },
    },
  ];
}
