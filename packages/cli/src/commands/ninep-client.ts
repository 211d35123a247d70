import { promises as fsp, rmSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { abortedError, FlowError, formatError, fromNodeError, type Result } from '@flow/core';
import { connect9p, type Client9p, type FileStat } from '@flow/9p';
import type { Command } from '../command';
import { parseEndpoint } from '../endpoints/registry';
import { ExitCode } from '../exit-codes';
import { meteredFlow } from '../metered-flow';
import { expectPositionals, milliseconds, parseCommandLine, wholeNumber, type ParsedCommandLine } from '../options';
import { Progress } from '../progress';
import { onStopSignals, type StopSignal } from '../signals';
import { UsageError } from '../usage-error';

const common = {
  aname: { type: 'string' },
  msize: { type: 'string' },
  timeout: { type: 'string' },
  'request-timeout': { type: 'string' },
} as const;

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** After Ctrl-C, how long a stalled operation gets to end cleanly before the connection is cut. */
const STOP_GRACE_MS = 2000;

const commonHelp = `Common options:
  --aname NAME           the attach name (default ''; diod wants the exported path, e.g. --aname /srv/export)
  --msize N              the message size to ask for (default 65536)
  --timeout MS           give up connecting after MS milliseconds (default 10000)
  --request-timeout MS   give up on a server that leaves a request unanswered for MS milliseconds
                         (default ${DEFAULT_REQUEST_TIMEOUT_MS}; 0 waits forever)

Ctrl-C (or SIGTERM) stops the operation and removes what it left half-written (get's and put's
temporary files); a second one exits at once.`;

/**
 * Temporary files a get is writing: removed on every exit path, including a second Ctrl-C that
 * exits at once (the 'exit' handler runs synchronously then).
 */
const localTemporaries = new Set<string>();
process.on('exit', () => {
  for (const file of localTemporaries) rmSync(file, { force: true });
});

const clientExitStatus = `Exit status: 0 done; 1 the operation failed (not found, permission, read-only, a local file);
2 bad command line; 3 could not connect or start the 9P session.`;

interface Session {
  readonly client: Client9p;
  /** Aborted on Ctrl-C or SIGTERM: stop, clean up, return. */
  readonly signal: AbortSignal;
}

type Operation = (session: Session, positionals: readonly string[], values: ParsedCommandLine['values']) => Promise<Result<void, FlowError>>;

interface ClientSpec {
  readonly verb: string;
  /** What failed, in words, for messages: 'remove' gives "cannot remove /sub: directory not empty". */
  readonly action: string;
  readonly summary: string;
  readonly args: readonly string[];
  readonly optional: number;
  readonly extraOptions?: Record<string, { type: 'string' | 'boolean' }>;
  readonly extraHelp?: string;
  readonly examples: readonly string[];
  /** For get/put: which way the progress bar counts bytes on the wire. */
  readonly meter?: 'read' | 'write';
  /** For get/put: how many bytes the progress bar counts to, once connected. */
  readonly progressTotal?: (client: Client9p, positionals: readonly string[]) => Promise<Result<number | undefined, FlowError>>;
  /** Checks the arguments before connecting; throws a UsageError. */
  readonly validate?: (positionals: readonly string[], command: string, usage: string) => void;
  readonly run: Operation;
}

function clientCommand(spec: ClientSpec): Command {
  const command = `9p ${spec.verb}`;
  const argText = spec.args.map((a, i) => (i >= spec.args.length - spec.optional ? `[${a}]` : `<${a}>`)).join(' ');
  const usage = `flow 9p ${spec.verb} ${argText} [--aname NAME] [--msize N] [--timeout MS]${spec.extraOptions ? Object.keys(spec.extraOptions).map((o) => ` [--${o}]`).join('') : ''}`;
  return {
    name: command,
    summary: spec.summary,
    usage,
    details: `${spec.extraHelp ? `${spec.extraHelp}\n\n` : ''}${commonHelp}\n\n${clientExitStatus}\n\nExamples:\n${spec.examples.map((e) => `  ${e}`).join('\n')}`,
    async run(args) {
      const { values, positionals } = parseCommandLine(args, { ...common, ...spec.extraOptions }, command, usage);
      expectPositionals(positionals, spec.args, spec.optional, command, usage);
      spec.validate?.(positionals, command, usage);
      const msize = wholeNumber(values.msize, 'msize', command, { min: 4096, max: 16 * 1024 * 1024, example: '65536' });
      const timeoutMs = milliseconds(values.timeout, 'timeout', command, { min: 1, example: '5000' }) ?? 10_000;
      const requestTimeout =
        milliseconds(values['request-timeout'], 'request-timeout', command, { min: 0, example: '30000' }) ??
        DEFAULT_REQUEST_TIMEOUT_MS;
      const aname = typeof values.aname === 'string' ? values.aname : '';
      const endpoint = parseEndpoint(positionals[0] as string, 'connect', '<uri>', command);
      if (endpoint.scheme === 'stdio') throw new UsageError(`flow ${command}: a 9P server on stdio: is not supported`, 'tcp://127.0.0.1:5640', command);

      const connected = await endpoint.connect!({ timeoutMs });
      if (!connected.ok) {
        process.stderr.write(`flow ${command}: cannot connect to ${endpoint.uri}: ${formatError(connected.error)}\n`);
        return ExitCode.unavailable;
      }
      let progress: Progress | undefined;
      const tick = (bytes: number): void => progress?.advance(bytes);
      const ignore = (): void => undefined;
      const flow =
        spec.meter === 'read'
          ? meteredFlow(connected.value, tick, ignore)
          : spec.meter === 'write'
            ? meteredFlow(connected.value, ignore, tick)
            : connected.value;
      const started = await connect9p(flow, { aname, msize, requestTimeoutMs: requestTimeout === 0 ? undefined : requestTimeout });
      if (!started.ok) {
        process.stderr.write(`flow ${command}: 9P session with ${endpoint.uri} (aname '${aname}') failed: ${formatError(started.error)}\n`);
        return ExitCode.unavailable;
      }
      const client = started.value;
      const stop = new AbortController();
      let stoppedBy: StopSignal | undefined;
      let grace: NodeJS.Timeout | undefined;
      const disposeSignals = onStopSignals((signal, count) => {
        if (count > 1) process.exit(exitCodeFor(signal)); // the 'exit' handler removes temporaries
        stoppedBy = signal;
        process.stderr.write(`\nflow ${command}: stopping (${signal}); again to exit at once\n`);
        stop.abort(abortedError(signal));
        // An operation waiting on a silent server cannot see the signal: cut the connection.
        grace = setTimeout(() => client.abort(abortedError(signal)), STOP_GRACE_MS);
        grace.unref();
      });
      try {
        if (spec.progressTotal) {
          const total = await spec.progressTotal(client, positionals);
          if (!total.ok) return failOn(command, spec.action, positionals[1] ?? '/', total.error);
          progress = new Progress(total.value);
        }
        const r = await spec.run({ client, signal: stop.signal }, positionals, values);
        progress?.finish();
        if (stoppedBy) return exitCodeFor(stoppedBy);
        return r.ok ? ExitCode.ok : failOn(command, spec.action, positionals[1] ?? '/', r.error);
      } finally {
        disposeSignals();
        if (grace) clearTimeout(grace);
        await client.close();
      }
    },
  };
}

/** The shell's convention: 128 + the signal's number. */
function exitCodeFor(signal: StopSignal): number {
  return signal === 'SIGINT' ? 130 : 143;
}

/** Node's words for an errno name: ENOTEMPTY → "directory not empty". */
const ERRNO_WORDS = new Map<string, string>([...getSystemErrorMap().values()].map(([name, words]) => [name, words]));

/**
 * The message for an operation the server refused, saying each thing once and in words
 * (`cannot remove /sub: directory not empty`); other failures (the connection, a local file)
 * keep their own message.
 */
export function describeFailure(action: string, remotePath: string, error: FlowError): string {
  if (completeMessages.has(error)) return error.message;
  const refusedByServer = typeof error.syscall === 'string' && /^T[a-z]+$/.test(error.syscall);
  if (!refusedByServer) return formatError(error);
  const words = (error.code && ERRNO_WORDS.get(error.code)) || error.message.replace(/^T[a-z]+: /, '');
  return `cannot ${action} ${remotePath}: ${words}`;
}

function failOn(command: string, action: string, remotePath: string, error: FlowError): number {
  process.stderr.write(`flow ${command}: ${describeFailure(action, remotePath, error)}\n`);
  return ExitCode.failed;
}


/** Errors whose message already says everything (what, which file, why): printed as they are. */
const completeMessages = new WeakSet<FlowError>();

/** Runs a local file operation; a failure says `cannot read ./disk.img: no such file or directory`. */
async function local<T>(what: 'reading' | 'writing', file: string, op: () => Promise<T>): Promise<Result<T, FlowError>> {
  try {
    return { ok: true, value: await op() };
  } catch (e) {
    const mapped = fromNodeError(e, `${what} ${file}`);
    const words = (mapped.code && ERRNO_WORDS.get(mapped.code)) || (e as Error).message;
    const error = new FlowError(mapped.kind, `cannot ${what === 'reading' ? 'read' : 'write'} ${file}: ${words}`, {
      code: mapped.code,
      syscall: mapped.syscall,
      errno: mapped.errno,
      cause: e,
    });
    completeMessages.add(error);
    return { ok: false, error };
  }
}

function writeOut(data: Uint8Array): Promise<Result<void, FlowError>> {
  return new Promise((resolve) => {
    process.stdout.write(data, (e) => resolve(e ? { ok: false, error: fromNodeError(e, 'stdout') } : { ok: true, value: undefined }));
  });
}

/** `source` as bytes, with a failure turned into an error that names what was being read. */
async function* readingFrom(what: string, source: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of source) yield chunk as Uint8Array;
  } catch (e) {
    throw fromNodeError(e, `reading ${what}`);
  }
}

function bytesDone(r: Result<number, FlowError>): Result<void, FlowError> {
  return r.ok ? { ok: true, value: undefined } : r;
}

/**
 * Streams `remote` into `target` through a temporary file beside it, renamed into place at the
 * end: a failed or interrupted get never leaves a truncated file under the target's name, and
 * never touches an existing one.
 */
async function getInto(client: Client9p, remote: string, target: string, signal: AbortSignal): Promise<Result<void, FlowError>> {
  const temporary = path.resolve(path.dirname(target), `.${path.basename(target)}.${process.pid}.part`);
  const opened = await local('writing', target, () => fsp.open(temporary, 'wx'));
  if (!opened.ok) return opened;
  localTemporaries.add(temporary);
  const file = opened.value;
  let r: Result<void, FlowError>;
  try {
    r = bytesDone(
      await client.readStream(
        remote,
        async (data) => {
          const w = await local('writing', target, () => writeAll(file, data));
          return w.ok ? undefined : w;
        },
        { signal },
      ),
    );
  } finally {
    await file.close().catch(() => undefined);
  }
  if (r.ok && signal.aborted) r = { ok: false, error: abortedError(signal.reason) };
  if (r.ok) r = await local('writing', target, () => fsp.rename(temporary, target));
  if (!r.ok) await fsp.rm(temporary, { force: true }).catch(() => undefined);
  localTemporaries.delete(temporary);
  return r;
}

/** write(2) may take fewer bytes than offered: go on until all of `data` is in the file. */
async function writeAll(file: FileHandle, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length; ) {
    const { bytesWritten } = await file.write(data, at, data.length - at);
    if (bytesWritten === 0) throw Object.assign(new Error('the file took no bytes'), { code: 'EIO' });
    at += bytesWritten;
  }
}

/**
 * `source`, ended with an `aborted` error as soon as `signal` aborts, even while the source is
 * waiting for input (stdin at a terminal): the put must still be able to remove its temporary file.
 */
async function* until(signal: AbortSignal, source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      // One listener per step, removed with it: racing every step against one long-lived
      // promise would keep every chunk reachable from that promise's reactions.
      const next = await new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
        const onAbort = (): void => reject(abortedError(signal.reason));
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        iterator.next().then(
          (value) => {
            signal.removeEventListener('abort', onAbort);
            resolve(value);
          },
          (error: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(error);
          },
        );
      });
      if (next.done) return;
      yield next.value;
    }
  } finally {
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

/**
 * Writes `source` to `remote` through a temporary file beside it, renamed over `remote` at the
 * end: an interrupted or failed put leaves the old content alone. The new file is created with
 * the server's default mode, not the old file's. A 9P2000/.u server that will not rename over an
 * existing name gets the old file removed first.
 */
async function putVia(client: Client9p, remote: string, source: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<Result<void, FlowError>> {
  const dir = path.posix.dirname(remote);
  const temporary = path.posix.join(dir, `.${path.posix.basename(remote)}.${process.pid}.part`);
  let r = bytesDone(await client.writeStream(temporary, until(signal, source)));
  if (r.ok) {
    r = await client.rename(temporary, remote);
    if (!r.ok && r.error.kind === 'in-use') {
      const removed = await client.remove(remote);
      r = removed.ok ? await client.rename(temporary, remote) : removed;
    }
  }
  if (!r.ok) await client.remove(temporary);
  return r;
}

/** Streams the local `file` (opened first, so that a missing one leaves the remote alone) to `remote`. */
async function putFrom(client: Client9p, remote: string, file: string, signal: AbortSignal): Promise<Result<void, FlowError>> {
  const opened = await local('reading', file, () => fsp.open(file, 'r'));
  if (!opened.ok) return opened;
  const handle = opened.value;
  try {
    return await putVia(client, remote, readingFrom(file, handle.createReadStream({ autoClose: false })), signal);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

const TYPE_CHAR: Record<FileStat['type'], string> = { directory: 'd', symlink: 'l', file: '-', other: '?' };

function modeString(s: FileStat): string {
  const bits = 'rwxrwxrwx';
  let out = TYPE_CHAR[s.type];
  for (let i = 0; i < 9; i++) out += s.mode & (1 << (8 - i)) ? bits[i] : '-';
  return out;
}

function longLine(s: FileStat, name: string): string {
  const when = new Date(s.mtimeMs).toISOString().replace('T', ' ').slice(0, 19);
  return `${modeString(s)} ${String(s.uid ?? '-').padStart(5)} ${String(s.gid ?? '-').padStart(5)} ${String(s.size).padStart(12)} ${when} ${name}`;
}

function join(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, '')}/${name}`;
}

export const ninepClientCommands: readonly Command[] = [
  clientCommand({
    verb: 'ls',
    action: 'list',
    summary: 'List a directory on a 9P server.',
    args: ['uri', 'path'],
    optional: 1,
    extraOptions: { long: { type: 'boolean' } },
    extraHelp: 'Lists [path] (default /), one name per line, directories with a trailing /. --long adds\nmode, uid, gid, size and modification time.',
    examples: ['flow 9p ls tcp://127.0.0.1:5640 /', 'flow 9p ls tcp://127.0.0.1:5640 /docs --long', 'flow 9p ls tcp://127.0.0.1:564 / --aname /srv/export'],
    async run({ client }, p, values) {
      const dir = p[1] ?? '/';
      const r = await client.readdir(dir);
      if (!r.ok) return r;
      const entries = [...r.value].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const lines: string[] = [];
      for (const e of entries) {
        if (values.long === true) {
          const s = await client.stat(join(dir, e.name));
          if (!s.ok) return s;
          lines.push(longLine(s.value, e.name));
        } else {
          lines.push(e.type === 'directory' ? `${e.name}/` : e.name);
        }
      }
      return writeOut(Buffer.from(lines.map((l) => `${l}\n`).join('')));
    },
  }),
  clientCommand({
    verb: 'stat',
    action: 'stat',
    summary: 'Show the attributes of a file or directory on a 9P server.',
    args: ['uri', 'path'],
    optional: 0,
    extraOptions: { json: { type: 'boolean' } },
    extraHelp: 'Prints name, type, mode, size, uid, gid and modification time; --json prints one JSON object.',
    examples: ['flow 9p stat tcp://127.0.0.1:5640 /notes.txt', 'flow 9p stat tcp://127.0.0.1:5640 / --json'],
    async run({ client }, p, values) {
      const r = await client.stat(p[1] as string);
      if (!r.ok) return r;
      const s = r.value;
      const fields = { name: s.name, type: s.type, mode: `0${s.mode.toString(8)}`, size: s.size, uid: s.uid, gid: s.gid, mtime: new Date(s.mtimeMs).toISOString() };
      const text =
        values.json === true
          ? `${JSON.stringify(fields)}\n`
          : Object.entries(fields)
              .map(([k, v]) => `${k}: ${String(v ?? '-')}\n`)
              .join('');
      return writeOut(Buffer.from(text));
    },
  }),
  clientCommand({
    verb: 'cat',
    action: 'read',
    summary: 'Print a file from a 9P server on stdout.',
    args: ['uri', 'path'],
    optional: 0,
    examples: ['flow 9p cat tcp://127.0.0.1:5640 /notes.txt'],
    async run({ client }, p) {
      return bytesDone(await client.readStream(p[1] as string, writeOut));
    },
  }),
  clientCommand({
    verb: 'get',
    action: 'get',
    summary: 'Copy a file from a 9P server to a local file, with a progress bar on a terminal.',
    args: ['uri', 'path', 'local-file'],
    optional: 1,
    extraHelp: "Writes [local-file] (default: the remote file's name in the current directory; - for stdout).\nWhen stderr is a terminal, a progress bar with the rate is drawn there.",
    examples: ['flow 9p get tcp://127.0.0.1:5640 /images/disk.img', 'flow 9p get tcp://127.0.0.1:5640 /notes.txt - | less'],
    meter: 'read',
    progressTotal: async (client, p) => {
      const s = await client.stat(p[1] as string);
      return s.ok ? { ok: true, value: s.value.size } : s;
    },
    validate: (p, command, usage) => {
      if (p[2] === undefined && path.basename(p[1] as string) === '') {
        throw new UsageError(`flow ${command}: '${p[1]}' has no file name to save under; give a <local-file>`, usage, command);
      }
    },
    async run({ client, signal }, p) {
      const remote = p[1] as string;
      const target = p[2] ?? path.basename(remote);
      if (target === '-') return bytesDone(await client.readStream(remote, writeOut, { signal }));
      return getInto(client, remote, target, signal);
    },
  }),
  clientCommand({
    verb: 'put',
    action: 'put',
    summary: 'Copy a local file to a 9P server, with a progress bar on a terminal.',
    args: ['uri', 'path', 'local-file'],
    optional: 1,
    extraHelp:
      "Creates or replaces <path> with [local-file] (default: the file of <path>'s name in the current\ndirectory; - for stdin). When stderr is a terminal, a progress bar with the rate is drawn there.\n" +
      'The data goes to a temporary file beside <path> (.NAME.PID.part), renamed over <path> at the end:\n' +
      "an interrupted or failed put leaves <path> as it was. The new file gets the server's default mode.",
    examples: ['flow 9p put tcp://127.0.0.1:5640 /images/disk.img ./disk.img', 'echo hello | flow 9p put tcp://127.0.0.1:5640 /hello.txt -'],
    validate: (p, command, usage) => {
      if (p[2] === undefined && path.basename(p[1] as string) === '') {
        throw new UsageError(`flow ${command}: '${p[1]}' has no file name to read from here; give a <local-file>`, usage, command);
      }
    },
    meter: 'write',
    progressTotal: async (_client, p) => {
      const file = p[2] ?? path.basename(p[1] as string);
      if (file === '-') return { ok: true, value: undefined };
      const s = await local('reading', file, () => fsp.stat(file));
      return s.ok ? { ok: true, value: s.value.size } : s;
    },
    async run({ client, signal }, p) {
      const remote = p[1] as string;
      const file = p[2] ?? path.basename(remote);
      if (file === '-') {
        const r = await putVia(client, remote, readingFrom('stdin', process.stdin), signal);
        // Stopped while stdin was waiting for input: stdin would keep the process alive.
        if (signal.aborted) process.stdin.destroy();
        return r;
      }
      return putFrom(client, remote, file, signal);
    },
  }),
  clientCommand({
    verb: 'mkdir',
    action: 'create directory',
    summary: 'Create a directory on a 9P server.',
    args: ['uri', 'path'],
    optional: 0,
    examples: ['flow 9p mkdir tcp://127.0.0.1:5640 /backups'],
    run: ({ client }, p) => client.mkdir(p[1] as string),
  }),
  clientCommand({
    verb: 'rm',
    action: 'remove',
    summary: 'Remove a file or an empty directory on a 9P server.',
    args: ['uri', 'path'],
    optional: 0,
    examples: ['flow 9p rm tcp://127.0.0.1:5640 /old.log'],
    run: ({ client }, p) => client.remove(p[1] as string),
  }),
];
