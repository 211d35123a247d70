import { createHash, type Hash } from 'node:crypto';
import { EOF, ok, type Flow, type FlowError, type Result } from '@flow/core';
import type { GuestBehaviour, GuestTransfer } from './guest-messages';
import { LineDiscipline } from './guest-line-discipline';
import type { WriteStamps } from './guest-write-stamps';

export const DEFAULT_SOURCE_CHUNK = 64 * 1024;
/** A source writes at most this per call (a guest cannot make its own worker allocate more). */
export const MAX_SOURCE_CHUNK = 16 * 1024 * 1024;

/** One direction's count, hash and first/last times. */
class Tally {
  bytes = 0;
  first: bigint | undefined;
  last: bigint | undefined;
  readonly #hash: Hash = createHash('sha256');

  add(bytes: Uint8Array, at: bigint): void {
    this.#hash.update(bytes);
    this.bytes += bytes.length;
    this.first ??= at;
    this.last = at;
  }

  /** The count and the hash so far (the running hash is copied, so counting can go on). */
  snapshot(): GuestTransfer {
    return { bytes: this.bytes, sha256: this.#hash.copy().digest('hex') };
  }
}

/**
 * A guest program's view of its console: reads and writes that stop when the guest is told to
 * stop, and that count and hash every byte (and stamp every write, when asked).
 */
export class GuestConsoleIo {
  /** What the guest read (dom0's input to it) and wrote (its console output). */
  readonly input = new Tally();
  readonly output = new Tally();

  constructor(
    private readonly flow: Flow,
    private readonly signal: AbortSignal,
    private readonly stamps?: WriteStamps,
  ) {}

  async read(): Promise<Result<Uint8Array | typeof EOF, FlowError>> {
    const r = await this.flow.read({ signal: this.signal });
    if (r.ok && r.value !== EOF) this.input.add(r.value, process.hrtime.bigint());
    return r;
  }

  async write(bytes: Uint8Array): Promise<Result<void, FlowError>> {
    const at = process.hrtime.bigint();
    this.stamps?.stamp(at);
    const w = await this.flow.write(bytes, { signal: this.signal });
    // Counted once accepted (and before the caller may refill `bytes`), timed when issued.
    if (w.ok) this.output.add(bytes, at);
    return w;
  }
}

/** Runs `behaviour` until it is done (`source`, `sink`) or its input ends (`eof`), or fails. */
export async function runBehaviour(behaviour: GuestBehaviour, io: GuestConsoleIo): Promise<Result<'done' | 'eof', FlowError>> {
  switch (behaviour.kind) {
    case 'echo':
      return transform(io, (bytes) => bytes);
    case 'line-echo': {
      const tty = new LineDiscipline();
      return transform(io, (bytes) => tty.input(bytes));
    }
    case 'source':
      return source(io, behaviour.bytes, behaviour.seed ?? 1, behaviour.chunkSize ?? DEFAULT_SOURCE_CHUNK);
    case 'sink':
      return sink(io, behaviour.bytes);
  }
}

/** Checks a behaviour before a worker starts it (a bad one is the caller's bug: it throws). */
export function checkBehaviour(behaviour: GuestBehaviour): void {
  switch (behaviour.kind) {
    case 'echo':
    case 'line-echo':
      return;
    case 'source':
      checkCount('source bytes', behaviour.bytes);
      if (behaviour.seed !== undefined && !(Number.isInteger(behaviour.seed) && behaviour.seed >= 0 && behaviour.seed <= 0xffffffff)) {
        throw new RangeError(`source seed must be a u32, not ${behaviour.seed}`);
      }
      if (behaviour.chunkSize !== undefined && !(Number.isInteger(behaviour.chunkSize) && behaviour.chunkSize >= 1 && behaviour.chunkSize <= MAX_SOURCE_CHUNK)) {
        throw new RangeError(`source chunkSize must be 1..${MAX_SOURCE_CHUNK}, not ${behaviour.chunkSize}`);
      }
      return;
    case 'sink':
      checkCount('sink bytes', behaviour.bytes);
      return;
    default:
      throw new RangeError(`unknown guest behaviour ${String((behaviour as { kind?: unknown }).kind)}`);
  }
}

function checkCount(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer, not ${n}`);
}

async function transform(io: GuestConsoleIo, answer: (bytes: Uint8Array) => Uint8Array): Promise<Result<'eof', FlowError>> {
  for (;;) {
    const r = await io.read();
    if (!r.ok) return r;
    if (r.value === EOF) return ok('eof');
    const reply = answer(r.value);
    if (reply.length === 0) continue;
    const w = await io.write(reply);
    if (!w.ok) return w;
  }
}

async function source(io: GuestConsoleIo, total: number, seed: number, chunkSize: number): Promise<Result<'done', FlowError>> {
  const bytes = new SourceBytes(seed);
  // One buffer, refilled only after its write resolved (the flow contract allows it).
  const buffer = new Uint8Array(Math.min(chunkSize, Math.max(total, 1)));
  for (let left = total; left > 0; ) {
    const chunk = bytes.fill(buffer.subarray(0, Math.min(left, buffer.length)));
    const w = await io.write(chunk);
    if (!w.ok) return w;
    left -= chunk.length;
  }
  return ok('done');
}

async function sink(io: GuestConsoleIo, total: number): Promise<Result<'done' | 'eof', FlowError>> {
  while (io.input.bytes < total) {
    const r = await io.read();
    if (!r.ok) return r;
    if (r.value === EOF) return ok('eof');
  }
  return ok('done');
}

/**
 * The source's bytes: xorshift32 from `seed` (0 is replaced, xorshift has no zero state), four
 * bytes per step, little-endian. `sourceBytes(n, seed)` gives the same stream in one piece.
 */
export class SourceBytes {
  #x: number;
  #carry: number[] = [];

  constructor(seed: number) {
    this.#x = seed >>> 0 || 0x9e3779b9;
  }

  fill(target: Uint8Array): Uint8Array {
    let i = 0;
    while (i < target.length && this.#carry.length > 0) target[i++] = this.#carry.shift() as number;
    for (; i < target.length; ) {
      let x = this.#x;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      this.#x = x;
      for (let k = 0; k < 4; k++) {
        const b = (x >>> (8 * k)) & 0xff;
        if (i < target.length) target[i++] = b;
        else this.#carry.push(b);
      }
    }
    return target;
  }
}

/** The first `n` bytes a `source` guest with `seed` writes. */
export function sourceBytes(n: number, seed = 1): Uint8Array {
  return new SourceBytes(seed).fill(new Uint8Array(n));
}
