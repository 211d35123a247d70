import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dialect, encode, LFLAGS, type Message, OMODE } from '@flow/9p';
import { Child } from './child';
import type { CampaignServerConfig } from './ninep-campaign-server';
import { PeakSampler, rssOf } from './rss';

export interface NinepCampaignOptions {
  /** 9P frames to send in all (each gets exactly one reply). */
  readonly frames: number;
  /** Client connections at once. */
  readonly connections: number;
  /** Frames one connection sends before it hangs up and a new one takes its place. */
  readonly framesPerConnection: number;
  /** Requests a connection keeps in flight. */
  readonly window: number;
  /** The server's memory budget. */
  readonly budgetBytes: number;
  readonly seed: number;
}

export interface NinepCampaignResult {
  readonly options: NinepCampaignOptions;
  readonly seconds: number;
  readonly framesSent: number;
  readonly replies: number;
  readonly errorReplies: number;
  readonly mutated: number;
  readonly garbage: number;
  readonly connectionsOpened: number;
  /** Connections the server ended before the client did (should be 0). */
  readonly connectionsCut: number;
  readonly serverRssBefore: number;
  readonly serverRssPeak: number;
  readonly serverAlive: boolean;
  readonly server: { outcomes: Record<string, number>; budgetInUse: number; peakBudget: number; evictions: number; refusals: number };
}

const DIALECTS: Dialect[] = ['9P2000.L', '9P2000.u', '9P2000'];
const NOFID = 0xffffffff;
/** Request types a mutation never produces: their replies would break one-reply-per-frame counting. */
const NO_FUZZ_TYPES = new Set([100, 108]); // Tversion (resets), Tflush (suppresses another reply)

/** A small seeded PRNG (mulberry32): a campaign is reproducible from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The export the campaign hammers: a directory whose listing takes several reads, a file. */
function makeExport(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flow-9p-campaign-'));
  mkdirSync(join(dir, 'big'));
  for (let i = 0; i < 40; i++) writeFileSync(join(dir, 'big', `${String(i).padStart(5, '0')}${'c'.repeat(195)}`), '');
  writeFileSync(join(dir, 'f'), 'campaign file\n');
  return dir;
}

/** Request templates of one dialect (tag 0; the sender sets each frame's tag). */
function templates(dialect: Dialect, rand: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const add = (m: Record<string, unknown>): void => {
    out.push(encode({ tag: 0, ...m } as Message, dialect));
  };
  for (let fid = 1; fid <= 16; fid++) {
    add({ type: 'Twalk', fid: 0, newfid: fid, wnames: [] });
    add({ type: 'Twalk', fid: 0, newfid: fid, wnames: ['big'] });
    add({ type: 'Twalk', fid: 0, newfid: fid, wnames: ['f'] });
    add({ type: 'Twalk', fid: 0, newfid: fid, wnames: ['big', '..', 'missing'] });
    add({ type: 'Tclunk', fid });
    if (dialect === '9P2000.L') {
      add({ type: 'Tlopen', fid, flags: LFLAGS.RDONLY });
      add({ type: 'Treaddir', fid, offset: 0n, count: 8192 });
      add({ type: 'Treaddir', fid, offset: BigInt(Math.floor(rand() * 2 ** 53)), count: 65536 });
      add({ type: 'Tgetattr', fid, requestMask: 0x3fffn });
    } else {
      add({ type: 'Topen', fid, mode: OMODE.READ });
      add({ type: 'Tstat', fid });
    }
    add({ type: 'Tread', fid, offset: 0n, count: 8192 });
    add({ type: 'Tread', fid, offset: BigInt(Math.floor(rand() * 4096)), count: 65536 });
  }
  return out;
}

interface Tally {
  sent: number;
  replies: number;
  errorReplies: number;
  mutated: number;
  garbage: number;
  opened: number;
  cut: number;
}

/** One client connection: version, attach, then `quota` frames with up to `window` in flight. */
function runConnection(port: number, quota: number, window: number, rand: () => number, tally: Tally): Promise<void> {
  const dialect = DIALECTS[Math.floor(rand() * DIALECTS.length)]!;
  const reqs = templates(dialect, rand);
  tally.opened++;
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    let expected = 0;
    let received = 0;
    let sentHere = 0;
    let done = false;
    let acc: Buffer = Buffer.alloc(0);
    const finish = (cut: boolean): void => {
      if (done) return;
      done = true;
      if (cut) tally.cut++;
      sock.destroy();
      resolve();
    };
    const nextFrame = (tag: number): Buffer => {
      const p = rand();
      let f: Buffer;
      if (p < 0.01) {
        // Garbage: a well-sized frame of random bytes with a request type.
        const size = 7 + Math.floor(rand() * 120);
        f = Buffer.alloc(size);
        for (let i = 7; i < size; i++) f[i] = Math.floor(rand() * 256);
        let type = 100 + 2 * Math.floor(rand() * 13);
        if (rand() < 0.5) type = 6 + 2 * Math.floor(rand() * 40);
        if (NO_FUZZ_TYPES.has(type)) type = 110;
        f.writeUInt32LE(size, 0);
        f[4] = type;
        tally.garbage++;
      } else {
        f = Buffer.from(reqs[Math.floor(rand() * reqs.length)]!);
        if (p < 0.04 && f.length > 7) {
          for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) f[7 + Math.floor(rand() * (f.length - 7))] = Math.floor(rand() * 256);
          tally.mutated++;
        }
      }
      f.writeUInt16LE(tag, 5);
      return f;
    };
    const pump = (): void => {
      const batch: Buffer[] = [];
      while (sentHere < quota && expected - received < window) {
        batch.push(nextFrame(sentHere % 0xfff0));
        sentHere++;
        expected++;
      }
      if (batch.length > 0) {
        tally.sent += batch.length;
        sock.write(Buffer.concat(batch));
      }
      if (sentHere >= quota && received >= expected) finish(false);
    };
    sock.once('connect', () => {
      const version = encode({ type: 'Tversion', tag: 0xffff, msize: 65536, version: dialect }, '9P2000');
      const attach = encode({ type: 'Tattach', tag: 1, fid: 0, afid: NOFID, uname: 'campaign', aname: '', nUname: 0 }, dialect);
      expected += 2;
      sock.write(Buffer.concat([version, attach]));
    });
    sock.on('data', (d: Buffer) => {
      acc = acc.length === 0 ? d : Buffer.concat([acc, d]);
      let at = 0;
      while (acc.length - at >= 7) {
        const size = acc.readUInt32LE(at);
        if (acc.length - at < size) break;
        const type = acc[at + 4]!;
        if (type === 107 || type === 7) tally.errorReplies++;
        received++;
        tally.replies++;
        at += size;
      }
      acc = at === acc.length ? Buffer.alloc(0) : acc.subarray(at);
      if (received >= 2) pump();
    });
    sock.on('error', () => finish(true));
    sock.on('close', () => finish(true));
  });
}

/**
 * The long 9P campaign: `frames` requests (valid ones, mutated ones, garbage) over many
 * connections in all three dialects against our server in a child process, with the limits
 * `flow 9p serve` uses. Checks that every frame is answered, no connection is cut, and the
 * server's RSS stays within its memory budget plus the runtime's own size.
 */
export async function runNinepCampaign(options: NinepCampaignOptions, log: (line: string) => void = () => undefined): Promise<NinepCampaignResult> {
  const dir = makeExport();
  const config: CampaignServerConfig = { budgetBytes: options.budgetBytes, maxConnections: 64 };
  const server = await Child.start('ninep-campaign-server', [dir, JSON.stringify(config)]);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const serverRssBefore = rssOf(server.pid) ?? 0;
    const sampler = new PeakSampler(() => rssOf(server.pid), 100);
    const tally: Tally = { sent: 0, replies: 0, errorReplies: 0, mutated: 0, garbage: 0, opened: 0, cut: 0 };
    const rand = prng(options.seed);
    let left = options.frames;
    const started = performance.now();
    let lastLog = started;
    await Promise.all(
      Array.from({ length: options.connections }, async () => {
        while (left > 0) {
          const quota = Math.min(left, options.framesPerConnection);
          left -= quota;
          await runConnection(server.ready.port, quota, options.window, rand, tally);
          if (performance.now() - lastLog > 10000) {
            lastLog = performance.now();
            log(`9p campaign: ${tally.sent} frames, ${tally.replies} replies, server RSS peak ${(sampler.peak / 2 ** 20).toFixed(0)} MiB`);
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const serverRssPeak = sampler.stop();
    const serverAlive = server.process.exitCode === null && server.process.signalCode === null;
    // The server ends each session shortly after its client: wait (bounded) for them all.
    let stats = await server.request<NinepCampaignResult['server']>({ cmd: 'stats' } as never, 10000);
    for (let i = 0; i < 50 && stats.budgetInUse > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      stats = await server.request<NinepCampaignResult['server']>({ cmd: 'stats' } as never, 10000);
    }
    return {
      options,
      seconds,
      framesSent: tally.sent,
      replies: tally.replies,
      errorReplies: tally.errorReplies,
      mutated: tally.mutated,
      garbage: tally.garbage,
      connectionsOpened: tally.opened,
      connectionsCut: tally.cut,
      serverRssBefore,
      serverRssPeak,
      serverAlive,
      server: stats,
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatNinepCampaign(r: NinepCampaignResult): string {
  const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
  return [
    `9P campaign: ${r.framesSent} frames (${r.mutated} mutated, ${r.garbage} garbage) over ${r.connectionsOpened} connections, ${r.options.connections} at once, window ${r.options.window}, seed ${r.options.seed}`,
    `  ${r.seconds.toFixed(1)} s, ${Math.round(r.framesSent / r.seconds)} frames/s; replies ${r.replies - 2 * r.connectionsOpened} to requests (+ version/attach), ${r.errorReplies} error replies`,
    `  connections cut by the server: ${r.connectionsCut}; sessions: ${JSON.stringify(r.server.outcomes)}`,
    `  server RSS ${mib(r.serverRssBefore)} at start, peak ${mib(r.serverRssPeak)} (budget ${mib(r.options.budgetBytes)}; budget in use at peak ${mib(r.server.peakBudget)}, at end ${mib(r.server.budgetInUse)})`,
    `  server alive at the end: ${r.serverAlive}`,
  ].join('\n');
}
