import { formatError, installSocketErrorReader, proxy, type CopyAccelerator, type Flow, type FlowError } from '@flow/core';
import { createFastCopyAccelerator, fastCopyAccelerator, fastCopySocketErrorReader } from '@flow/fast-copy';
import { checkAllowed, readAllowlistFile } from '../allowlist';
import type { Command } from '../command';
import { directionReport } from '../direction-report';
import { parseEndpoint } from '../endpoints/registry';
import { ExitCode } from '../exit-codes';
import { runGracefulServer } from '../graceful-server';
import { expectPositionals, milliseconds, parseCommandLine, wholeNumber } from '../options';
import { UsageError } from '../usage-error';
import { describeListenFailure } from '../listen-failure';

const usage =
  'flow proxy <listen-uri> <target-uri> [--max-connections N] [--idle-timeout MS] [--connect-timeout MS] [--grace MS] [--stats] [--no-fast-copy] [--copy-mode readwrite|splice] [--verbose] [--allow URI]... [--allowlist FILE]';

const options = {
  'max-connections': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'connect-timeout': { type: 'string' },
  grace: { type: 'string' },
  stats: { type: 'boolean' },
  'no-fast-copy': { type: 'boolean' },
  'copy-mode': { type: 'string' },
  verbose: { type: 'boolean' },
  allow: { type: 'string', multiple: true },
  allowlist: { type: 'string' },
} as const;

export const proxyCommand: Command = {
  name: 'proxy',
  summary: 'Listen on one endpoint; for each flow accepted there, connect to the target and copy both ways.',
  usage,
  details: `Options:
  --max-connections N   at most N connections proxied at once (default 256); later ones wait, accepted
                        but unread, until one ends. Over TCP and Unix sockets at most 10000 are open or
                        waiting at once: beyond that a connection is reset, said on stderr (and as a
                        --stats line with outcome "refused"), and counted when the proxy stops
  --idle-timeout MS     end a connection when no byte moved either way for MS milliseconds (default: none)
  --connect-timeout MS  give up connecting to the target after MS milliseconds (default 10000)
  --grace MS            on SIGINT/SIGTERM, stop accepting and give live connections MS milliseconds
                        to finish before aborting them (default 10000); a second signal aborts at once
  --stats               print one JSON line per finished connection on stdout: bytes, ops, rate and
                        outcome (eof, error, aborted, timeout) of each direction
  --no-fast-copy        copy in TypeScript only: by default, connections between two kernel sockets
                        (TCP, Unix) are copied by @flow/fast-copy's native engine, with the same
                        guarantees and less CPU per byte (either way, a Unix-domain connection
                        that waits on a slow target learns within a second that its peer reset)
  --copy-mode MODE      how the native engine moves bytes: readwrite (default: read(2) into one 256 KiB
                        buffer per direction, send(2) out) or splice (splice(2) through a 256 KiB kernel
                        pipe: the bytes never enter the process, less CPU per byte here but the
                        receiver's copy costs more; two more descriptors per direction; where the
                        kernel refuses the pipe that size, that direction reads and writes)
  --verbose             say on stderr, in one line, whenever a connection cannot use the native
                        engine and falls back to the TypeScript copy (engine missing, not a socket, ...)
  --allow URI           the targets this proxy may reach, as Nitro Enclaves' vsock-proxy allowlist:
                        repeat it for several; a port of * matches any port (tcp://kms.local:*),
                        host names match when they resolve to a common address. With --allow or
                        --allowlist, a target outside the list is refused before anything listens
  --allowlist FILE      the same, one URI per line (# starts a comment)

The end of stream in one direction is passed on as a half-close (TCP FIN), so a request whose reply
comes after the client's half-close works. Errors are not disguised as a clean end: both peers see a reset.
Exit status: 0 after a stop by signal or once a one-flow listener (stdio:) is done, 2 for a bad
command line, 3 when the listen endpoint cannot be bound.

Examples:
  flow proxy tcp://127.0.0.1:8080 tcp://127.0.0.1:80 --stats
  flow proxy unix:///tmp/web.sock tcp://[::1]:8000 --max-connections 64 --idle-timeout 60000
  flow proxy stdio: tcp://127.0.0.1:22        (as an ssh ProxyCommand)
  flow proxy tcp://127.0.0.1:2323 pty:/bin/sh (a shell per connection; needs node-pty)
  flow proxy tcp://127.0.0.1:8080 vsock://3:1024          (into a VM guest over vsock)
  flow proxy vsock://:5000 tcp://127.0.0.1:22            (in a guest: the host reaches sshd)
  flow proxy tcp://127.0.0.1:2222 hybrid-vsock://:22/run/fc/v.sock   (into a Firecracker guest)
  flow proxy vsock://:8000 tcp://kms.example:443 --allow tcp://kms.example:443`,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, options, 'proxy', usage);
    expectPositionals(positionals, ['listen-uri', 'target-uri'], 0, 'proxy', usage);
    const concurrency = wholeNumber(values['max-connections'], 'max-connections', 'proxy', { min: 1, example: '64' }) ?? 256;
    const idleTimeoutMs = milliseconds(values['idle-timeout'], 'idle-timeout', 'proxy', { min: 1, example: '60000' });
    const connectTimeoutMs = milliseconds(values['connect-timeout'], 'connect-timeout', 'proxy', { min: 1, example: '5000' }) ?? 10_000;
    const graceMs = milliseconds(values.grace, 'grace', 'proxy', { min: 0, example: '5000' }) ?? 10_000;
    const stats = values.stats === true;
    const verbose = values.verbose === true;
    const copyMode = values['copy-mode'];
    if (copyMode !== undefined && copyMode !== 'readwrite' && copyMode !== 'splice') {
      throw new UsageError(`flow proxy: --copy-mode must be readwrite or splice, not '${copyMode}'`, '--copy-mode splice', 'proxy');
    }
    if (copyMode !== undefined && values['no-fast-copy'] === true) {
      throw new UsageError('flow proxy: --copy-mode chooses how the native engine copies; --no-fast-copy turns the engine off: drop one of them', '--copy-mode splice', 'proxy');
    }
    const accelerator: CopyAccelerator | null =
      values['no-fast-copy'] === true ? null : copyMode === 'splice' ? createFastCopyAccelerator({ mode: 'splice' }) : fastCopyAccelerator;
    // On both paths: a Unix-domain connection paused by a target that does not read learns from
    // SO_ERROR that its peer reset (the proxy then frees both sockets), not only when it reads again.
    installSocketErrorReader(fastCopySocketErrorReader);
    const [listenUri, targetUri] = positionals as [string, string];
    const from = parseEndpoint(listenUri, 'listen', '<listen-uri>', 'proxy');
    const to = parseEndpoint(targetUri, 'connect', '<target-uri>', 'proxy');
    const refusal = await checkAllowlist(values.allow, values.allowlist, targetUri);
    if (refusal) {
      process.stderr.write(`flow proxy: ${refusal}\n`);
      return ExitCode.usage;
    }
    if (stats && (from.scheme === 'stdio' || to.scheme === 'stdio')) {
      throw new UsageError('flow proxy: --stats prints on stdout, which the stdio: endpoint carries; drop one of them', usage, 'proxy');
    }

    let refused = 0;
    let lastRefusalNote = 0;
    const onRefused = (peer: string, reason: FlowError): void => {
      refused += 1;
      if (stats) writeStats({ peer, target: to.uri, outcome: 'refused', error: formatError(reason) });
      // A flood would print a line per connection: at most one note a second, with the count.
      const now = Date.now();
      if (now - lastRefusalNote >= 1000) {
        lastRefusalNote = now;
        process.stderr.write(`flow proxy: reset a connection from ${peer}: ${formatError(reason)} (${refused} so far)\n`);
      }
    };
    const bound = await from.listen!({ onRefused });
    if (!bound.ok) {
      process.stderr.write(`flow proxy: ${describeListenFailure(from.uri, bound.error)}\n`);
      return ExitCode.unavailable;
    }
    const listener = bound.value;
    let next = 0;

    const handle = async (client: Flow, live: AbortSignal): Promise<void> => {
      const id = (next += 1);
      const startedAt = new Date().toISOString();
      const upstream = await to.connect!({ timeoutMs: connectTimeoutMs, signal: live });
      if (!upstream.ok) {
        client.abort(upstream.error);
        process.stderr.write(`flow proxy: connection ${id} from ${client.label}: cannot connect to ${to.uri}: ${formatError(upstream.error)}\n`);
        if (stats) writeStats({ connection: id, startedAt, peer: client.label, target: to.uri, outcome: 'connect-failed', error: formatError(upstream.error) });
        return;
      }
      const onFallback = verbose
        ? (reason: string, direction: 'aToB' | 'bToA'): void => {
            const way = direction === 'aToB' ? 'client to target' : 'target to client';
            process.stderr.write(`flow proxy: connection ${id} (${way}) copies in TypeScript: ${reason}\n`);
          }
        : undefined;
      const result = await proxy(client, upstream.value, { idleTimeoutMs, signal: live, accelerator, onFallback });
      if (stats) {
        writeStats({
          connection: id,
          startedAt,
          peer: client.label,
          target: to.uri,
          outcome: worst(result.aToB.outcome, result.bToA.outcome),
          clientToTarget: directionReport(result.aToB),
          targetToClient: directionReport(result.bToA),
        });
      }
    };

    const { summary, stoppedBySignal } = await runGracefulServer(listener, handle, {
      name: 'flow proxy',
      concurrency,
      graceMs,
      onReady: () => process.stderr.write(`flow proxy: listening on ${listener.uri}, forwarding to ${to.uri}\n`),
    });
    const refusedNote = refused > 0 ? `; ${refused} reset for want of room` : '';
    process.stderr.write(`flow proxy: stopped after ${summary.accepted} connection(s)${refusedNote}\n`);
    if (!stoppedBySignal && summary.stoppedBy.kind !== 'closed') {
      process.stderr.write(`flow proxy: accepting failed: ${formatError(summary.stoppedBy)}\n`);
      return ExitCode.failed;
    }
    return ExitCode.ok;
  },
};

/** Undefined when no allowlist was given or the target is in it; else why the target is refused. */
async function checkAllowlist(allow: unknown, file: unknown, target: string): Promise<string | undefined> {
  if (allow === undefined && file === undefined) return undefined;
  const entries = Array.isArray(allow) ? allow.map(String) : [];
  if (typeof file === 'string') {
    try {
      entries.push(...(await readAllowlistFile(file)));
    } catch (e) {
      return `cannot read the allowlist ${file}: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return checkAllowed(target, entries);
}

const severity = ['eof', 'timeout', 'aborted', 'error'] as const;
/** The connection's overall outcome: the worse of its two directions. */
function worst(a: (typeof severity)[number], b: (typeof severity)[number]): (typeof severity)[number] {
  return severity.indexOf(a) >= severity.indexOf(b) ? a : b;
}

function writeStats(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
