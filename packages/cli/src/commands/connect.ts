import { formatError } from '@flow/core';
import type { Command } from '../command';
import { parseEndpoint } from '../endpoints/registry';
import { ExitCode } from '../exit-codes';
import { expectPositionals, milliseconds, parseCommandLine } from '../options';
import { runSession } from '../session';
import { UsageError } from '../usage-error';

const usage = 'flow connect <uri> [--timeout MS] [--idle-timeout MS]';

export const sessionExitStatus = `Exit status:
  0    both directions reached end of stream (stdin's EOF was sent as a half-close, the peer's EOF received)
  1    the connection failed on the way (reset, I/O error, stdout closed)
  2    bad command line (unknown option, bad URI)
  3    could not connect or listen (refused, unreachable, not found, address in use)
  4    nothing moved for --idle-timeout milliseconds
  130  interrupted by SIGINT (Ctrl-C); 143 by SIGTERM`;

export const connectCommand: Command = {
  name: 'connect',
  summary: 'Connect to an endpoint and copy stdin to it and it to stdout, like nc.',
  usage,
  details: `stdin's end of stream half-closes the write side (TCP FIN) and the reply is still printed; the command
ends when both directions have ended.

Options:
  --timeout MS       give up connecting after MS milliseconds (default 10000)
  --idle-timeout MS  give up when no byte moved either way for MS milliseconds (default: none)

${sessionExitStatus}

Examples:
  printf 'GET / HTTP/1.0\\r\\n\\r\\n' | flow connect tcp://127.0.0.1:80
  flow connect unix:///run/app.sock < request.bin > reply.bin`,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, { timeout: { type: 'string' }, 'idle-timeout': { type: 'string' } }, 'connect', usage);
    expectPositionals(positionals, ['uri'], 0, 'connect', usage);
    const timeoutMs = milliseconds(values.timeout, 'timeout', 'connect', { min: 1, example: '5000' }) ?? 10_000;
    const idleTimeoutMs = milliseconds(values['idle-timeout'], 'idle-timeout', 'connect', { min: 1, example: '60000' });
    const endpoint = parseEndpoint(positionals[0] as string, 'connect', '<uri>', 'connect');
    if (endpoint.scheme === 'stdio') throw new UsageError('flow connect: connecting stdio: to stdio: copies nothing useful', 'flow connect tcp://127.0.0.1:8080', 'connect');
    const connected = await endpoint.connect!({ timeoutMs });
    if (!connected.ok) {
      process.stderr.write(`flow connect: cannot connect to ${endpoint.uri}: ${formatError(connected.error)}\n`);
      return ExitCode.unavailable;
    }
    return runSession(connected.value, 'connect', { idleTimeoutMs });
  },
};
