import { accessSync, constants as fsConstants, opendirSync, statSync } from 'node:fs';
import path from 'node:path';
import { BusyPoll, busyPollDefault, DEFAULT_BUSY_POLL_MICROS, formatError, type Flow } from '@flow/core';
import { ConnectionPool, defaultIdPolicy, exportDirectory, type IdPolicy, MemoryBudget, serve9p } from '@flow/9p';
import type { Command } from '../command';
import { invokedAs } from '../invoked-as';
import { parseEndpoint } from '../endpoints/registry';
import { ExitCode } from '../exit-codes';
import { runGracefulServer } from '../graceful-server';
import { expectPositionals, parseCommandLine, wholeNumber } from '../options';
import { UsageError } from '../usage-error';
import { describeListenFailure } from '../listen-failure';
import { isWorkerProcess, onPrimaryStop, reportReady, runWorkerProcesses } from '../worker-processes';
import { availableParallelism } from 'node:os';

export const DEFAULT_9P_URI = 'tcp://127.0.0.1:5640';

/** Worker processes by default: one per core, at most four (each is a Node process of its own, about 50 MiB). */
export function defaultNinepWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

const usage =
  'flow 9p serve [dir] [--listen <uri>] [--read-only] [--max-connections N] [--handshake-timeout MS] [--idle-timeout MS] [--memory MIB] [--ids POLICY] [--msize N] [--sync-read-max BYTES] [--busy-poll US] [--workers N] [--grace MS]';

const options = {
  listen: { type: 'string' },
  'read-only': { type: 'boolean' },
  'max-connections': { type: 'string' },
  'handshake-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  memory: { type: 'string' },
  ids: { type: 'string' },
  msize: { type: 'string' },
  'sync-read-max': { type: 'string' },
  'busy-poll': { type: 'string' },
  workers: { type: 'string' },
  grace: { type: 'string' },
} as const;

/** Shell-quotes a word for the copy-and-paste lines, only when it needs it. */
function quote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** How to reach the export from diod's tools, Linux's v9fs and our own client. */
function reachLines(uri: string, dir: string): string[] {
  const lines: string[] = [];
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(uri);
  const unix = /^unix:\/\/(\/.*)$/.exec(uri);
  if (tcp && (tcp[1] as string).startsWith('[')) {
    // diod's tools cannot parse an IPv6 HOST:PORT (getaddrinfo fails on "[::1]:5640"), and
    // Linux's trans=tcp expects an IPv4 address: do not print lines that would fail.
    lines.push(`  (diod's tools and Linux's mount -t 9p trans=tcp want IPv4: serve on tcp://127.0.0.1:${tcp[2] as string} for them)`);
  } else if (tcp) {
    const host = tcp[1] as string;
    const port = tcp[2] as string;
    lines.push(`  diodls  -s ${host}:${port} -a ${quote(dir)} -l /`);
    lines.push(`  diodcat -s ${host}:${port} -a ${quote(dir)} <file>`);
    lines.push(`  mount -t 9p -o trans=tcp,port=${port},version=9p2000.L ${host} /mnt`);
  } else if (unix) {
    lines.push(`  mount -t 9p -o trans=unix,version=9p2000.L ${quote(decodeURIComponent(unix[1] as string))} /mnt`);
  }
  lines.push(`  ${invokedAs()} 9p ls ${quote(uri)} /`);
  return lines;
}

/** The --ids option: passthrough, no-root or squash:UID:GID. */
function idPolicy(text: string | boolean | string[] | undefined): IdPolicy {
  if (text === undefined) return defaultIdPolicy();
  if (text === 'passthrough' || text === 'no-root') return text;
  const m = typeof text === 'string' ? /^squash:(\d{1,10}):(\d{1,10})$/.exec(text) : null;
  const uid = Number(m?.[1]);
  const gid = Number(m?.[2]);
  if (!m || uid >= 0xffffffff || gid >= 0xffffffff) {
    throw new UsageError(`flow 9p serve: --ids must be passthrough, no-root or squash:UID:GID, got '${String(text)}'`, '--ids squash:65534:65534', '9p serve');
  }
  return { squash: { uid, gid } };
}

/** What stops this process from serving `dir`, in words, or undefined when it can. */
function exportProblem(dir: string): string | undefined {
  const reason = (e: unknown): string => {
    const code = (e as { code?: unknown } | null)?.code;
    if (code === 'ENOENT') return 'does not exist';
    if (code === 'EACCES' || code === 'EPERM') return `is not accessible to this process: permission denied (${code})`;
    if (code === 'ENOTDIR') return 'is not a directory (a component of the path is a file)';
    return `cannot be read: ${e instanceof Error ? e.message : String(e)}`;
  };
  try {
    if (!statSync(dir).isDirectory()) return 'is not a directory';
  } catch (e) {
    return reason(e);
  }
  // Every attach would fail with EACCES if this process cannot list and search the directory:
  // say so now rather than serve an export nobody can use.
  try {
    accessSync(dir, fsConstants.R_OK | fsConstants.X_OK);
    const d = opendirSync(dir);
    try {
      d.readSync();
    } finally {
      d.closeSync();
    }
  } catch (e) {
    return reason(e);
  }
  return undefined;
}

export const ninepServeCommand: Command = {
  name: '9p serve',
  summary: 'Export a directory over 9P (9P2000.L, .u and 9P2000), confined to it.',
  usage,
  details: `Serves [dir] (default: the current directory) on --listen (default ${DEFAULT_9P_URI}) until
SIGINT/SIGTERM, and prints how to reach it. The attach names '', '/' and the directory's absolute
path all mean the export root. Walks never leave the directory: '..' stops at its root and symbolic
links are not followed out of it.

Options:
  --listen URI          where to listen (default ${DEFAULT_9P_URI}); also unix:///path
  --read-only           refuse every change (EROFS)
  --max-connections N   at most N clients at once (default 64); see Limits
  --handshake-timeout MS  cut a connection that has not completed Tversion MS milliseconds after
                        connecting (default 5000; 0: never)
  --idle-timeout MS     cut a connection with no request for MS milliseconds, even one holding
                        fids (default 0: never; a mount may rightly sit idle for hours)
  --memory MIB          the server's memory budget, in MiB, for what clients make it hold
                        (default 256); see Limits
  --ids POLICY          what clients may do with owners and setuid/setgid bits (the server acts
                        with its own credentials): passthrough (as asked, within what this
                        process may do), no-root (refuse setuid/setgid bits and chown/chgrp to
                        root), or squash:UID:GID (every file clients make belongs to UID:GID;
                        chown, chgrp and setuid/setgid bits are refused). Default: no-root when
                        run as root, passthrough otherwise
  --msize N             largest message size offered (default 65536)
  --sync-read-max BYTES reads of up to BYTES are served by a synchronous pread on the event loop,
                        not a thread-pool round trip (default 65536); a read slower than a cache
                        hit pauses it for a while. 0: always the thread pool, for directories on
                        network filesystems, where a read may hang
  --busy-poll US        after a reply, keep polling for the next request for up to US
                        microseconds before sleeping (default ${DEFAULT_BUSY_POLL_MICROS} with two or more CPUs, 0 with
                        one; here ${busyPollDefault()}): a client with one request in flight finds the
                        server awake instead of waking it, which on a virtual machine costs more
                        than the request. The window adapts to how soon requests come back, and
                        the server stops polling where it measures no gain (client on the same
                        CPU, a busy server). Costs CPU while a window is open. 0: sleep at once
  --workers N           serve from N processes (default: one per core, at most 4; here ${defaultNinepWorkers()}):
                        one accepts and hands each connection to the next worker in turn, so that
                        a busy server uses every core and a worker held up by a slow disk or a
                        heavy client holds up only its own connections. 1: a single process
  --grace MS            on SIGINT/SIGTERM, give live sessions MS milliseconds before they are cut (default 2000)

Limits: a client that connects must complete Tversion within the handshake timeout. When
--max-connections clients are connected, a new one takes the place of the connection that has
been idle longest among those holding no fid and no request in flight (one that never attached:
a slowloris); connections holding fids, such as mounts, are never cut for it, and when every
slot is held by one the newcomer is disconnected at once. What clients make the server hold
(directory snapshots of 9P2000/.u reads, fids, replies waiting to be written) comes out of one
--memory budget shared equally by the connections: past a connection's share, a new listing
fails with ENOMEM and a new fid with EMFILE, and its replies are written before it is read from
again. 9P2000.L directory reads keep nothing between requests.
With --workers N each worker has its share of both limits: N-th of --max-connections (rounded
up) and of --memory.

Exit status: 0 after SIGINT/SIGTERM, 2 for a bad command line or a directory this process cannot
serve (missing, not a directory, or not readable and searchable by it), 3 when the address cannot
be bound.

Examples:
  flow 9p serve
  flow 9p serve ./share --read-only
  flow 9p serve /srv/export --listen tcp://[::1]:5640
  flow 9p serve . --listen unix:///tmp/9p.sock`,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, options, '9p serve', usage);
    expectPositionals(positionals, ['dir'], 1, '9p serve', usage);
    const dir = path.resolve(positionals[0] ?? process.cwd());
    const problem = exportProblem(dir);
    if (problem !== undefined) throw new UsageError(`flow 9p serve: '${positionals[0] ?? dir}' ${problem}`, 'flow 9p serve ./share', '9p serve');
    const concurrency = wholeNumber(values['max-connections'], 'max-connections', '9p serve', { min: 1, example: '16' }) ?? 64;
    const handshakeTimeoutMs = wholeNumber(values['handshake-timeout'], 'handshake-timeout', '9p serve', { min: 0, example: '5000' }) ?? 5000;
    const idleTimeoutMs = wholeNumber(values['idle-timeout'], 'idle-timeout', '9p serve', { min: 0, example: '600000' }) ?? 0;
    const memoryMiB = wholeNumber(values.memory, 'memory', '9p serve', { min: 1, max: 1024 * 1024, example: '256' }) ?? 256;
    const msize = wholeNumber(values.msize, 'msize', '9p serve', { min: 4096, max: 16 * 1024 * 1024, example: '65536' });
    const syncReadMax = wholeNumber(values['sync-read-max'], 'sync-read-max', '9p serve', { min: 0, max: 16 * 1024 * 1024, example: '0' });
    const busyPollMicros = wholeNumber(values['busy-poll'], 'busy-poll', '9p serve', { min: 0, max: 10_000, example: '100' }) ?? busyPollDefault();
    const graceMs = wholeNumber(values.grace, 'grace', '9p serve', { min: 0, example: '2000' }) ?? 2000;
    const workers = wholeNumber(values.workers, 'workers', '9p serve', { min: 1, max: 64, example: '2' }) ?? defaultNinepWorkers();
    const readOnly = values['read-only'] === true;
    const ids = idPolicy(values.ids);
    const endpoint = parseEndpoint(typeof values.listen === 'string' ? values.listen : DEFAULT_9P_URI, 'listen', '--listen', '9p serve');
    if (endpoint.scheme === 'stdio') {
      throw new UsageError('flow 9p serve: --listen stdio: is not supported; listen on a socket', `--listen ${DEFAULT_9P_URI}`, '9p serve');
    }

    const say = (uri: string): void => {
      const idText = typeof ids === 'object' ? `squash:${ids.squash.uid}:${ids.squash.gid}` : ids;
      const processes = workers > 1 ? ` in ${workers} worker processes` : '';
      // Said, so that whoever sees the server's CPU while a client reads knows why.
      const polling = busyPollMicros > 0 ? `, busy polling up to ${busyPollMicros} µs after each reply` : '';
      process.stderr.write(`flow 9p serve: listening on ${uri}, exporting ${dir}${readOnly ? ' read-only' : ''} (ids: ${idText})${processes}${polling}\n`);
      process.stdout.write(`Serving ${dir} over 9P on ${uri}. Reach it with:\n${reachLines(uri, dir).join('\n')}\n`);
    };
    const worker = isWorkerProcess();
    if (workers > 1 && !worker) {
      // The primary: the workers bind, serve and say why they could not.
      const result = await runWorkerProcesses({ name: 'flow 9p serve', workers, onReady: say });
      if (result.failedAtStart !== undefined) return result.failedAtStart;
      process.stderr.write('flow 9p serve: stopped\n');
      return ExitCode.ok;
    }
    // A worker serves its share of the limits.
    const share = (n: number): number => (worker ? Math.max(1, Math.ceil(n / workers)) : n);

    const bound = await endpoint.listen!();
    if (!bound.ok) {
      process.stderr.write(`flow 9p serve: ${describeListenFailure(endpoint.uri, bound.error)}\n`);
      return ExitCode.unavailable;
    }
    const listener = bound.value;
    const fs = exportDirectory(dir, syncReadMax === undefined ? { readOnly, ids } : { readOnly, ids, syncReadMax });
    const maxConnections = share(concurrency);
    const pool = new ConnectionPool({ maxConnections });
    const memory = new MemoryBudget({ bytes: share(memoryMiB * 1024 * 1024) });
    // One poller for the process: its event loop is one, whichever connection it serves.
    const busyPoll = busyPollMicros > 0 ? new BusyPoll({ maxMicros: busyPollMicros }) : undefined;

    const handle = async (flow: Flow, live: AbortSignal): Promise<void> => {
      const peer = flow.label;
      const summary = await serve9p(flow, fs, { signal: live, msize, pool, memory, handshakeTimeoutMs, idleTimeoutMs, ...(busyPoll ? { busyPoll } : {}) });
      const how = summary.outcome === 'error' && summary.error ? `error: ${formatError(summary.error)}` : summary.outcome;
      process.stderr.write(
        `flow 9p serve: ${peer}: ${summary.dialect ?? 'no version'} session ended (${how}) after ${summary.requests} request(s)\n`,
      );
    };

    await runGracefulServer(listener, handle, {
      name: 'flow 9p serve',
      // The pool decides who is served; accepting a few beyond it lets a newcomer be seen, so
      // that an idle connection can give way to it (or it is told no at once, not left queued).
      concurrency: maxConnections + 16,
      graceMs,
      ...(worker ? { stopOrders: onPrimaryStop } : {}),
      onReady: () => (worker ? reportReady(listener.uri) : say(listener.uri)),
    });
    if (!worker) process.stderr.write('flow 9p serve: stopped\n');
    return ExitCode.ok;
  },
};
