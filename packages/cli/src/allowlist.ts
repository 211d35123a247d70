import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { formatAddress, parseAddress } from '@flow/hvsock';
import { parseEndpoint as parseTcp } from '@flow/tcp';

/**
 * The targets `flow proxy` may reach, as Nitro Enclaves' vsock-proxy has them: entries are
 * endpoint URIs, a port of `*` matches every port, and a host name matches the target when the
 * names are equal or when both resolve to a common address. A target outside the list is refused
 * before anything listens.
 */
export interface Allowlist {
  readonly entries: readonly string[];
}

/** Reads `--allowlist FILE`: one URI per line; blank lines and `#` comments are ignored. */
export async function readAllowlistFile(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
}

/** A target or entry reduced to what decides a match. */
type Key =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number | '*' }
  | { readonly kind: 'exact'; readonly text: string };

const ANY_PORT = 0xffffffff;

/** The comparable form of a URI, or a message that says why it is not one. */
export function allowKey(uri: string): Key | string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 'tcp') {
    const wildcard = /:\*\/?$/.test(uri);
    const parsed = parseTcp(wildcard ? uri.replace(/:\*(\/?)$/, ':0$1') : uri);
    if (!parsed.ok) return parsed.error.message;
    const t = parsed.value;
    if (!('host' in t)) return `not a TCP address: ${uri}`;
    return { kind: 'tcp', host: t.host.toLowerCase(), port: wildcard ? '*' : t.port };
  }
  if (scheme === 'unix') {
    const parsed = parseTcp(uri);
    if (!parsed.ok) return parsed.error.message;
    const t = parsed.value;
    return { kind: 'exact', text: `unix:${'path' in t ? resolvePath(t.path) : uri}` };
  }
  if (scheme === 'vsock' || scheme === 'hybrid-vsock' || scheme === 'hyperkit' || scheme === 'hvsock') {
    const parsed = parseAddress(uri);
    if (!parsed.ok) return parsed.error.message;
    return { kind: 'exact', text: formatAddress(parsed.value) };
  }
  return { kind: 'exact', text: uri };
}

/** Whether `entry` (from the allowlist) lets the proxy reach `target`. */
async function allows(entry: Key, target: Key, resolve: (host: string) => Promise<string[]>): Promise<boolean> {
  if (entry.kind === 'exact' && target.kind === 'exact') return entry.text === target.text || portWildcard(entry.text, target.text);
  if (entry.kind !== 'tcp' || target.kind !== 'tcp') return false;
  if (entry.port !== '*' && entry.port !== target.port) return false;
  if (entry.host === target.host) return true;
  // As vsock-proxy does: names that resolve to a common address are the same host.
  const [a, b] = await Promise.all([resolve(entry.host), resolve(target.host)]);
  return a.some((x) => b.includes(x));
}

/** `vsock://3:any` in the list admits every port of CID 3. */
function portWildcard(entry: string, target: string): boolean {
  const e = parseAddress(entry);
  const t = parseAddress(target);
  if (!e.ok || !t.ok || e.value.kind !== 'vsock' || t.value.kind !== 'vsock') return false;
  return e.value.port === ANY_PORT && e.value.cid === t.value.cid;
}

async function resolveHost(host: string): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  try {
    return (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return [];
  }
}

/**
 * Checks `target` against the entries: undefined when allowed, else the message that says why
 * not (a malformed entry is reported as such).
 */
export async function checkAllowed(
  target: string,
  entries: readonly string[],
  resolve: (host: string) => Promise<string[]> = resolveHost,
): Promise<string | undefined> {
  const t = allowKey(target);
  if (typeof t === 'string') return `the target cannot be checked against the allowlist: ${t}`;
  for (const entry of entries) {
    const e = allowKey(entry);
    if (typeof e === 'string') return `allowlist entry '${entry}' is not a valid endpoint: ${e}`;
    if (await allows(e, t, resolve)) return undefined;
  }
  return `the target ${target} is not in the allowlist (${entries.length === 0 ? 'it is empty' : entries.join(', ')})`;
}
