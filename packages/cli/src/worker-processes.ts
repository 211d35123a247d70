import cluster, { type Worker } from 'node:cluster';
import type { StopSignal } from './signals';
import { onStopSignals } from './signals';

/**
 * A server command run as several processes: Node's `cluster`, whose primary process accepts
 * the connections and hands each to the next worker in turn (round robin), so that a busy server
 * uses more than one core and a worker stalled by a slow disk or a heavy client holds up only its
 * own connections. Every worker runs the same command line; it knows it is one by
 * {@link isWorkerProcess}, listens as usual (the primary binds the address once, for all), says
 * it is ready with {@link reportReady}, and takes its stop orders from the primary instead of
 * from signals ({@link onPrimaryStop}).
 */

/** What a worker tells the primary once it listens. */
interface ReadyMessage {
  readonly type: 'flow:ready';
  readonly uri: string;
}

/** What the primary tells every worker when it gets SIGINT or SIGTERM (`count`: how many so far). */
interface StopMessage {
  readonly type: 'flow:stop';
  readonly signal: StopSignal;
  readonly count: number;
}

/** Whether this process is a worker of {@link runWorkerProcesses}. */
export function isWorkerProcess(): boolean {
  return cluster.isWorker;
}

/** A worker says it listens on `uri` (what the primary prints as the address). */
export function reportReady(uri: string): void {
  const message: ReadyMessage = { type: 'flow:ready', uri };
  process.send?.(message);
}

/**
 * In a worker, what `onStopSignals` is in a single process: `handler` runs when the primary
 * passes on a SIGINT or SIGTERM, with the primary's count. The worker's own SIGINT/SIGTERM are
 * ignored (a Ctrl-C in a terminal reaches every process of the group; the primary decides), and
 * a primary that went away without a word counts as a second signal: stop now.
 */
export function onPrimaryStop(handler: (signal: StopSignal, count: number) => void): () => void {
  const ignore = (): void => undefined;
  const onMessage = (message: unknown): void => {
    const m = message as Partial<StopMessage> | null;
    if (m?.type === 'flow:stop' && (m.signal === 'SIGINT' || m.signal === 'SIGTERM') && typeof m.count === 'number') handler(m.signal, m.count);
  };
  const onDisconnect = (): void => {
    handler('SIGTERM', 1);
    handler('SIGTERM', 2);
  };
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);
  process.on('message', onMessage);
  process.once('disconnect', onDisconnect);
  return () => {
    process.off('SIGINT', ignore);
    process.off('SIGTERM', ignore);
    process.off('message', onMessage);
    process.off('disconnect', onDisconnect);
  };
}

export interface WorkerProcessesOptions {
  /** How the command calls itself in messages, e.g. `flow 9p serve`. */
  readonly name: string;
  /** How many workers. */
  readonly workers: number;
  /** Called once every worker listens, with the address the first one reported. */
  readonly onReady: (uri: string) => void;
}

/** How the primary's run ended. */
export interface WorkerProcessesResult {
  /** A worker's exit status when one failed before every worker was listening (the command's status then). */
  readonly failedAtStart?: number;
}

/**
 * The primary's side: starts `workers` workers one after another (each must say it listens
 * before the next starts, so that a bind failure is reported once, by the first), passes every
 * SIGINT/SIGTERM on to them, replaces a worker that dies while serving, and resolves once every
 * worker has exited after a stop.
 */
export async function runWorkerProcesses(options: WorkerProcessesOptions): Promise<WorkerProcessesResult> {
  const live = new Set<Worker>();
  /** The last stop order, sent again to a worker that was starting when it came. */
  let stopping: StopMessage | undefined;
  let allExited: (() => void) | undefined;

  const stop = (signal: StopSignal, count: number): void => {
    const message: StopMessage = { type: 'flow:stop', signal, count };
    stopping = message;
    for (const w of live) if (w.isConnected()) w.send(message);
  };
  const dispose = onStopSignals(stop);

  /** Starts one worker; resolves with its address once it listens, or with its exit status if it exits first. */
  const start = (): Promise<{ uri: string } | { exit: number }> =>
    new Promise((resolve) => {
      const worker = cluster.fork();
      live.add(worker);
      let ready = false;
      worker.on('message', (message: unknown) => {
        const m = message as Partial<ReadyMessage> | null;
        if (m?.type !== 'flow:ready' || typeof m.uri !== 'string' || ready) return;
        ready = true;
        // A stop that came while this worker was starting.
        if (stopping) worker.send(stopping);
        resolve({ uri: m.uri });
      });
      worker.once('exit', (code, signal) => {
        live.delete(worker);
        if (!ready) {
          resolve({ exit: code ?? 1 });
        } else if (!stopping) {
          process.stderr.write(`${options.name}: worker ${worker.process.pid ?? '?'} ${signal ? `was killed by ${signal}` : `exited with status ${code ?? '?'}`}; starting another\n`);
          void start();
        }
        if (live.size === 0) allExited?.();
      });
    });

  const exited = new Promise<void>((resolve) => (allExited = resolve));
  let uri: string | undefined;
  for (let i = 0; i < options.workers; i += 1) {
    const r = await start();
    if ('exit' in r) {
      // The worker said why (a bind failure, say); the others go too.
      stopping ??= { type: 'flow:stop', signal: 'SIGTERM', count: 2 };
      for (const w of live) w.process.kill('SIGKILL');
      if (live.size > 0) await exited;
      dispose();
      return { failedAtStart: r.exit === 0 ? 1 : r.exit };
    }
    uri ??= r.uri;
    if (stopping) break;
  }
  options.onReady(uri as string);
  if (live.size > 0) await exited;
  dispose();
  return {};
}
