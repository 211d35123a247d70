import { formatError } from '@flow/core';
import type { Command } from '../command';
import { parseEndpoint } from '../endpoints/registry';
import { ExitCode } from '../exit-codes';
import { expectPositionals, milliseconds, parseCommandLine } from '../options';
import { runSession } from '../session';
import { onStopSignals, type StopSignal } from '../signals';
import { UsageError } from '../usage-error';
import { sessionExitStatus } from './connect';
import { describeListenFailure } from '../listen-failure';

const usage = 'flow listen <uri> [--idle-timeout MS]';

export const listenCommand: Command = {
  name: 'listen',
  summary: 'Listen on an endpoint, accept one connection, and copy stdin to it and it to stdout.',
  usage,
  details: `Prints "flow listen: listening on <uri>" on stderr once bound (with the real port when 0 was asked
for), then accepts exactly one connection and stops listening. stdin's end of stream half-closes the
write side; the command ends when both directions have ended.

Options:
  --idle-timeout MS  give up when no byte moved either way for MS milliseconds (default: none)

${sessionExitStatus}

Examples:
  flow listen tcp://127.0.0.1:9000 > upload.bin
  flow listen unix:///tmp/flow.sock`,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, { 'idle-timeout': { type: 'string' } }, 'listen', usage);
    expectPositionals(positionals, ['uri'], 0, 'listen', usage);
    const idleTimeoutMs = milliseconds(values['idle-timeout'], 'idle-timeout', 'listen', { min: 1, example: '60000' });
    const endpoint = parseEndpoint(positionals[0] as string, 'listen', '<uri>', 'listen');
    if (endpoint.scheme === 'stdio') throw new UsageError('flow listen: listening on stdio: to copy to stdio: copies nothing useful', 'flow listen tcp://127.0.0.1:9000', 'listen');
    const bound = await endpoint.listen!();
    if (!bound.ok) {
      process.stderr.write(`flow listen: ${describeListenFailure(endpoint.uri, bound.error)}\n`);
      return ExitCode.unavailable;
    }
    const listener = bound.value;
    const stop = new AbortController();
    let signalled: StopSignal | undefined;
    const dispose = onStopSignals((signal) => {
      signalled ??= signal;
      stop.abort(signal);
    });
    process.stderr.write(`flow listen: listening on ${listener.uri}\n`);
    const accepted = await listener.accept({ signal: stop.signal });
    dispose();
    // One connection only: stop listening before the session starts.
    await listener.close();
    if (signalled) return signalled === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated;
    if (!accepted.ok) {
      process.stderr.write(`flow listen: accept failed: ${formatError(accepted.error)}\n`);
      return ExitCode.failed;
    }
    process.stderr.write(`flow listen: connection from ${accepted.value.label}\n`);
    return runSession(accepted.value, 'listen', { idleTimeoutMs });
  },
};
