import { randomFillSync } from 'node:crypto';
import { EOF } from '@flow/core';
import { WriteStamps } from '@flow/xen-console/sim';
import { Digest } from './digest';
import { startXenPair, type RateLimit, type XenPair } from './xen-console-pair';
import { GcWatch, type GcPauses } from './xen-gc-watch';
import { LONG_STALL_MS, RingWatch, type RingWatchCounts } from './xen-ring-watch';

/** What one bulk transfer through the console did. */
export interface XenTransferRun {
  readonly bytes: number;
  readonly seconds: number;
  /** Events delivered to dom0's backend and notifications it sent (its `consoleStats`). */
  readonly dom0Events: number;
  readonly dom0Notifies: number;
  /** The same at the guest's frontend. */
  readonly guestEvents: number;
  readonly guestNotifies: number;
  readonly watch: RingWatchCounts;
  /** dom0's thread's garbage-collection pauses during the transfer (they stall the backend too). */
  readonly gc: GcPauses;
}

export interface TransferOptions {
  readonly bytes: number;
  /** Size of the writes of whoever produces (the guest's source, or dom0). */
  readonly chunkSize: number;
  readonly limit: RateLimit;
  /** Hash both ends and compare (the byte count is always checked). */
  readonly verify: boolean;
  /**
   * guest → dom0 only: dom0's reader stops for `ms` after every `everyBytes` it read, so that
   * the backend's buffer fills, it stops taking from the ring, and must start again as soon as
   * the reader is back.
   */
  readonly readerPause?: { readonly everyBytes: number; readonly ms: number };
}

const SEED = 0x5eed;

/**
 * Guest → dom0 on the 2 KiB `out` ring: a `source` guest writes `bytes`; dom0 reads them.
 * Timed from the guest's first write to dom0's read of the last byte (one monotonic clock for
 * both threads).
 */
export async function measureGuestToDom0(options: TransferOptions): Promise<XenTransferRun> {
  // The sampler is ready before the guest starts: its writes begin as soon as it is connected.
  const watch = await RingWatch.start('out');
  let pair: XenPair | undefined;
  try {
    pair = await startXenPair({ kind: 'source', bytes: options.bytes, seed: SEED, chunkSize: options.chunkSize }, options.limit);
    watch.watch(pair.page.buffer);
    const gc = new GcWatch(LONG_STALL_MS);
    const digest = new Digest(options.verify);
    const pause = options.readerPause;
    let nextPause = pause?.everyBytes ?? Infinity;
    while (digest.bytes < options.bytes) {
      watch.waiting = true;
      const r = await pair.back.read();
      watch.waiting = false;
      if (!r.ok) throw new Error(`dom0 read failed after ${digest.bytes} bytes: ${r.error.message}`);
      if (r.value === EOF) throw new Error(`the console ended after ${digest.bytes} of ${options.bytes} bytes`);
      digest.update(r.value);
      if (pause && digest.bytes >= nextPause) {
        nextPause += pause.everyBytes;
        await new Promise((resolve) => setTimeout(resolve, pause.ms));
      }
    }
    const doneAt = process.hrtime.bigint();
    const pauses = gc.stop();
    const counts = await watch.stop();
    const report = await pair.guest.report;
    if (!report.ok) throw new Error(`the guest did not report: ${report.error.message}`);
    if (report.value.ended !== 'done' || report.value.firstWriteAt === undefined) throw new Error(`the source guest ended with ${JSON.stringify(report.value.ended)}`);
    if (digest.bytes !== options.bytes) throw new Error(`dom0 read ${digest.bytes} bytes, the guest wrote ${options.bytes}`);
    const sha = digest.finish();
    if (sha !== undefined && sha !== report.value.written.sha256) throw new Error('guest → dom0: the SHA-256 of what dom0 read differs from what the guest wrote');
    return { ...(await counters(pair)), bytes: options.bytes, seconds: seconds(report.value.firstWriteAt, doneAt), watch: counts, gc: pauses };
  } finally {
    await watch.abandon();
    await pair?.close();
  }
}

/**
 * dom0 → guest on the 1 KiB `in` ring: dom0 writes `bytes`; a `sink` guest reads them. Timed
 * from dom0's first write to the guest's read of the last byte.
 */
export async function measureDom0ToGuest(options: TransferOptions): Promise<XenTransferRun> {
  const watch = await RingWatch.start('in');
  let pair: XenPair | undefined;
  try {
    pair = await startXenPair({ kind: 'sink', bytes: options.bytes }, options.limit);
    watch.watch(pair.page.buffer);
    const gc = new GcWatch(LONG_STALL_MS);
    const digest = new Digest(options.verify);
    const chunk = randomFillSync(new Uint8Array(options.chunkSize));
    const startAt = process.hrtime.bigint();
    for (let left = options.bytes; left > 0; ) {
      const piece = chunk.subarray(0, Math.min(left, chunk.length));
      digest.update(piece);
      watch.waiting = true;
      const w = await pair.back.write(piece);
      watch.waiting = false;
      if (!w.ok) throw new Error(`dom0 write failed after ${options.bytes - left} bytes: ${w.error.message}`);
      left -= piece.length;
    }
    const report = await pair.guest.report;
    const pauses = gc.stop();
    const counts = await watch.stop();
    if (!report.ok) throw new Error(`the guest did not report: ${report.error.message}`);
    const { read, lastReadAt, ended } = report.value;
    if (ended !== 'done' || lastReadAt === undefined) throw new Error(`the sink guest ended with ${JSON.stringify(ended)}`);
    if (read.bytes !== options.bytes) throw new Error(`the guest read ${read.bytes} bytes, dom0 wrote ${options.bytes}`);
    const sha = digest.finish();
    if (sha !== undefined && sha !== read.sha256) throw new Error('dom0 → guest: the SHA-256 of what the guest read differs from what dom0 wrote');
    return { ...(await counters(pair)), bytes: options.bytes, seconds: seconds(startAt, lastReadAt), watch: counts, gc: pauses };
  } finally {
    await watch.abandon();
    await pair?.close();
  }
}

/** Latencies of 1-byte round trips through an `echo` guest, in microseconds. */
export interface XenPingRun {
  /** From the guest's write of the echoed byte to dom0's `read()` resolving with it. */
  readonly guestToDom0Us: number[];
  /** From dom0's `write()` to its `read()` of the echo resolving. */
  readonly roundTripUs: number[];
}

/** `count` measured 1-byte round trips after `warmup` unmeasured ones. */
export async function measurePings(count: number, warmup: number, limit: RateLimit): Promise<XenPingRun> {
  const stamps = WriteStamps.create(4);
  const pair = await startXenPair({ kind: 'echo' }, limit, stamps);
  const guestToDom0Us: number[] = [];
  const roundTripUs: number[] = [];
  try {
    const ping = Uint8Array.of(0x70);
    for (let i = 0; i < warmup + count; i += 1) {
      const sentAt = process.hrtime.bigint();
      const w = await pair.back.write(ping);
      if (!w.ok) throw new Error(`ping ${i}: dom0 write failed: ${w.error.message}`);
      const r = await pair.back.read();
      const readAt = process.hrtime.bigint();
      if (!r.ok || r.value === EOF || r.value.length !== 1 || r.value[0] !== 0x70) throw new Error(`ping ${i}: the echo did not come back as one byte`);
      // One write by the guest per ping: its latest stamp is this echo's.
      const echoedAt = stamps.latest();
      if (stamps.count !== i + 1 || echoedAt === undefined) throw new Error(`ping ${i}: the guest made ${stamps.count} writes`);
      if (i < warmup) continue;
      guestToDom0Us.push(Number(readAt - echoedAt) / 1e3);
      roundTripUs.push(Number(readAt - sentAt) / 1e3);
    }
    return { guestToDom0Us, roundTripUs };
  } finally {
    await pair.close();
  }
}

async function counters(pair: XenPair): Promise<Pick<XenTransferRun, 'dom0Events' | 'dom0Notifies' | 'guestEvents' | 'guestNotifies'>> {
  const status = await pair.guest.status();
  if (!status.ok) throw new Error(`the guest did not answer: ${status.error.message}`);
  const dom0 = pair.back.consoleStats;
  return { dom0Events: dom0.events, dom0Notifies: dom0.notifies, guestEvents: status.value.events, guestNotifies: status.value.notifies };
}

function seconds(from: bigint, to: bigint): number {
  return Number(to - from) / 1e9;
}
