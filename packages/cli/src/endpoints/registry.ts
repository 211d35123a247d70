import { UsageError } from '../usage-error';
import type { Endpoint, EndpointFamily } from './endpoint';
import { consoleFamily } from './console';
import { hvsockFamily } from './hvsock';
import { ninepFamily } from './ninep';
import { xenConsoleFamily } from './xen-console';
import { tcpFamily } from './tcp';

/** Every scheme the command knows; each transport package adds its family here. */
export const families: readonly EndpointFamily[] = [tcpFamily, consoleFamily, hvsockFamily, xenConsoleFamily(), ninepFamily];

// A scheme starts with a letter (RFC 3986), except `9p`, which is known by that name: one that
// starts with a digit counts only before `//`, so that `127.0.0.1:80` still reads as a bare address.
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*|[0-9][A-Za-z0-9+.-]*(?=:\/\/)):/;

/**
 * Parses an endpoint URI for a role, or throws a usage error that names the wrong part and
 * shows a correct example. `what` is how the argument is called in the usage line.
 */
export function parseEndpoint(uri: string, role: 'connect' | 'listen', what: string, command: string): Endpoint {
  const match = SCHEME.exec(uri);
  const known = families.flatMap((f) => f.schemes);
  if (!match) {
    throw new UsageError(
      `flow ${command}: ${what} '${uri}' has no scheme; endpoints start with one of ${known.map((s) => `${s}:`).join(', ')}`,
      'tcp://127.0.0.1:8080',
      command,
    );
  }
  const scheme = (match[1] ?? '').toLowerCase();
  const family = families.find((f) => f.schemes.includes(scheme));
  if (!family && /^[A-Za-z0-9.-]+:\d+$/.test(uri)) {
    throw new UsageError(`flow ${command}: ${what} '${uri}' has no scheme; did you mean tcp://${uri}?`, `tcp://${uri}`, command);
  }
  if (!family) {
    throw new UsageError(
      `flow ${command}: ${what} '${uri}' has unknown scheme '${scheme}:'; known schemes are ${known.map((s) => `${s}:`).join(', ')}`,
      'tcp://127.0.0.1:8080',
      command,
    );
  }
  const parsed = family.parse(uri, scheme, role);
  if (!parsed.ok) throw new UsageError(`flow ${command}: ${what} '${uri}': ${parsed.error}`, family.examples[scheme], command);
  const endpoint = parsed.value;
  if (role === 'listen' && !endpoint.listen) {
    throw new UsageError(`flow ${command}: ${what} '${uri}': cannot listen on a '${scheme}:' endpoint`, 'tcp://127.0.0.1:8080', command);
  }
  if (role === 'connect' && !endpoint.connect) {
    throw new UsageError(`flow ${command}: ${what} '${uri}': cannot connect to a '${scheme}:' endpoint`, 'tcp://127.0.0.1:8080', command);
  }
  return endpoint;
}

/** The endpoint lines of `flow --help`. */
export function endpointHelp(): string[] {
  return families.flatMap((f) => f.help);
}
