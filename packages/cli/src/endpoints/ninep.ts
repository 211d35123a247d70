import { connect9p, type Connect9pOptions, type Dialect, type FileFlowOptions } from '@flow/9p';
import { err, FlowError, ok, timeoutError, type Flow, type Result } from '@flow/core';
import { connect } from '@flow/tcp';
import type { ConnectOptions, Endpoint, EndpointFamily } from './endpoint';

/** The port IANA assigned to 9P (`9pfs`), used when the URI names none. */
const DEFAULT_PORT = 564;

const URI = /^9p:\/\/(\[[0-9A-Fa-f:.]+\]|[^/:?#[\]@]+)(?::(\d+))?(\/[^?#]*)?(?:\?([^#]*))?$/;

const DIALECTS: Record<string, Dialect> = {
  '9p2000.l': '9P2000.L',
  '9p2000.u': '9P2000.u',
  '9p2000': '9P2000',
};

/** What a `9p://` URI says: where the server is, the 9P session, and how to open the file. */
export interface NinepTarget {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly session: Connect9pOptions;
  readonly file: FileFlowOptions;
}

/** Parses `9p://HOST[:PORT]/path/to/file[?query]`, or says which part is wrong. */
export function parseNinepUri(uri: string): Result<NinepTarget, string> {
  const m = URI.exec(uri);
  if (!m) return err('expected 9p://HOST:PORT/path/to/file, e.g. 9p://127.0.0.1:564/streams/echo');
  const [, host = '', portText, rawPath = '', query = ''] = m;
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return err(`port ${portText ?? ''} is not between 1 and 65535`);
  let names: string[];
  try {
    names = rawPath.split('/').filter((n) => n !== '').map((n) => decodeURIComponent(n));
  } catch {
    return err(`the path '${rawPath}' has a bad %-escape`);
  }
  if (names.length === 0) return err('name the file to open after the port, e.g. 9p://127.0.0.1:564/streams/echo');
  const bad = names.find((n) => n === '.' || n === '..' || n.includes('/') || n.includes('\0'));
  if (bad !== undefined) return err(`the path element '${bad}' cannot be walked`);
  const session: { -readonly [K in keyof Connect9pOptions]: Connect9pOptions[K] } = {};
  const file: { -readonly [K in keyof FileFlowOptions]: FileFlowOptions[K] } = { ownsClient: true };
  for (const [key, value] of new URLSearchParams(query)) {
    switch (key) {
      case 'version': {
        const dialect = DIALECTS[value.toLowerCase()];
        if (!dialect) return err(`version '${value}' is not one of 9P2000.L, 9P2000.u, 9P2000`);
        session.version = dialect;
        break;
      }
      case 'msize': {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < 4096 || n > 16 * 1024 * 1024) return err(`msize '${value}' is not a whole number from 4096 to 16777216`);
        session.msize = n;
        break;
      }
      case 'aname':
        session.aname = value;
        break;
      case 'uname':
        session.uname = value;
        break;
      case 'mode':
        if (value !== 'rw' && value !== 'read' && value !== 'write') return err(`mode '${value}' is not one of rw, read, write`);
        file.mode = value;
        break;
      case 'kind':
        if (value !== 'auto' && value !== 'file' && value !== 'stream') return err(`kind '${value}' is not one of auto, file, stream`);
        file.kind = value;
        break;
      case 'truncate':
        if (value !== '' && value !== '1' && value !== 'true') return err(`truncate takes no value (or 1), not '${value}'`);
        file.truncate = true;
        break;
      case 'offset': {
        const n = Number(value);
        if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) return err(`offset '${value}' is not a whole number`);
        file.offset = n;
        break;
      }
      default:
        return err(`unknown query option '${key}'; known: version, msize, aname, uname, mode, kind, truncate, offset`);
    }
  }
  return ok({ host, port, path: names.join('/'), session, file: { ...file, label: uri } });
}

/** TCP to the server, the 9P handshake, the walk and the open, all within `timeoutMs`. */
async function connectFile(target: NinepTarget, options: ConnectOptions): Promise<Result<Flow, FlowError>> {
  const tcp = await connect(`tcp://${target.host}:${target.port}`, { timeoutMs: options.timeoutMs, signal: options.signal, noDelay: true });
  if (!tcp.ok) return tcp;
  const socket = tcp.value;
  // The server may accept the connection and never answer: bound the handshake too.
  let timedOut = false;
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          socket.abort(timeoutError('9P handshake', options.timeoutMs ?? 0));
        }, options.timeoutMs);
  try {
    const client = await connect9p(socket, target.session);
    if (!client.ok) return timedOut ? err(timeoutError('9P handshake', options.timeoutMs ?? 0)) : client;
    const opened = await client.value.openFlow(target.path, { ...target.file, signal: options.signal });
    if (!opened.ok) {
      client.value.abort();
      return timedOut ? err(timeoutError('9P open', options.timeoutMs ?? 0)) : err(new FlowError(opened.error.kind, `open ${target.path}: ${opened.error.message}`, { code: opened.error.code }));
    }
    return opened;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** `9p://HOST:PORT/path`: a file of a 9P server as a flow, through @flow/9p's client over TCP. */
export const ninepFamily: EndpointFamily = {
  schemes: ['9p'],
  help: [
    '9p://HOST:PORT/PATH         a file on a 9P server over TCP, as a flow (connect only): a stream file (a flowFile of',
    '                            @flow/9p, QT.APPEND) is a two-way stream, a regular file reads to its end; query options',
    '                            ?version=9P2000.L|9P2000.u|9P2000 &msize=N &aname=NAME &uname=NAME &mode=rw|read|write',
    '                            &truncate &offset=N &kind=auto|file|stream, e.g. 9p://127.0.0.1:564/streams/echo',
  ],
  examples: { '9p': '9p://127.0.0.1:564/path/to/file' },
  parse(uri, scheme, role) {
    if (role === 'listen') return err('a 9p: endpoint only connects (serve files with flow 9p serve)');
    const parsed = parseNinepUri(uri);
    if (!parsed.ok) return parsed;
    const target = parsed.value;
    const endpoint: Endpoint = { uri, scheme, connect: (o) => connectFile(target, o) };
    return ok(endpoint);
  },
};
