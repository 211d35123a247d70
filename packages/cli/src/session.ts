import { connectStdio } from '@flow/console';
import { formatError, proxy, type DirectionResult, type Flow } from '@flow/core';
import { ExitCode } from './exit-codes';
import { onStopSignals, type StopSignal } from './signals';

export interface SessionOptions {
  readonly idleTimeoutMs?: number;
}

/**
 * Copies stdin to `remote` and `remote` to stdout until both directions end, like nc. stdin's
 * EOF half-closes the remote's write side, and the reply is still printed; the exit status says
 * how it ended (see `ExitCode`).
 */
export async function runSession(remote: Flow, command: string, options: SessionOptions = {}): Promise<number> {
  // A terminal stays cooked: Ctrl-D ends stdin and Ctrl-C interrupts, as with nc.
  const opened = await connectStdio({ raw: false });
  if (!opened.ok) {
    remote.abort(opened.error);
    process.stderr.write(`flow ${command}: cannot use stdin/stdout: ${formatError(opened.error)}\n`);
    return ExitCode.failed;
  }
  const local = opened.value;
  const stop = new AbortController();
  let signalled: StopSignal | undefined;
  const dispose = onStopSignals((signal) => {
    signalled ??= signal;
    stop.abort(signal);
  });
  const { aToB: sent, bToA: received } = await proxy(local, remote, { idleTimeoutMs: options.idleTimeoutMs, signal: stop.signal });
  dispose();
  if (signalled) return signalled === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated;
  if (sent.outcome === 'eof' && received.outcome === 'eof') return ExitCode.ok;
  if (sent.outcome === 'timeout' || received.outcome === 'timeout') {
    process.stderr.write(`flow ${command}: idle for ${options.idleTimeoutMs} ms, giving up\n`);
    return ExitCode.idle;
  }
  const failed: DirectionResult = sent.outcome === 'error' ? sent : received;
  const where =
    failed === sent
      ? failed.failedSide === 'read'
        ? 'reading stdin'
        : `sending to ${remote.label}`
      : failed.failedSide === 'read'
        ? `receiving from ${remote.label}`
        : 'writing stdout';
  process.stderr.write(`flow ${command}: ${where}: ${failed.error ? formatError(failed.error) : failed.outcome}\n`);
  return ExitCode.failed;
}
