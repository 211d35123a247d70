// 256 MiB over real AF_VSOCK to a slow reader, hash-checked, with the writer held back.
import { createHash, randomBytes } from 'node:crypto';
import { EOF } from '@flow/core';
import { connectVsock } from '../../src/vsock/connect';
import { listener, LOCAL } from './support';

const TOTAL = 256 * 1024 * 1024;
const PIECE = 1024 * 1024;

test('256 MiB to a slow reader arrive whole and in order; the writer waits on the reader and memory stays bounded', async () => {
  const l = await listener();
  const [c, s] = await Promise.all([connectVsock({ kind: 'vsock', cid: LOCAL, port: l.address.port }), l.accept()]);
  if (!c.ok) throw c.error;
  if (!s.ok) throw s.error;
  const sent = createHash('sha256');
  const piece = randomBytes(PIECE);
  let maxAhead = 0;
  let received = 0;
  const startRss = process.memoryUsage().rss;
  let maxRss = startRss;
  const writing = (async () => {
    for (let at = 0; at < TOTAL; at += PIECE) {
      // A different piece each time (rotated), so that a repeated or lost piece changes the hash.
      const rotated = Buffer.concat([piece.subarray(at % 4093), piece.subarray(0, at % 4093)]);
      sent.update(rotated);
      const r = await c.value.write(rotated);
      if (!r.ok) throw r.error;
      maxAhead = Math.max(maxAhead, at + PIECE - received);
    }
    const r = await c.value.shutdownWrite();
    if (!r.ok) throw r.error;
  })();
  const got = createHash('sha256');
  const into = new Uint8Array(100_000);
  for (let reads = 0; ; reads++) {
    const r = await s.value.readInto(into);
    if (!r.ok) throw r.error;
    if (r.value === EOF) break;
    got.update(into.subarray(0, r.value));
    received += r.value;
    // Slow: a pause every 64 reads.
    if (reads % 64 === 0) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
    }
  }
  await writing;
  expect(received).toBe(TOTAL);
  expect(got.digest('hex')).toBe(sent.digest('hex'));
  // Held back: never more ahead of the reader than both flows' queues, the kernel's buffers and one piece.
  expect(maxAhead).toBeLessThan(8 * 1024 * 1024);
  expect(maxRss - startRss).toBeLessThan(128 * 1024 * 1024);
  await Promise.all([c.value.close(), s.value.close()]);
  await l.close();
}, 600_000);
