import { connect, formatEndpoint, listen, parseEndpoint } from '@flow/tcp';
import { ok, type Flow, type FlowError, type Result } from '@flow/core';
import type { Endpoint, EndpointFamily, EndpointListener } from './endpoint';
import { endpointListener } from './endpoint-listener';

/** `tcp://host:port`, `tcp://[v6]:port` and `unix:///path`, all from @flow/tcp. */
export const tcpFamily: EndpointFamily = {
  schemes: ['tcp', 'unix'],
  help: [
    'tcp://HOST:PORT             TCP over IPv4 or a host name, e.g. tcp://127.0.0.1:8080 (listen on port 0: any free port)',
    'tcp://[V6ADDR]:PORT         TCP over IPv6, e.g. tcp://[::1]:8080',
    'unix:///PATH                a Unix-domain stream socket, e.g. unix:///tmp/flow.sock',
  ],
  examples: { tcp: 'tcp://127.0.0.1:8080', unix: 'unix:///run/app.sock' },
  parse(uri, scheme, role) {
    const parsed = parseEndpoint(uri);
    if (!parsed.ok) return { ok: false, error: parsed.error.message };
    const target = parsed.value;
    if (role === 'connect' && 'port' in target && target.port === 0) {
      return { ok: false, error: 'port 0 only works for listening (the kernel then picks a free port); connect to a real port' };
    }
    const endpoint: Endpoint = {
      uri,
      scheme,
      // Interactive protocols through a CLI want their small writes out at once.
      connect: async (o): Promise<Result<Flow, FlowError>> => connect(target, { timeoutMs: o.timeoutMs, signal: o.signal, noDelay: 'port' in target }),
      listen: async (hooks): Promise<Result<EndpointListener, FlowError>> => {
        // A socket file left by a process that died is in the way of every restart; @flow/tcp
        // removes it only when nobody listens on it.
        const onRefused = hooks?.onRefused;
        const r = await listen(uri, {
          unlinkStale: true,
          noDelay: 'port' in target,
          onRefused: onRefused && ((peer, reason) => onRefused(formatEndpoint(peer), reason)),
        });
        if (!r.ok) return r;
        return ok(endpointListener(formatEndpoint(r.value.address), r.value));
      },
    };
    return ok(endpoint);
  },
};
