import { AcceptQueue, err, FlowError, ok, type Flow, type Result } from '@flow/core';
import { connect, parseConsoleName } from '@flow/console';
import type { Endpoint, EndpointFamily, EndpointListener } from './endpoint';

/** The console name @flow/console understands for one of our URIs: `stdio:?raw=true` → `stdio?raw=true`. */
function consoleName(uri: string, scheme: string): string {
  if (scheme !== 'stdio') return uri;
  const rest = uri.slice('stdio:'.length).replace(/^\/\//, '');
  return `stdio${rest}`;
}

let stdioTaken = false;

/** Opens a console; the process's stdio can be taken only once (a second reader would see nothing). */
async function open(name: string, scheme: string): Promise<Result<Flow, FlowError>> {
  if (scheme === 'stdio') {
    if (stdioTaken) return err(new FlowError('in-use', 'stdio: is already in use by this command'));
    stdioTaken = true;
  }
  // A terminal stays in cooked mode unless the name asks for raw: Ctrl-C and Ctrl-D keep their
  // meaning, as with nc.
  return connect(name, { stdio: { raw: false } });
}

/** A listener that yields one flow and then reports itself closed. */
function oneFlowListener(uri: string, flow: Flow): EndpointListener {
  const queue = new AcceptQueue(1);
  queue.offer(flow);
  return {
    uri,
    address: uri,
    accept: async (options) => {
      const r = await queue.accept(options);
      if (r.ok) queue.close();
      return r;
    },
    close: async () => queue.close(),
    get closedForAccept() {
      return queue.closed;
    },
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    [Symbol.asyncDispose]: async () => queue.close(),
  };
}

/**
 * `stdio:`, `pty:<command>` and `serial:<device>`, from @flow/console. Listening on one of them
 * yields exactly that one flow, so `flow proxy stdio: tcp://…` works like `flow connect`.
 */
export const consoleFamily: EndpointFamily = {
  schemes: ['stdio', 'pty', 'serial'],
  help: [
    "stdio:                      this process's stdin and stdout; stdio:?raw=true puts a terminal in raw mode",
    'pty:COMMAND[?arg=A&cols=80] a program under a pseudo-terminal, e.g. pty:/bin/sh?arg=-i (needs node-pty)',
    'serial:DEVICE[?baud=N...]   a serial or tty device, e.g. serial:/dev/ttyS0?baud=115200 (needs serialport)',
  ],
  examples: { stdio: 'stdio:', pty: 'pty:/bin/sh?arg=-i', serial: 'serial:/dev/ttyS0?baud=115200' },
  parse(uri, scheme) {
    const name = consoleName(uri, scheme);
    const parsed = parseConsoleName(name);
    if (!parsed.ok) return err(parsed.error.message);
    if (parsed.value.backend === 'memory') return err('an in-memory console has no peer outside this process');
    const endpoint: Endpoint = {
      uri,
      scheme,
      connect: () => open(name, scheme),
      listen: async () => {
        const r = await open(name, scheme);
        return r.ok ? ok(oneFlowListener(uri, r.value)) : r;
      },
    };
    return ok(endpoint);
  },
};
