import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { entryPoint } from './child';
import { startFlowProxy } from './hvsock-flow-cli';
import { PeakSampler, rssOf } from './rss';

export interface ProxyCampaignOptions {
  /** Connections in all, each one hash-checked. */
  readonly connections: number;
  /** Connections opened at once per round (more than the proxy runs plus its accept queue). */
  readonly concurrency: number;
  /** Bytes each connection sends and expects echoed back. */
  readonly bytes: number;
  /** Kill the backend by SIGKILL mid-round and start it again on the same port. */
  readonly killBackend: boolean;
  /** How long the backend stays dead before it is started again. */
  readonly restartMs: number;
}

/** How one client connection ended. */
export type ConnectionOutcome = 'ok' | 'reset' | string;

export interface ProxyCampaignResult {
  readonly options: ProxyCampaignOptions;
  /** Connections opened at once per round: `concurrency`, or less if the descriptor limit is lower. */
  readonly concurrency: number;
  readonly notes: readonly string[];
  readonly rounds: number;
  readonly seconds: number;
  readonly ok: number;
  /** Connections the proxy ended with a reset (ECONNRESET at the client). */
  readonly reset: number;
  /** Every other outcome, by reason: `short` (a clean end before all bytes came back), `mismatch`, `timeout`, `connect ECONNREFUSED`, ... */
  readonly failed: Readonly<Record<string, number>>;
  /** Backend kills and restarts done (kill mode only). */
  readonly kills: number;
  readonly proxyFdsBaseline: number;
  readonly proxyFdsPeak: number;
  /** The proxy's descriptors once every client is done (polled until back at baseline, at most 10 s). */
  readonly proxyFdsAfter: number;
  readonly proxyRssStart: number;
  readonly proxyRssPeak: number;
  /** What the proxy said it accepted when it stopped, and how many it reset for want of room. */
  readonly proxyAccepted: number | undefined;
  readonly proxyResetForRoom: number;
  /** How the proxy ended after one SIGTERM, or `still running` 15 s later. */
  readonly proxyExit: string;
}

/** No round may hang the campaign: a connection still open this long after it started is a `timeout`. */
const CONNECTION_DEADLINE_MS = 120_000;
/** Descriptors the campaign keeps aside from its client sockets (stdio, pipes, the event loop). */
const SPARE_DESCRIPTORS = 100;

/** The soft limit on open files of this process (`ulimit -n`), from /proc/self/limits. */
export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m && m[1] !== 'unlimited') return Number(m[1]);
  } catch {
    // Not Linux: no limit known.
  }
  return Number.POSITIVE_INFINITY;
}

function fdCount(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The echo backend in a process of its own, on `port` (0: any). */
class Backend {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly port: number,
    private readonly exited: Promise<void>,
  ) {}

  static async start(port: number): Promise<Backend> {
    const child = spawn(process.execPath, [entryPoint('proxy-campaign-backend'), String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    const bound = await new Promise<number | undefined>((resolve) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /listening (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      void exited.then(() => resolve(undefined));
    });
    if (bound === undefined) throw new Error(`the campaign's backend did not start: ${stderr.trim() || '(no output)'}`);
    return new Backend(child, bound, exited);
  }

  /** As a crashed server dies: SIGKILL, and resolves once it is gone. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Starts the backend on `port` again, retrying while the port is not yet free. */
async function restartBackend(port: number): Promise<Backend> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await Backend.start(port);
    } catch (error) {
      if (attempt >= 50) throw error;
      await sleep(100);
    }
  }
}

/**
 * One client: connects to the proxy, sends `bytes` random bytes and half-closes, reads the echo
 * to its end and compares hashes. Never rejects: every ending is an outcome.
 */
function runConnection(port: number, bytes: number, onEchoed: (n: number) => void): Promise<ConnectionOutcome> {
  return new Promise((resolve) => {
    const data = randomBytes(bytes);
    const want = createHash('sha256').update(data).digest('hex');
    const got = createHash('sha256');
    let received = 0;
    let connected = false;
    let settled = false;
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const settle = (outcome: ConnectionOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      socket.destroy();
      resolve(outcome);
    };
    const deadline = setTimeout(() => settle('timeout'), CONNECTION_DEADLINE_MS);
    socket.once('connect', () => {
      connected = true;
      socket.end(data);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      got.update(chunk);
      onEchoed(chunk.length);
    });
    socket.once('end', () => {
      if (received < bytes) settle('short');
      else settle(received === bytes && got.digest('hex') === want ? 'ok' : 'mismatch');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? error.message;
      if (!connected) settle(`connect ${code}`);
      else settle(code === 'ECONNRESET' ? 'reset' : `error ${code}`);
    });
    socket.once('close', () => settle(connected ? 'closed before its end' : 'closed before connecting'));
  });
}

/**
 * The long proxy campaign: `connections` clients through `flow proxy tcp://127.0.0.1:0
 * tcp://127.0.0.1:<backend>` (the command with its defaults, in its own process) to an echo
 * backend in another, in rounds of `concurrency` opened at once (beyond the proxy's 256 running
 * and the kernel's accept queue), every echo hash-checked. In kill mode the backend is killed
 * by SIGKILL once a quarter of a round's bytes came back, and started again on the same port
 * `restartMs` later. Watches the proxy's descriptors and RSS, and how it stops at one SIGTERM.
 */
export async function runProxyCampaign(options: ProxyCampaignOptions, log: (line: string) => void = () => undefined): Promise<ProxyCampaignResult> {
  const notes: string[] = [];
  // The clients live in this process and the proxy holds as many descriptors again: stay under the limit.
  const limit = openFileLimit();
  const concurrency = Math.max(1, Math.min(options.concurrency, options.connections, limit - SPARE_DESCRIPTORS));
  if (concurrency < Math.min(options.concurrency, options.connections)) {
    notes.push(`concurrency lowered from ${options.concurrency} to ${concurrency}: the open-file limit is ${limit} (raise it with ulimit -n)`);
  }
  let backend = await Backend.start(0);
  const targetPort = backend.port;
  let proxyStderr = '';
  const proxy = await startFlowProxy('tcp://127.0.0.1:0', `tcp://127.0.0.1:${targetPort}`, {
    onStderr: (text) => (proxyStderr = (proxyStderr + text).slice(-8000)),
  });
  const pid = proxy.process.pid ?? -1;
  const proxyExited = new Promise<string>((r) => proxy.process.once('exit', (code, signal) => r(signal ? `signal ${signal}` : `code ${code}`)));
  try {
    await sleep(200);
    const proxyFdsBaseline = fdCount(pid) ?? 0;
    const proxyRssStart = rssOf(pid) ?? 0;
    const fds = new PeakSampler(() => fdCount(pid), 100);
    const rss = new PeakSampler(() => rssOf(pid), 100);
    const counts = new Map<ConnectionOutcome, number>();
    let kills = 0;
    let left = options.connections;
    let rounds = 0;
    const started = performance.now();
    while (left > 0) {
      const size = Math.min(concurrency, left);
      left -= size;
      rounds += 1;
      const killAt = options.killBackend ? (size * options.bytes) / 4 : Number.POSITIVE_INFINITY;
      let echoed = 0;
      let restarted: Promise<void> | undefined;
      let restartError: unknown;
      const onEchoed = (n: number): void => {
        echoed += n;
        if (echoed < killAt || restarted) return;
        restarted = (async () => {
          await backend.kill();
          kills += 1;
          await sleep(options.restartMs);
          backend = await restartBackend(targetPort);
        })().catch((error: unknown) => {
          restartError = error;
        });
      };
      const outcomes = await Promise.all(Array.from({ length: size }, () => runConnection(proxy.port, options.bytes, onEchoed)));
      // The backend must be back before the next round (or before the proxy is stopped).
      await restarted;
      if (restartError !== undefined) throw restartError;
      const round = new Map<ConnectionOutcome, number>();
      for (const o of outcomes) {
        counts.set(o, (counts.get(o) ?? 0) + 1);
        round.set(o, (round.get(o) ?? 0) + 1);
      }
      log(`proxy campaign: round ${rounds}, ${size} connections: ${JSON.stringify(Object.fromEntries(round))}; proxy fds ${fdCount(pid)}`);
    }
    const seconds = (performance.now() - started) / 1000;
    let proxyFdsAfter = fdCount(pid) ?? 0;
    for (let i = 0; i < 100 && proxyFdsAfter > proxyFdsBaseline; i += 1) {
      await sleep(100);
      proxyFdsAfter = fdCount(pid) ?? 0;
    }
    const proxyFdsPeak = fds.stop();
    const proxyRssPeak = rss.stop();
    proxy.process.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const proxyExit = await Promise.race([proxyExited, new Promise<string>((r) => (timer = setTimeout(() => r('still running 15 s after one SIGTERM'), 15_000)))]);
    clearTimeout(timer);
    const stopped = /stopped after (\d+) connection\(s\)(?:; (\d+) reset for want of room)?/.exec(proxyStderr);
    const failed: Record<string, number> = {};
    for (const [outcome, n] of counts) if (outcome !== 'ok' && outcome !== 'reset') failed[outcome] = n;
    return {
      options,
      concurrency,
      notes,
      rounds,
      seconds,
      ok: counts.get('ok') ?? 0,
      reset: counts.get('reset') ?? 0,
      failed,
      kills,
      proxyFdsBaseline,
      proxyFdsPeak,
      proxyFdsAfter,
      proxyRssStart,
      proxyRssPeak,
      proxyAccepted: stopped ? Number(stopped[1]) : undefined,
      proxyResetForRoom: stopped?.[2] ? Number(stopped[2]) : 0,
      proxyExit,
    };
  } finally {
    await proxy.stop();
    await backend.kill();
  }
}

export function formatProxyCampaign(r: ProxyCampaignResult): string {
  const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const o = r.options;
  const failedTotal = Object.values(r.failed).reduce((a, b) => a + b, 0);
  return [
    `proxy campaign: ${o.connections} connections through \`flow proxy\` (its defaults), ${o.bytes} bytes each way per connection, hash-checked, ${r.rounds} round(s) of up to ${r.concurrency} at once${
      o.killBackend ? `, backend killed by SIGKILL mid-round and restarted after ${o.restartMs} ms (${r.kills} kills)` : ''
    }`,
    ...r.notes.map((n) => `  note: ${n}`),
    `  ${r.seconds.toFixed(1)} s, ${Math.round(o.connections / r.seconds)} connections/s`,
    `  ok ${r.ok}, reset ${r.reset}, failed ${failedTotal}${failedTotal > 0 ? ` ${JSON.stringify(r.failed)}` : ''}`,
    `  proxy descriptors: ${r.proxyFdsBaseline} at baseline, ${r.proxyFdsPeak} at peak, ${r.proxyFdsAfter} after`,
    `  proxy RSS: ${mib(r.proxyRssStart)} at start, peak ${mib(r.proxyRssPeak)}`,
    `  proxy accepted ${r.proxyAccepted ?? 'unknown'} connection(s), reset ${r.proxyResetForRoom} for want of room; after one SIGTERM: ${r.proxyExit}`,
  ].join('\n');
}
