import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { formatError, fromNodeError, type FlowError, type Result } from '@flow/core';
import { connect9p, type Client9p, type FileStat } from '@flow/9p';
import type { Command } from '../command';
import { parseEndpoint } from '../endpoints/registry';
import { ExitCode } from '../exit-codes';
import { meteredFlow } from '../metered-flow';
import { expectPositionals, parseCommandLine, wholeNumber, type ParsedCommandLine } from '../options';
import { Progress } from '../progress';
import { UsageError } from '../usage-error';

const common = {
  aname: { type: 'string' },
  msize: { type: 'string' },
  timeout: { type: 'string' },
} as const;

const commonHelp = `Common options:
  --aname NAME   the attach name (default ''; diod wants the exported path, e.g. --aname /srv/export)
  --msize N      the message size to ask for (default 65536)
  --timeout MS   give up connecting after MS milliseconds (default 10000)`;

const clientExitStatus = `Exit status: 0 done; 1 the operation failed (not found, permission, read-only, a local file);
2 bad command line; 3 could not connect or start the 9P session.`;

interface Session {
  readonly client: Client9p;
}

type Operation = (session: Session, positionals: readonly string[], values: ParsedCommandLine['values']) => Promise<Result<void, FlowError>>;

interface ClientSpec {
  readonly verb: string;
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
      const timeoutMs = wholeNumber(values.timeout, 'timeout', command, { min: 1, example: '5000' }) ?? 10_000;
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
      const started = await connect9p(flow, { aname, msize });
      if (!started.ok) {
        process.stderr.write(`flow ${command}: 9P session with ${endpoint.uri} (aname '${aname}') failed: ${formatError(started.error)}\n`);
        return ExitCode.unavailable;
      }
      const client = started.value;
      try {
        if (spec.progressTotal) {
          const total = await spec.progressTotal(client, positionals);
          if (!total.ok) return fail(command, total.error);
          progress = new Progress(total.value);
        }
        const r = await spec.run({ client }, positionals, values);
        progress?.finish();
        return r.ok ? ExitCode.ok : fail(`${command} ${positionals[1] ?? '/'}`, r.error);
      } finally {
        await client.close();
      }
    },
  };
}

function fail(command: string, error: FlowError): number {
  process.stderr.write(`flow ${command}: ${formatError(error)}\n`);
  return ExitCode.failed;
}

async function local<T>(what: string, file: string, op: () => Promise<T>): Promise<Result<T, FlowError>> {
  try {
    return { ok: true, value: await op() };
  } catch (e) {
    return { ok: false, error: fromNodeError(e, `${what} ${file}`) };
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
async function getInto(client: Client9p, remote: string, target: string): Promise<Result<void, FlowError>> {
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.part`);
  const opened = await local('writing', temporary, () => fsp.open(temporary, 'wx'));
  if (!opened.ok) return opened;
  const file = opened.value;
  let r: Result<void, FlowError>;
  try {
    r = bytesDone(
      await client.readStream(remote, async (data) => {
        const w = await local('writing', target, () => writeAll(file, data));
        return w.ok ? undefined : w;
      }),
    );
  } finally {
    await file.close().catch(() => undefined);
  }
  if (r.ok) r = await local('writing', target, () => fsp.rename(temporary, target));
  if (!r.ok) await fsp.rm(temporary, { force: true }).catch(() => undefined);
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

/** Streams the local `file` (opened first, so that a missing one leaves the remote alone) to `remote`. */
async function putFrom(client: Client9p, remote: string, file: string): Promise<Result<void, FlowError>> {
  const opened = await local('reading', file, () => fsp.open(file, 'r'));
  if (!opened.ok) return opened;
  const handle = opened.value;
  try {
    return bytesDone(await client.writeStream(remote, readingFrom(file, handle.createReadStream({ autoClose: false }))));
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
    async run({ client }, p) {
      const remote = p[1] as string;
      const target = p[2] ?? path.basename(remote);
      if (target === '-') return bytesDone(await client.readStream(remote, writeOut));
      return getInto(client, remote, target);
    },
  }),
  clientCommand({
    verb: 'put',
    summary: 'Copy a local file to a 9P server, with a progress bar on a terminal.',
    args: ['uri', 'path', 'local-file'],
    optional: 1,
    extraHelp: "Creates or replaces <path> with [local-file] (default: the file of <path>'s name in the current\ndirectory; - for stdin). When stderr is a terminal, a progress bar with the rate is drawn there.",
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
    async run({ client }, p) {
      const remote = p[1] as string;
      const file = p[2] ?? path.basename(remote);
      if (file === '-') return bytesDone(await client.writeStream(remote, readingFrom('stdin', process.stdin)));
      return putFrom(client, remote, file);
    },
  }),
  clientCommand({
    verb: 'mkdir',
    summary: 'Create a directory on a 9P server.',
    args: ['uri', 'path'],
    optional: 0,
    examples: ['flow 9p mkdir tcp://127.0.0.1:5640 /backups'],
    run: ({ client }, p) => client.mkdir(p[1] as string),
  }),
  clientCommand({
    verb: 'rm',
    summary: 'Remove a file or an empty directory on a 9P server.',
    args: ['uri', 'path'],
    optional: 0,
    examples: ['flow 9p rm tcp://127.0.0.1:5640 /old.log'],
    run: ({ client }, p) => client.remove(p[1] as string),
  }),
];
