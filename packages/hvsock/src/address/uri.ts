import { homedir } from 'node:os';
import { posix } from 'node:path';
import { err, FlowError, ok, type Err, type Result } from '@flow/core';
import { canonicalGuid, MAX_SERVICE_PORT, parseGuid, serviceIdForPort, servicePort, wellKnownVmId, wellKnownVmIdName, HV_GUID_WILDCARD } from './guid';
import type { HvsockAddress, HybridVsockAddress, HyperkitAddress, HypervAddress, VsockAddress } from './types';
import { cidName, namedCid, U32_MAX, VMADDR_CID_ANY, VMADDR_PORT_ANY } from './vsock';

/*
 * The URI grammar (ocaml-hvsock's `sockaddr_of_uri` where the two overlap):
 *
 *   vsock://[CID]:PORT[/][?to-host=0|1]
 *       CID  := decimal u32 | "" | "*" | any | hypervisor | local | host      ("" and "*" = any)
 *       PORT := decimal u32 | "*"                                                 ("*" = VMADDR_PORT_ANY)
 *   hvsock://[VMID]/SERVICE
 *       VMID    := GUID | "" | wildcard | children | loopback | parent | silohost | broadcast
 *       SERVICE := GUID | decimal port <= 0x7fffffff (→ <port %08x>-facb-11e6-bd58-64006a7986d3)
 *   hyperkit://:PORT/DIR[?cid=N]        hyperkit://docker:PORT[?cid=N]
 *   hybrid-vsock://:PORT/UDS_PATH[?ack=required|none&timeout=MS]
 *
 * DIR and UDS_PATH are percent-decoded. A path that starts with "/." is relative
 * (ocaml-hvsock PR #61): "/./vm" is "vm", "/../vm" is "../vm". An absolute path that itself starts
 * with "/." is written with its dot escaped ("/%2Econfig").
 *
 * Names are case-insensitive, as URI hosts are; formatting is canonical: lowercase, names for
 * the named CIDs and well-known VM ids, decimal ports, a template service id as its port.
 */

const VSOCK_EXAMPLE = 'vsock://host:1234, vsock://:1234 or vsock://3:1234';
const HVSOCK_EXAMPLE = 'hvsock://parent/1234 or hvsock:///00000050-facb-11e6-bd58-64006a7986d3';
const HYPERKIT_EXAMPLE = 'hyperkit://:1234/var/run/vm or hyperkit://docker:1234';
const HYBRID_EXAMPLE = 'hybrid-vsock://:1024/run/firecracker/v.sock';
const ANY_EXAMPLE = 'vsock://host:1234, hvsock://parent/1234, hyperkit://docker:1234 or hybrid-vsock://:1024/run/v.sock';

const SCHEMES = ['vsock', 'hvsock', 'hyperkit', 'hybrid-vsock'] as const;
type Scheme = (typeof SCHEMES)[number];

/** The largest handshake timeout, the largest delay a Node timer takes. */
const MAX_TIMEOUT_MS = 0x7fffffff;

/** The lowest CID of a guest: hyperkit refuses `guest_cid` <= 2 (moby/hyperkit `pci_virtio_sock.c`). */
const MIN_GUEST_CID = 3;

/** Docker Desktop's hyperkit VM directory under `$HOME`, as linuxkit/virtsock's `docker` socket mode names it. */
const DOCKER_DESKTOP_VM_DIR = 'Library/Containers/com.docker.docker/Data/vms/0';

/** Options of `parseAddress`. */
export interface ParseAddressOptions {
  /** The home directory that `hyperkit://docker:PORT` resolves under; default `os.homedir()`. */
  readonly home?: string;
}

/** Docker Desktop's hyperkit VM directory for a home directory (which must be absolute). */
export function dockerDesktopVmDir(home: string): string {
  if (typeof home !== 'string' || !home.startsWith('/')) throw new RangeError(`the home directory must be an absolute path, got ${JSON.stringify(home)}`);
  return posix.join(home, DOCKER_DESKTOP_VM_DIR);
}

function invalid(uri: string, what: string, example: string): Err<FlowError> {
  return err(new FlowError('invalid', `${what} in "${uri}"; expected e.g. ${example}`));
}

/**
 * Parses a hypervisor-socket URI (grammar above). Malformed input gives a FlowError of kind
 * `invalid` that names the wrong part and shows a correct example; it never throws.
 */
export function parseAddress(uri: string, options: ParseAddressOptions = {}): Result<HvsockAddress, FlowError> {
  if (typeof uri !== 'string') return err(new FlowError('invalid', `an address must be a string, not ${typeof uri}`));
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri);
  if (!m) return invalid(uri, 'missing scheme (vsock:, hvsock:, hyperkit: or hybrid-vsock:)', ANY_EXAMPLE);
  const scheme = m[1].toLowerCase();
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    return invalid(uri, `unknown scheme "${m[1]}" (only vsock, hvsock, hyperkit and hybrid-vsock are supported)`, ANY_EXAMPLE);
  }
  const rest = uri.slice(m[0].length);
  if (!rest.startsWith('//')) return invalid(uri, `missing "//" after "${m[1]}:"`, exampleFor(scheme as Scheme));
  const body = rest.slice(2);
  if (body.includes('#')) return invalid(uri, 'unexpected fragment ("#"; write a "#" in a path as %23)', exampleFor(scheme as Scheme));
  const parts = splitBody(body);
  if (parts.authority.includes('@')) return invalid(uri, 'user information ("user@") is not supported', exampleFor(scheme as Scheme));
  switch (scheme as Scheme) {
    case 'vsock':
      return parseVsock(uri, parts);
    case 'hvsock':
      return parseHvsock(uri, parts);
    case 'hyperkit':
      return parseHyperkit(uri, parts, options);
    case 'hybrid-vsock':
      return parseHybridVsock(uri, parts);
  }
}

function exampleFor(scheme: Scheme): string {
  switch (scheme) {
    case 'vsock':
      return VSOCK_EXAMPLE;
    case 'hvsock':
      return HVSOCK_EXAMPLE;
    case 'hyperkit':
      return HYPERKIT_EXAMPLE;
    case 'hybrid-vsock':
      return HYBRID_EXAMPLE;
  }
}

interface UriParts {
  /** Between "//" and the first "/" or "?". */
  readonly authority: string;
  /** From the first "/" up to "?" (raw, still percent-encoded), or "". */
  readonly path: string;
  /** After "?", or undefined without one. */
  readonly query: string | undefined;
}

function splitBody(body: string): UriParts {
  const q = body.indexOf('?');
  const beforeQuery = q < 0 ? body : body.slice(0, q);
  const query = q < 0 ? undefined : body.slice(q + 1);
  const slash = beforeQuery.indexOf('/');
  return slash < 0
    ? { authority: beforeQuery, path: '', query }
    : { authority: beforeQuery.slice(0, slash), path: beforeQuery.slice(slash), query };
}

type Decimal = number | 'not-decimal' | 'out-of-range';

/** Strictly decimal digits (no sign, no "0x", no spaces) with a value up to `max`. */
function decimal(text: string, max: number): Decimal {
  if (!/^[0-9]+$/.test(text)) return 'not-decimal';
  const digits = text.replace(/^0+(?=[0-9])/, '');
  if (digits.length > 10) return 'out-of-range';
  const n = Number(digits);
  return n > max ? 'out-of-range' : n;
}

/** A port: decimal u32, or "*" for `VMADDR_PORT_ANY` where `allowAny`. */
function parsePort(uri: string, text: string, allowAny: boolean, example: string): Result<number, FlowError> {
  if (text === '') return invalid(uri, 'empty port', example);
  if (allowAny && text === '*') return ok(VMADDR_PORT_ANY);
  const n = decimal(text, U32_MAX);
  if (n === 'not-decimal') return invalid(uri, `port "${text}" is not a decimal number${allowAny ? ' or "*"' : ''}`, example);
  if (n === 'out-of-range') return invalid(uri, `port ${text} is out of range 0-4294967295`, example);
  return ok(n);
}

/** `key=value&...` with only `allowed` keys, each at most once. Values are taken verbatim. */
function parseQuery(uri: string, query: string | undefined, allowed: readonly string[], example: string): Result<Map<string, string>, FlowError> {
  const params = new Map<string, string>();
  if (query === undefined) return ok(params);
  if (allowed.length === 0) return invalid(uri, `unexpected query "?${query}"`, example);
  if (query === '') return invalid(uri, 'empty query after "?"', example);
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) return invalid(uri, `query parameter "${part}" has no "=value"`, example);
    const key = part.slice(0, eq);
    if (!allowed.includes(key)) return invalid(uri, `unknown query parameter "${key}" (known: ${allowed.join(', ')})`, example);
    if (params.has(key)) return invalid(uri, `query parameter "${key}" is given twice`, example);
    params.set(key, part.slice(eq + 1));
  }
  return ok(params);
}

/**
 * A DIR or UDS_PATH: percent-decoded; "/./x" is the relative "x" and any other "/.x" the
 * relative ".x" (ocaml-hvsock PR #61 "Support relative hyperkit paths"); otherwise absolute.
 */
function parsePath(uri: string, raw: string, what: string, example: string): Result<string, FlowError> {
  if (raw === '') return invalid(uri, `missing ${what}`, example);
  const encoded = raw.startsWith('/./') ? raw.slice(3) : raw.startsWith('/.') ? raw.slice(1) : raw;
  let path: string;
  try {
    path = decodeURIComponent(encoded);
  } catch {
    return invalid(uri, `bad percent-encoding in ${what} "${raw}"`, example);
  }
  if (path === '') return invalid(uri, `empty ${what}`, example);
  if (path.includes('\0')) return invalid(uri, `NUL byte in ${what}`, example);
  return ok(path);
}

function parseVsock(uri: string, p: UriParts): Result<VsockAddress, FlowError> {
  const colon = p.authority.lastIndexOf(':');
  if (colon < 0) return invalid(uri, 'missing ":PORT"', VSOCK_EXAMPLE);
  const cidText = p.authority.slice(0, colon);
  const cid = parseCid(uri, cidText);
  if (!cid.ok) return cid;
  const port = parsePort(uri, p.authority.slice(colon + 1), true, VSOCK_EXAMPLE);
  if (!port.ok) return port;
  if (p.path !== '' && p.path !== '/') return invalid(uri, `unexpected path "${p.path}" after the port`, VSOCK_EXAMPLE);
  const query = parseQuery(uri, p.query, ['to-host'], 'vsock://3:1234?to-host=1');
  if (!query.ok) return query;
  const toHost = query.value.get('to-host');
  if (toHost === undefined) return ok({ kind: 'vsock', cid: cid.value, port: port.value });
  if (toHost !== '0' && toHost !== '1') return invalid(uri, `to-host must be 0 or 1, not "${toHost}"`, 'vsock://3:1234?to-host=1');
  return ok({ kind: 'vsock', cid: cid.value, port: port.value, toHost: toHost === '1' });
}

function parseCid(uri: string, text: string): Result<number, FlowError> {
  if (text === '' || text === '*') return ok(VMADDR_CID_ANY);
  const named = namedCid(text);
  if (named !== undefined) return ok(named);
  const n = decimal(text, U32_MAX);
  if (n === 'out-of-range') return invalid(uri, `CID ${text} is out of range 0-4294967295`, VSOCK_EXAMPLE);
  if (n === 'not-decimal') {
    return invalid(uri, `CID "${text}" is neither a decimal number nor one of any, hypervisor, local, host (any is also "" or "*")`, VSOCK_EXAMPLE);
  }
  return ok(n);
}

const VM_ID_NAMES_TEXT = 'wildcard, children, loopback, parent, silohost, broadcast';

function parseHvsock(uri: string, p: UriParts): Result<HypervAddress, FlowError> {
  const kata = kataStyleSuggestion(p);
  if (kata !== undefined) {
    return invalid(
      uri,
      `hvsock:// is Hyper-V here (hvsock://VMID/SERVICE), and "${kata.path}" looks like a Kata-style hybrid vsock path (hvsock://<path>:<port>), which is written hybrid-vsock://:<port>/<path>`,
      kata.suggestion,
    );
  }
  if (p.query !== undefined) return invalid(uri, `unexpected query "?${p.query}"`, HVSOCK_EXAMPLE);
  const vmText = p.authority;
  if (vmText.includes(':')) {
    return invalid(uri, `unexpected ":" after the VM id (VMID and SERVICE are separated by "/")`, HVSOCK_EXAMPLE);
  }
  const vmId = vmText === '' ? HV_GUID_WILDCARD : (wellKnownVmId(vmText) ?? parseGuid(vmText));
  if (vmId === undefined) {
    return invalid(
      uri,
      `VM id "${vmText}" is neither a GUID nor one of ${VM_ID_NAMES_TEXT}; VM names are not looked up (PowerShell: (Get-VM -Name '${vmText}').Id gives the GUID)`,
      HVSOCK_EXAMPLE,
    );
  }
  if (p.path === '') return invalid(uri, 'missing "/SERVICE" after the VM id', HVSOCK_EXAMPLE);
  const serviceText = p.path.slice(1);
  if (serviceText === '') return invalid(uri, 'empty SERVICE', HVSOCK_EXAMPLE);
  if (serviceText.includes('/')) return invalid(uri, `unexpected path after the service "${serviceText}"`, HVSOCK_EXAMPLE);
  const guid = parseGuid(serviceText);
  if (guid !== undefined) return ok({ kind: 'hvsock', vmId, serviceId: guid });
  const port = decimal(serviceText, MAX_SERVICE_PORT);
  if (port === 'out-of-range') {
    return invalid(uri, `service port ${serviceText} is out of range 0-2147483647 (only these map into the vsock service template)`, HVSOCK_EXAMPLE);
  }
  if (port === 'not-decimal') return invalid(uri, `service "${serviceText}" is neither a GUID nor a decimal port`, HVSOCK_EXAMPLE);
  return ok({ kind: 'hvsock', vmId, serviceId: serviceIdForPort(port) });
}

/**
 * Kata Containers writes hybrid vsock as `hvsock://<path>:<port>` (kata-containers
 * runtime-rs `sock/mod.rs` @1c401286) or `hvsock:///<path>`. A GUID, a port or a VM id never
 * holds a ".", and only Kata's form puts a path (with "/" or ":") where SERVICE goes. Returns the
 * path seen and a hybrid-vsock URI to write instead, or undefined when `p` does not look like it.
 */
function kataStyleSuggestion(p: UriParts): { path: string; suggestion: string } | undefined {
  // One trailing "/" after SERVICE is a typo, not a path.
  const service = p.path.slice(1).replace(/\/$/, '');
  const looksLikePath =
    /[/:.]/.test(service) ||
    (p.authority.includes(':') && !isVmWithPort(p.authority)) ||
    (p.path === '' && p.authority.includes('.'));
  if (!looksLikePath) return undefined;
  const text = p.authority + p.path;
  const colon = text.lastIndexOf(':');
  const port = colon >= 0 && /^[0-9]+$/.test(text.slice(colon + 1)) ? text.slice(colon + 1) : undefined;
  const path = port === undefined ? text : text.slice(0, colon);
  const written = path.startsWith('/') ? path : `/./${path}`;
  return { path: text, suggestion: `hybrid-vsock://:${port ?? '<port>'}${written}` };
}

/** `parent:80`, `<guid>:80`: a VM id and a port joined by ":" (virtsock's sock_stress form), not a path. */
function isVmWithPort(authority: string): boolean {
  const colon = authority.lastIndexOf(':');
  const vm = authority.slice(0, colon);
  return vm === '' || wellKnownVmId(vm) !== undefined || parseGuid(vm) !== undefined;
}

function parseHyperkit(uri: string, p: UriParts, options: ParseAddressOptions): Result<HyperkitAddress, FlowError> {
  const colon = p.authority.lastIndexOf(':');
  if (colon < 0) return invalid(uri, 'missing ":PORT"', HYPERKIT_EXAMPLE);
  const host = p.authority.slice(0, colon);
  const docker = host.toLowerCase() === 'docker';
  if (host !== '' && !docker) {
    return invalid(uri, `unexpected host "${host}" (a hyperkit URI has none, except the "docker" shortcut)`, HYPERKIT_EXAMPLE);
  }
  const port = parsePort(uri, p.authority.slice(colon + 1), false, HYPERKIT_EXAMPLE);
  if (!port.ok) return port;
  const query = parseQuery(uri, p.query, ['cid'], 'hyperkit://:1234/var/run/vm?cid=3');
  if (!query.ok) return query;
  const cidText = query.value.get('cid');
  let cid: number | undefined;
  if (cidText !== undefined) {
    const n = decimal(cidText, U32_MAX);
    if (typeof n !== 'number') return invalid(uri, `cid "${cidText}" is not a decimal number from 3 to 4294967295`, 'hyperkit://:1234/var/run/vm?cid=3');
    if (n < MIN_GUEST_CID) return invalid(uri, `cid ${n} is not a guest's CID (hyperkit guests have CID 3 or more)`, 'hyperkit://:1234/var/run/vm?cid=3');
    cid = n;
  }
  let dir: string;
  if (docker) {
    if (p.path !== '' && p.path !== '/') return invalid(uri, `the docker shortcut takes no DIR, got "${p.path}"`, 'hyperkit://docker:1234');
    const home = options.home ?? homeDirectory();
    if (!home.startsWith('/')) return invalid(uri, `cannot resolve the docker shortcut: no absolute home directory (got "${home}")`, 'hyperkit://:1234/var/run/vm');
    dir = dockerDesktopVmDir(home);
  } else {
    const parsed = parsePath(uri, p.path, 'DIR', HYPERKIT_EXAMPLE);
    if (!parsed.ok) return parsed;
    dir = parsed.value;
  }
  const base: HyperkitAddress = { kind: 'hyperkit', dir, port: port.value };
  const withCid: HyperkitAddress = cid === undefined ? base : { ...base, cid };
  return ok(docker ? { ...withCid, shortcut: 'docker' } : withCid);
}

/** `os.homedir()`, or "" when the system has none (it throws then). */
function homeDirectory(): string {
  try {
    return homedir();
  } catch {
    return '';
  }
}

function parseHybridVsock(uri: string, p: UriParts): Result<HybridVsockAddress, FlowError> {
  const colon = p.authority.indexOf(':');
  if (colon < 0) return invalid(uri, 'missing ":PORT"', HYBRID_EXAMPLE);
  const host = p.authority.slice(0, colon);
  if (host !== '') return invalid(uri, `unexpected host "${host}" (a hybrid-vsock URI has none: the Unix socket is the path)`, HYBRID_EXAMPLE);
  const port = parsePort(uri, p.authority.slice(colon + 1), false, HYBRID_EXAMPLE);
  if (!port.ok) return port;
  const path = parsePath(uri, p.path, 'UDS_PATH', HYBRID_EXAMPLE);
  if (!path.ok) return path;
  const queryExample = 'hybrid-vsock://:1024/run/v.sock?ack=none&timeout=2000';
  const query = parseQuery(uri, p.query, ['ack', 'timeout'], queryExample);
  if (!query.ok) return query;
  let address: HybridVsockAddress = { kind: 'hybrid-vsock', path: path.value, port: port.value };
  const ack = query.value.get('ack');
  if (ack !== undefined) {
    if (ack !== 'required' && ack !== 'none') return invalid(uri, `ack must be "required" or "none", not "${ack}"`, queryExample);
    address = { ...address, ack };
  }
  const timeout = query.value.get('timeout');
  if (timeout !== undefined) {
    const ms = decimal(timeout, MAX_TIMEOUT_MS);
    if (typeof ms !== 'number' || ms === 0) {
      return invalid(uri, `timeout "${timeout}" is not a decimal number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`, queryExample);
    }
    address = { ...address, timeoutMs: ms };
  }
  return ok(address);
}

/**
 * The canonical URI of an address: `parseAddress(formatAddress(a))` gives `a` back, and
 * `formatAddress(parseAddress(s))` is the canonical spelling of `s`. GUID text in any accepted
 * spelling is written canonically. An address that no URI can express (a port outside u32, a
 * NUL in a path, a field of the wrong type) is a programmer error: RangeError or TypeError.
 */
export function formatAddress(a: HvsockAddress): string {
  switch (a.kind) {
    case 'vsock': {
      checkU32('cid', a.cid);
      checkU32('port', a.port);
      const query = a.toHost === undefined ? '' : `?to-host=${a.toHost ? 1 : 0}`;
      return `vsock://${cidName(a.cid)}:${a.port === VMADDR_PORT_ANY ? '*' : a.port}${query}`;
    }
    case 'hvsock': {
      const vmId = canonicalGuid(a.vmId);
      const serviceId = canonicalGuid(a.serviceId);
      const port = servicePort(serviceId);
      const service = port !== undefined && port <= MAX_SERVICE_PORT ? String(port) : serviceId;
      return `hvsock://${wellKnownVmIdName(vmId) ?? vmId}/${service}`;
    }
    case 'hyperkit': {
      checkU32('port', a.port);
      if (a.cid !== undefined && (!isU32(a.cid) || a.cid < MIN_GUEST_CID)) throw new RangeError(`a hyperkit cid must be an integer from 3 to 4294967295, got ${String(a.cid)}`);
      const query = a.cid === undefined ? '' : `?cid=${a.cid}`;
      if (a.shortcut === 'docker') return `hyperkit://docker:${a.port}${query}`;
      if (a.shortcut !== undefined) throw new RangeError(`unknown hyperkit shortcut ${JSON.stringify(a.shortcut)}`);
      return `hyperkit://:${a.port}${formatPath(a.dir, 'dir')}${query}`;
    }
    case 'hybrid-vsock': {
      checkU32('port', a.port);
      const query: string[] = [];
      if (a.ack !== undefined) {
        if (a.ack !== 'required' && a.ack !== 'none') throw new RangeError(`ack must be 'required' or 'none', got ${JSON.stringify(a.ack)}`);
        query.push(`ack=${a.ack}`);
      }
      if (a.timeoutMs !== undefined) {
        if (!Number.isInteger(a.timeoutMs) || a.timeoutMs < 1 || a.timeoutMs > MAX_TIMEOUT_MS) {
          throw new RangeError(`timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}, got ${String(a.timeoutMs)}`);
        }
        query.push(`timeout=${a.timeoutMs}`);
      }
      return `hybrid-vsock://:${a.port}${formatPath(a.path, 'path')}${query.length > 0 ? `?${query.join('&')}` : ''}`;
    }
    default:
      throw new TypeError(`not a hypervisor socket address: ${JSON.stringify(a)}`);
  }
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= U32_MAX;
}

function checkU32(name: string, n: number): void {
  if (!isU32(n)) throw new RangeError(`${name} must be an integer from 0 to 4294967295, got ${String(n)}`);
}

/** The inverse of `parsePath`: escapes what would end or change the path, and marks relative paths. */
function formatPath(path: string, name: string): string {
  if (typeof path !== 'string' || path === '') throw new RangeError(`${name} must be a non-empty string`);
  if (path.includes('\0')) throw new RangeError(`${name} must not contain a NUL byte`);
  const encoded = path.replace(/[%?#]/g, (c) => encodeURIComponent(c));
  if (path.startsWith('/')) {
    // Unescaped, "/.x" would read back as the relative ".x".
    return path.startsWith('/.') ? `/%2E${encoded.slice(2)}` : encoded;
  }
  // "/.x" reads back as ".x" (but "/./x" as "x"), so ".x" and "../x" need only the slash.
  return path.startsWith('.') && !path.startsWith('./') ? `/${encoded}` : `/./${encoded}`;
}
