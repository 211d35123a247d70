import { once } from 'node:events';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { copy, EOF, pair, proxy, type Flow } from '@flow/core';
import { ChunkPlan, type ChunkMode } from './chunks';
import { Digest } from './digest';
import { spread, spreadPercent, type Spread } from './summary';
import { fixed, markdownTable, ratio } from './table';

export interface CoreBenchOptions {
  /** Bytes moved per run. */
  readonly bytes: number;
  readonly chunkSize: number;
  /** Measured runs per variant (best-of), after one warm-up run of each. */
  readonly runs: number;
  /** Hash what arrives and compare with what was sent (smoke tests); slows every variant. */
  readonly verify?: boolean;
  /** Skip the warm-up run. */
  readonly noWarmup?: boolean;
  /** Run only these variants (e.g. for profiling one of them). */
  readonly only?: readonly CoreVariant[];
}

/** What one run of one variant did. */
export interface CoreRun {
  readonly bytes: number;
  readonly seconds: number;
  /** SHA-256 of what the receiver got, in verify runs. */
  readonly digest?: string;
}

export type CoreVariant =
  | 'flow copy'
  | 'flow proxy'
  | 'node pipeline'
  | 'node pipeline, one shared buffer'
  | 'node pipeline, awaited ends'
  | 'web streams'
  | 'bare promise queue';

export interface CoreVariantResult {
  readonly variant: CoreVariant;
  /** MiB/s of each measured run. */
  readonly mibPerSecond: Spread;
  readonly runs: readonly CoreRun[];
}

export interface CoreBenchResult {
  readonly options: CoreBenchOptions;
  readonly variants: readonly CoreVariantResult[];
  /** SHA-256 of the bytes sent, in verify runs. */
  readonly expectedDigest?: string;
}

async function produce(flow: Flow, plan: ChunkPlan): Promise<void> {
  for (let i = 0; i < plan.count; i += 1) {
    // Each chunk is fresh and never touched again, as a socket's or a file's would be: say so,
    // so that the pair may pass it on instead of copying it (Node's streams pass references).
    const w = await flow.write(plan.chunk(i), { transfer: true });
    if (!w.ok) throw new Error(`producer write failed: ${w.error.message}`);
  }
  const s = await flow.shutdownWrite();
  if (!s.ok) throw new Error(`producer shutdownWrite failed: ${s.error.message}`);
}

async function consume(flow: Flow, digest: Digest): Promise<void> {
  for (;;) {
    const r = await flow.read();
    if (!r.ok) throw new Error(`consumer read failed: ${r.error.message}`);
    if (r.value === EOF) return;
    digest.update(r.value);
  }
}

/** source pair → copy → sink pair, the receiver reading to EOF. */
async function runCopy(plan: ChunkPlan): Promise<CoreRun> {
  const [srcW, srcR] = pair();
  const [dstW, dstR] = pair();
  const digest = new Digest(plan.verify);
  const t0 = performance.now();
  const [, copied] = await Promise.all([produce(srcW, plan), copy(srcR, dstW), consume(dstR, digest)]);
  const seconds = (performance.now() - t0) / 1000;
  if (copied.outcome !== 'eof') throw new Error(`copy ended with ${copied.outcome}: ${copied.error?.message}`);
  for (const f of [srcW, srcR, dstW, dstR]) f.abort();
  return { bytes: digest.bytes, seconds, digest: digest.finish() };
}

/** source pair → proxy (both directions; the return one carries only EOF) → sink pair. */
async function runProxy(plan: ChunkPlan): Promise<CoreRun> {
  const [srcW, srcR] = pair();
  const [dstW, dstR] = pair();
  const digest = new Digest(plan.verify);
  const t0 = performance.now();
  const receiver = async (): Promise<void> => {
    const s = await dstR.shutdownWrite();
    if (!s.ok) throw new Error(`receiver shutdownWrite failed: ${s.error.message}`);
    await consume(dstR, digest);
  };
  const [, proxied] = await Promise.all([produce(srcW, plan), proxy(srcR, dstW), receiver()]);
  const seconds = (performance.now() - t0) / 1000;
  if (proxied.aToB.outcome !== 'eof' || proxied.bToA.outcome !== 'eof') {
    throw new Error(`proxy ended with ${proxied.aToB.outcome}/${proxied.bToA.outcome}`);
  }
  for (const f of [srcW, srcR, dstW, dstR]) f.abort();
  return { bytes: digest.bytes, seconds, digest: digest.finish() };
}

/** Node's answer: a Readable producing the same chunks → PassThrough → a counting Writable. */
async function runPipeline(plan: ChunkPlan): Promise<CoreRun> {
  let i = 0;
  const source = new Readable({
    read() {
      if (i < plan.count) this.push(plan.chunk(i++));
      else this.push(null);
    },
  });
  const digest = new Digest(plan.verify);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      digest.update(chunk);
      callback();
    },
  });
  const t0 = performance.now();
  await pipeline(source, new PassThrough(), sink);
  const seconds = (performance.now() - t0) / 1000;
  return { bytes: digest.bytes, seconds, digest: digest.finish() };
}

/**
 * The Node topology that matches ours piece for piece, driven the way flows are: an async
 * producer writes into a PassThrough (waiting for 'drain'), `pipeline` relays it into a second
 * PassThrough, and an async consumer iterates that one.
 */
async function runAwaitedPipeline(plan: ChunkPlan): Promise<CoreRun> {
  const inlet = new PassThrough();
  const outlet = new PassThrough();
  const digest = new Digest(plan.verify);
  const produce = async (): Promise<void> => {
    for (let i = 0; i < plan.count; i += 1) {
      if (!inlet.write(plan.chunk(i))) await once(inlet, 'drain');
    }
    inlet.end();
  };
  const consume = async (): Promise<void> => {
    for await (const chunk of outlet) digest.update(chunk as Buffer);
  };
  const t0 = performance.now();
  await Promise.all([produce(), pipeline(inlet, outlet), consume()]);
  const seconds = (performance.now() - t0) / 1000;
  return { bytes: digest.bytes, seconds, digest: digest.finish() };
}

/** The Web Streams answer: a pulled ReadableStream through an identity TransformStream into a WritableStream. */
async function runWebStreams(plan: ChunkPlan): Promise<CoreRun> {
  let i = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < plan.count) controller.enqueue(plan.chunk(i++));
      else controller.close();
    },
  });
  const digest = new Digest(plan.verify);
  const sinkStream = new WritableStream<Uint8Array>({ write: (chunk) => digest.update(chunk) });
  const t0 = performance.now();
  await source.pipeThrough(new TransformStream<Uint8Array, Uint8Array>()).pipeTo(sinkStream);
  const seconds = (performance.now() - t0) / 1000;
  return { bytes: digest.bytes, seconds, digest: digest.finish() };
}

/**
 * A reference, not a library: the least any API with one promise per operation pays. A one-slot
 * queue with nothing else (no stats, no checks, no relay), a producer awaiting each write and a
 * consumer awaiting each read.
 */
async function runBarePromiseQueue(plan: ChunkPlan): Promise<CoreRun> {
  let slot: Buffer | null | undefined;
  let reader: ((chunk: Buffer | null) => void) | undefined;
  let writer: (() => void) | undefined;
  const put = (chunk: Buffer | null): Promise<void> => {
    if (reader) {
      const r = reader;
      reader = undefined;
      r(chunk);
      return Promise.resolve();
    }
    if (slot === undefined) {
      slot = chunk;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      writer = () => {
        slot = chunk;
        resolve();
      };
    });
  };
  const take = (): Promise<Buffer | null> => {
    if (slot === undefined) return new Promise((resolve) => (reader = resolve));
    const chunk = slot;
    slot = undefined;
    const w = writer;
    writer = undefined;
    w?.();
    return Promise.resolve(chunk);
  };
  const digest = new Digest(plan.verify);
  const t0 = performance.now();
  await Promise.all([
    (async () => {
      for (let i = 0; i < plan.count; i += 1) await put(plan.chunk(i));
      await put(null);
    })(),
    (async () => {
      for (;;) {
        const chunk = await take();
        if (chunk === null) return;
        digest.update(chunk);
      }
    })(),
  ]);
  const seconds = (performance.now() - t0) / 1000;
  return { bytes: digest.bytes, seconds, digest: digest.finish() };
}

interface VariantSpec {
  readonly run: (plan: ChunkPlan) => Promise<CoreRun>;
  /** How the producer makes its chunks (verify runs override it). */
  readonly mode: ChunkMode;
}

/**
 * Every producer hands over fresh chunks, as a socket or a file would, except in the shared-buffer
 * row: there Node's producer pushes one buffer over and over, which streams pass on by reference
 * without a copy: the ceiling for a zero-copy transport, not a like-for-like comparison.
 */
const VARIANTS: Record<CoreVariant, VariantSpec> = {
  'flow copy': { run: runCopy, mode: 'fresh' },
  'flow proxy': { run: runProxy, mode: 'fresh' },
  'node pipeline': { run: runPipeline, mode: 'fresh' },
  'node pipeline, one shared buffer': { run: runPipeline, mode: 'shared' },
  'node pipeline, awaited ends': { run: runAwaitedPipeline, mode: 'fresh' },
  'web streams': { run: runWebStreams, mode: 'fresh' },
  'bare promise queue': { run: runBarePromiseQueue, mode: 'fresh' },
};

export const CORE_VARIANTS = Object.keys(VARIANTS) as CoreVariant[];

export async function runCoreBench(options: CoreBenchOptions, log: (line: string) => void = () => undefined): Promise<CoreBenchResult> {
  const plans = new Map<ChunkMode, ChunkPlan>();
  const planFor = (v: CoreVariant): ChunkPlan => {
    const mode: ChunkMode = options.verify ? 'verify' : VARIANTS[v].mode;
    let plan = plans.get(mode);
    if (!plan) plans.set(mode, (plan = new ChunkPlan(options.bytes, options.chunkSize, mode)));
    return plan;
  };
  const chosen = CORE_VARIANTS.filter((v) => options.only === undefined || options.only.includes(v));
  const runs = new Map<CoreVariant, CoreRun[]>(chosen.map((v) => [v, []]));
  if (!options.noWarmup) for (const v of chosen) await VARIANTS[v].run(planFor(v));
  // Variants take turns, so that noise from other work on the machine spreads over all of them.
  for (let round = 0; round < options.runs; round += 1) {
    for (const v of chosen) {
      const r = await VARIANTS[v].run(planFor(v));
      if (r.bytes !== options.bytes) throw new Error(`${v}: ${r.bytes} bytes arrived, ${options.bytes} were sent`);
      runs.get(v)?.push(r);
      log(`  core ${v} run ${round + 1}: ${fixed(mib(r))} MiB/s`);
    }
  }
  return {
    options,
    expectedDigest: options.verify ? planFor('flow copy').digest() : undefined,
    variants: chosen.map((variant) => {
      const rs = runs.get(variant) ?? [];
      return { variant, runs: rs, mibPerSecond: spread(rs.map(mib)) };
    }),
  };
}

function mib(r: CoreRun): number {
  return r.bytes / 1024 ** 2 / r.seconds;
}

export function formatCoreBench(result: CoreBenchResult): string {
  const node = result.variants.find((v) => v.variant === 'node pipeline')?.mibPerSecond.best;
  const { bytes, chunkSize, runs } = result.options;
  const title = `in-memory: ${bytes / 1024 ** 2} MiB in ${chunkSize / 1024} KiB chunks, best of ${runs} after a warm-up`;
  const table = markdownTable(
    ['variant', 'best MiB/s', 'median MiB/s', 'worst MiB/s', 'spread', 'vs node pipeline'],
    result.variants.map((v) => [
      v.variant,
      fixed(v.mibPerSecond.best, 0),
      fixed(v.mibPerSecond.median, 0),
      fixed(v.mibPerSecond.worst, 0),
      `${fixed(spreadPercent(v.mibPerSecond), 0)}%`,
      ratio(v.mibPerSecond.best, node),
    ]),
  );
  return `${title}\n\n${table}`;
}
