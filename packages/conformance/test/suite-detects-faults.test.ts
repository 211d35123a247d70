import { createServer } from 'node:net';
import { abortedError, err, OK, pair, type Flow, type FlowState, type FlowStats, type ReadOptions, type ReadResult, type WriteResult } from '@flow/core';
import type { FlowPair } from '../src';
import { run } from '../src/describe-flow-conformance';
import { allCases } from '../src/suite';
import { WrappedFlow } from './wrapped-flow';

const MiB = 1024 * 1024;

/** Runs the one suite case whose title starts with `title` against `makePair`. */
function runCase(title: string, makePair: () => FlowPair, maxBytes = 4 * MiB): Promise<void> {
  const found = allCases(maxBytes).filter((c) => c.title.startsWith(title));
  if (found.length !== 1) throw new Error(`expected one case titled "${title}…", found ${found.length}`);
  return run({ name: 'self-test', makePair }, undefined, maxBytes, found[0])();
}

function wrapped(wrap: (inner: Flow) => Flow, options: Parameters<typeof pair>[0] = {}): () => FlowPair {
  return () => {
    const [a, b] = pair(options);
    return { a: wrap(a), b: wrap(b) };
  };
}

/** Flips one byte of every write larger than 1000 bytes. */
class CorruptingFlow extends WrappedFlow {
  override write(buffer: Uint8Array): Promise<WriteResult> {
    const copy = Uint8Array.prototype.slice.call(buffer);
    if (copy.length > 1000) copy[copy.length >> 1] ^= 0xff;
    return this.inner.write(copy);
  }
}

/** close() that only shuts down the write side and does not wait for the peer. */
class HastyCloseFlow extends WrappedFlow {
  private closing = false;
  override async close(): Promise<WriteResult> {
    this.closing = true;
    await this.inner.shutdownWrite();
    return OK;
  }
  override get state(): FlowState {
    return this.closing ? 'closing' : this.inner.state;
  }
}

/** Accepts every write at once into an unbounded queue: no backpressure at all. */
class UnboundedFlow extends WrappedFlow {
  private chain: Promise<unknown> = Promise.resolve();
  override write(buffer: Uint8Array): Promise<WriteResult> {
    this.chain = this.chain.then(() => this.inner.write(buffer));
    return Promise.resolve(OK);
  }
  override shutdownWrite(): Promise<WriteResult> {
    return this.chain.then(() => this.inner.shutdownWrite());
  }
}

/** Holds back its writer correctly but keeps every buffer it was given. */
class HoardingFlow extends WrappedFlow {
  private readonly hoard: Uint8Array[] = [];
  override write(buffer: Uint8Array): Promise<WriteResult> {
    this.hoard.push(buffer);
    return this.inner.write(buffer);
  }
}

/** Reports one byte more than it accepted. */
class LyingStatsFlow extends WrappedFlow {
  override get stats(): FlowStats {
    const s = this.inner.stats;
    return { ...s, bytesAccepted: s.bytesAccepted + 1 };
  }
}

/** A cancelled read that still takes the next chunk off the flow (and drops it). */
class GreedyReadFlow extends WrappedFlow {
  override read(options?: ReadOptions): Promise<ReadResult> {
    const inner = this.inner.read();
    const signal = options?.signal;
    if (!signal) return inner;
    return new Promise((resolve) => {
      signal.addEventListener('abort', () => resolve(err(abortedError(signal.reason))), { once: true });
      void inner.then(resolve);
    });
  }
}

describe('the suite fails a flow that breaks the contract', () => {
  test('integrity catches a flipped byte', async () => {
    await expect(runCase('a→b: 65537 bytes', wrapped((f) => new CorruptingFlow(f)))).rejects.toThrow(/sha256/);
  });

  test('close-handshake catches a close() that does not wait for the peer', async () => {
    await expect(runCase('close() does not resolve before the peer closes', wrapped((f) => new HastyCloseFlow(f)))).rejects.toThrow(
      /resolved before the peer closed/,
    );
  });

  test('backpressure catches a writer that is never held back', async () => {
    await expect(runCase('a writer pushing', wrapped((f) => new UnboundedFlow(f)), 16 * MiB)).rejects.toThrow(/never held back/);
  });

  test('backpressure catches a flow that keeps the buffers it was given', async () => {
    await expect(runCase('a writer pushing', wrapped((f) => new HoardingFlow(f)), 32 * MiB)).rejects.toThrow(/buffer memory grew/);
  });

  test('stats catches a byte count that does not match what was sent', async () => {
    await expect(runCase('stats agree with the bytes', wrapped((f) => new LyingStatsFlow(f)))).rejects.toThrow(/bytesAccepted/);
  });

  test('read-signal catches a cancelled read that consumed data', async () => {
    await expect(runCase('a pending read aborted by its signal', wrapped((f) => new GreedyReadFlow(f)))).rejects.toThrow(/consumed data/);
  });

  test('abort catches a declared capability the peer does not observe', async () => {
    const declaresClose = (f: Flow): Flow =>
      new (class extends WrappedFlow {
        override get capabilities() {
          return { ...this.inner.capabilities, abort: 'close' as const };
        }
      })(f);
    await expect(runCase('abort settles a pending read', wrapped(declaresClose))).rejects.toThrow(/capabilities.abort is 'close'/);
  });

  test('handles catches a listener the factory never closes', async () => {
    const leaky = async (): Promise<FlowPair> => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const [a, b] = pair();
      leaked.push(server);
      return { a, b };
    };
    const leaked: ReturnType<typeof createServer>[] = [];
    const found = allCases(MiB).find((c) => c.title.startsWith('no socket or pipe is left open after both ends close'));
    if (!found) throw new Error('handles case not found');
    try {
      await expect(run({ name: 'self-test', makePair: leaky }, undefined, MiB, found)()).rejects.toThrow(/TCPServerWrap/);
    } finally {
      await Promise.all(leaked.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });
});
