import { createHash, randomFillSync } from 'node:crypto';
import { EOF, type Flow, type FlowError } from '@flow/core';
import { expectOk } from './results';

/** Odd write sizes, mixed small and large, so that no transport chunking lines up with them. */
export const ODD_SIZES: readonly number[] = [1, 7, 4093, 65537, 3, 262147, 13, 1048573, 2, 16411, 131071];

export const KiB = 1024;
export const MiB = 1024 * 1024;

/** Splits `total` into the cycle of `sizes`, the last piece cut to fit. */
export function pieces(total: number, sizes: readonly number[] = ODD_SIZES): number[] {
  const out: number[] = [];
  let left = total;
  for (let i = 0; left > 0; i += 1) {
    const n = Math.min(left, sizes[i % sizes.length]);
    out.push(n);
    left -= n;
  }
  return out;
}

export function randomBytes(n: number): Buffer {
  return randomFillSync(Buffer.allocUnsafe(n));
}

export interface Sent {
  readonly bytes: number;
  readonly sha256: string;
  readonly writes: number;
}

export interface SendOptions {
  readonly sizes?: readonly number[];
  /**
   * Reuse one buffer, refilling it as soon as each write resolved: the contract lets a caller
   * mutate a buffer once its write settled, so this must not change what the peer receives.
   */
  readonly reuse?: boolean;
  /** Called with each write's size just before it is issued (for pacing and accounting). */
  readonly onWrite?: (size: number) => void;
}

/** Writes `total` random bytes in odd-sized writes, awaiting each; returns what was sent. */
export async function send(flow: Flow, total: number, options: SendOptions = {}): Promise<Sent> {
  const hash = createHash('sha256');
  const sizes = pieces(total, options.sizes);
  const shared = options.reuse ? Buffer.allocUnsafe(Math.max(1, ...sizes)) : undefined;
  let bytes = 0;
  for (const size of sizes) {
    const buffer = shared ? randomFillSync(shared.subarray(0, size)) : randomBytes(size);
    hash.update(buffer);
    options.onWrite?.(size);
    expectOk(await flow.write(buffer), `write of ${size} bytes after ${bytes} bytes`);
    bytes += size;
  }
  return { bytes, sha256: hash.digest('hex'), writes: sizes.length };
}

export interface Received {
  readonly bytes: number;
  readonly sha256: string;
  readonly reads: number;
  /** How reading stopped: EOF, the expected count was reached, or an error. */
  readonly end: 'eof' | 'count' | FlowError;
}

export interface ReceiveOptions {
  /** Stop once this many bytes arrived, without reading on to EOF. */
  readonly expected?: number;
  /** Read with `readInto`, cycling through buffers of these sizes. */
  readonly intoSizes?: readonly number[];
  /** Awaited after every read, to make a slow reader. */
  readonly pace?: (bytesSoFar: number) => Promise<void> | void;
}

/**
 * Reads until EOF, an error or `expected` bytes, hashing everything. Never returns a
 * zero-length chunk and never more than `expected`: either fails the test.
 */
export async function receive(flow: Flow, options: ReceiveOptions = {}): Promise<Received> {
  const hash = createHash('sha256');
  const intoBuffers = options.intoSizes?.map((n) => new Uint8Array(n));
  let bytes = 0;
  let reads = 0;
  for (;;) {
    if (options.expected !== undefined && bytes >= options.expected) {
      return { bytes, sha256: hash.digest('hex'), reads, end: 'count' };
    }
    let chunk: Uint8Array;
    if (intoBuffers) {
      const buffer = intoBuffers[reads % intoBuffers.length];
      const r = await flow.readInto(buffer);
      if (!r.ok) return { bytes, sha256: hash.digest('hex'), reads, end: r.error };
      if (r.value === EOF) return { bytes, sha256: hash.digest('hex'), reads, end: 'eof' };
      if (!(r.value >= 1 && r.value <= buffer.length)) {
        throw new Error(`readInto of a ${buffer.length}-byte buffer filled ${r.value} bytes`);
      }
      chunk = buffer.subarray(0, r.value);
    } else {
      const r = await flow.read();
      if (!r.ok) return { bytes, sha256: hash.digest('hex'), reads, end: r.error };
      if (r.value === EOF) return { bytes, sha256: hash.digest('hex'), reads, end: 'eof' };
      chunk = r.value;
    }
    if (chunk.length === 0) throw new Error(`read ${reads + 1} returned a zero-length chunk`);
    hash.update(chunk);
    bytes += chunk.length;
    reads += 1;
    if (options.expected !== undefined && bytes > options.expected) {
      throw new Error(`received ${bytes} bytes, more than the ${options.expected} sent`);
    }
    await options.pace?.(bytes);
  }
}

/** A compact description of how a receive ended, for assertion messages. */
export function describeEnd(end: Received['end']): string {
  return typeof end === 'string' ? end : `error ${end.kind}: ${end.message}`;
}

/** Checks that `received` is exactly `sent` and ended as expected. */
export function expectSame(received: Received, sent: Sent, end: 'eof' | 'count', what: string): void {
  if (received.end !== end) {
    throw new Error(`${what}: expected the read side to end with ${end} after ${sent.bytes} bytes, it ended with ${describeEnd(received.end)} after ${received.bytes} bytes`);
  }
  if (received.bytes !== sent.bytes) {
    throw new Error(`${what}: sent ${sent.bytes} bytes, received ${received.bytes}`);
  }
  if (received.sha256 !== sent.sha256) {
    throw new Error(`${what}: the ${sent.bytes} bytes arrived corrupted or reordered (sha256 differs)`);
  }
}
