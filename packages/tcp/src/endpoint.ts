import { isIP } from 'node:net';
import { err, FlowError, ok, type Result } from '@flow/core';

/** An IP endpoint: what a TCP listener is bound to, and each end of a TCP connection. */
export interface IpEndpoint {
  /** The IP version of `address`. */
  readonly family: 'IPv4' | 'IPv6';
  /** The IP address as text: `127.0.0.1`, `::1` (IPv6 without brackets, with a `%zone` if any). */
  readonly address: string;
  /** The TCP port, 0 to 65535. */
  readonly port: number;
}

/** A Unix-domain socket endpoint (the path is empty for an unnamed client socket). */
export interface UnixEndpoint {
  /** Always `'unix'`: a Unix-domain stream socket. */
  readonly family: 'unix';
  /** The socket's file-system path, as given (absolute or relative to the working directory). */
  readonly path: string;
}

/** One end of a connection: an IP address and port, or a Unix-domain socket path. */
export type Endpoint = IpEndpoint | UnixEndpoint;

/** Where to connect: a host (IP literal or name) and port, or a Unix-domain socket path. */
export type ConnectTarget =
  | {
      /** An IPv4 or IPv6 literal (no brackets) or a host name, resolved at connect time. */
      readonly host: string;
      /** The TCP port, 1 to 65535 (`connect` throws a `RangeError` for anything else). */
      readonly port: number;
    }
  | {
      /** The Unix-domain socket path, at most 107 bytes (the size of sun_path). */
      readonly path: string;
    };

/**
 * Where to listen. Without `host`, or with `::`, the listener is dual-stack (IPv6 and IPv4 on one
 * socket) unless `ipv6Only` is set. Port 0 asks the kernel for a free port.
 */
export type ListenTarget =
  | {
      /** The local address to bind: an IP literal or a host name. Default: every address, dual-stack. */
      readonly host?: string;
      /** The TCP port, 0 to 65535 (`listen` throws a `RangeError` for anything else); 0 picks a free one (read it from `listener.address`). */
      readonly port: number;
      /** With `::` or no host: accept IPv6 only, not IPv4 too. Default false. */
      readonly ipv6Only?: boolean;
    }
  | {
      /** The Unix-domain socket path to create, at most 107 bytes (the size of sun_path). */
      readonly path: string;
    };

const TCP_EXAMPLE = 'tcp://127.0.0.1:8080, tcp://[::1]:8080 or tcp://localhost:8080';
const UNIX_EXAMPLE = 'unix:///run/app.sock';

function invalid(uri: string, what: string, example: string): FlowError {
  return new FlowError('invalid', `${what} in "${uri}"; expected e.g. ${example}`);
}

/**
 * Parses `tcp://host:port` (IPv6 literals in brackets) or `unix:///absolute/path`
 * (also `unix:/absolute/path` and `unix:relative/path`). Malformed input gives a FlowError of
 * kind `invalid` naming the wrong part; it never throws.
 */
export function parseEndpoint(uri: string): Result<ConnectTarget, FlowError> {
  if (typeof uri !== 'string') return err(new FlowError('invalid', `an endpoint must be a string, not ${typeof uri}`));
  const colon = uri.indexOf(':');
  if (colon <= 0 || !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(uri.slice(0, colon))) return err(invalid(uri, 'missing scheme ("tcp:" or "unix:")', `${TCP_EXAMPLE} or ${UNIX_EXAMPLE}`));
  const scheme = uri.slice(0, colon).toLowerCase();
  const rest = uri.slice(colon + 1);
  if (scheme === 'tcp') return parseTcp(uri, rest);
  if (scheme === 'unix') return parseUnix(uri, rest);
  return err(invalid(uri, `unknown scheme "${uri.slice(0, colon)}" (only "tcp" and "unix" are supported)`, `${TCP_EXAMPLE} or ${UNIX_EXAMPLE}`));
}

function parseTcp(uri: string, rest: string): Result<ConnectTarget, FlowError> {
  if (!rest.startsWith('//')) return err(invalid(uri, 'missing "//" after "tcp:"', TCP_EXAMPLE));
  let authority = rest.slice(2);
  // A trailing slash is harmless; anything after it is not ours to interpret.
  if (authority.endsWith('/')) authority = authority.slice(0, -1);
  if (/[/?#]/.test(authority)) return err(invalid(uri, 'unexpected path, query or fragment after the port', TCP_EXAMPLE));
  if (authority.includes('@')) return err(invalid(uri, 'user information ("user@") is not supported', TCP_EXAMPLE));
  let host: string;
  let portText: string;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) return err(invalid(uri, 'unterminated IPv6 literal (missing "]")', 'tcp://[::1]:8080'));
    host = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (!after.startsWith(':')) return err(invalid(uri, 'missing ":port" after the IPv6 literal', 'tcp://[::1]:8080'));
    portText = after.slice(1);
    const zone = host.indexOf('%25');
    // RFC 6874 writes a zone id as %25 inside the brackets; Node wants a plain %.
    if (zone >= 0) host = `${host.slice(0, zone)}%${host.slice(zone + 3)}`;
    if (isIP(host.split('%')[0]) !== 6) return err(invalid(uri, `"${host}" is not an IPv6 address`, 'tcp://[::1]:8080'));
  } else {
    const last = authority.lastIndexOf(':');
    if (last < 0) return err(invalid(uri, 'missing ":port"', TCP_EXAMPLE));
    host = authority.slice(0, last);
    portText = authority.slice(last + 1);
    if (host.includes(':')) return err(invalid(uri, `IPv6 address "${host}" must be in brackets`, 'tcp://[::1]:8080'));
    if (host === '') return err(invalid(uri, 'missing host', TCP_EXAMPLE));
    if (isIP(host) === 0 && !isHostName(host)) return err(invalid(uri, `"${host}" is neither an IP address nor a host name`, TCP_EXAMPLE));
  }
  if (!/^[0-9]{1,5}$/.test(portText)) {
    const shown = portText === '' ? 'empty port' : `port "${portText}" is not a number`;
    return err(invalid(uri, shown, TCP_EXAMPLE));
  }
  const port = Number(portText);
  if (port > 65535) return err(invalid(uri, `port ${port} is out of range 0-65535`, TCP_EXAMPLE));
  return ok({ host, port });
}

function isHostName(host: string): boolean {
  if (host.length > 253) return false;
  return host.split('.').every((label) => /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label));
}

/**
 * The longest Unix-domain socket path Linux takes: sun_path holds 108 bytes with the final NUL.
 * Node does not check it: a longer path is cut short, and a socket file appears under a name
 * nobody asked for.
 */
export const MAX_UNIX_PATH_BYTES = 107;

/** An `invalid` error when `path` does not fit in sun_path; undefined when it does. */
export function checkUnixPathLength(path: string): FlowError | undefined {
  const bytes = Buffer.byteLength(path);
  if (bytes <= MAX_UNIX_PATH_BYTES) return undefined;
  return new FlowError(
    'invalid',
    `the socket path ${path} is ${bytes} bytes long; a Unix-domain socket path can have at most ${MAX_UNIX_PATH_BYTES} (sun_path): use a shorter path, e.g. in a directory nearer the root`,
  );
}

function parseUnix(uri: string, rest: string): Result<ConnectTarget, FlowError> {
  let encoded: string;
  if (rest.startsWith('//')) {
    const afterSlashes = rest.slice(2);
    if (afterSlashes === '') return err(invalid(uri, 'empty socket path', UNIX_EXAMPLE));
    if (!afterSlashes.startsWith('/')) {
      return err(invalid(uri, 'a unix URI has no host part (use three slashes for an absolute path)', UNIX_EXAMPLE));
    }
    encoded = afterSlashes;
  } else {
    encoded = rest;
  }
  if (/[?#]/.test(encoded)) return err(invalid(uri, 'unexpected query or fragment in the socket path', UNIX_EXAMPLE));
  let path: string;
  try {
    path = decodeURIComponent(encoded);
  } catch {
    return err(invalid(uri, 'bad percent-encoding in the socket path', UNIX_EXAMPLE));
  }
  if (path === '') return err(invalid(uri, 'empty socket path', UNIX_EXAMPLE));
  if (path.includes('\0')) return err(invalid(uri, 'NUL byte in the socket path', UNIX_EXAMPLE));
  const tooLong = checkUnixPathLength(path);
  if (tooLong) return err(tooLong);
  return ok({ path });
}

/** The URI of an endpoint: `tcp://127.0.0.1:80`, `tcp://[::1]:80`, `unix:///run/app.sock`. */
export function formatEndpoint(e: Endpoint): string {
  if (e.family === 'unix') {
    const encoded = e.path.replace(/[%?#]/g, (c) => encodeURIComponent(c));
    return e.path.startsWith('/') ? `unix://${encoded}` : `unix:${encoded}`;
  }
  if (e.family === 'IPv6') return `tcp://[${e.address.replace('%', '%25')}]:${e.port}`;
  return `tcp://${e.address}:${e.port}`;
}

/** The URI of a connect target, for messages. */
export function formatTarget(t: ConnectTarget): string {
  if ('path' in t) return formatEndpoint({ family: 'unix', path: t.path });
  return isIP(t.host.split('%')[0]) === 6 ? `tcp://[${t.host}]:${t.port}` : `tcp://${t.host}:${t.port}`;
}

/**
 * Checks a port given programmatically. A bad port is a programmer error, so it throws (as
 * mirage's `listen` raises `Invalid_argument`); a bad port inside a URI string is a user error
 * and becomes a FlowError in `parseEndpoint` instead.
 */
export function checkPort(port: unknown, allowZero: boolean): number {
  const min = allowZero ? 0 : 1;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < min || port > 65535) {
    throw new RangeError(`port must be an integer from ${min} to 65535, got ${String(port)}`);
  }
  return port;
}

/**
 * An endpoint from what Node reports. IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`, as a
 * dual-stack socket reports IPv4 peers) are given back as IPv4, as mirage's socket stack does.
 */
export function ipEndpoint(address: string | undefined, port: number | undefined): Endpoint {
  const a = address ?? '';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  if (mapped) return { family: 'IPv4', address: mapped[1], port: port ?? 0 };
  return { family: isIP(a.split('%')[0]) === 6 ? 'IPv6' : 'IPv4', address: a, port: port ?? 0 };
}
