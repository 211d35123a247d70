import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { PeerProcess } from './loopback-peer';

/** The `flow` executable of @flow/cli (its bin/flow.js), i.e. what users run. */
export function flowExecutable(): string {
  return join(dirname(require.resolve('@flow/cli/package.json')), 'bin', 'flow.js');
}

export interface FlowProxyOptions {
  /** Options for Node before the script, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  /** How long `flow` may take to say it listens. Default 30 s (Node starts slowly under user-mode Linux). */
  readonly readyTimeoutMs?: number;
  /** Options for `flow proxy` after the two URIs, e.g. `--no-fast-copy`. */
  readonly flowArgs?: readonly string[];
  /** Called with everything the command writes on stderr, as it comes. */
  readonly onStderr?: (text: string) => void;
}

const LISTENING = /flow proxy: listening on tcp:\/\/127\.0\.0\.1:([0-9]+)/;
const LISTENING_UNIX = /flow proxy: listening on unix:/;

/**
 * Runs `node bin/flow.js proxy <listenUri> <targetUri>` with the command's defaults, as a child
 * process, and resolves once it says where it listens (`listenUri` is `tcp://127.0.0.1:0`: the
 * port comes from that line, as a user would read it; or `unix://PATH`: then `path` is PATH and
 * `port` 0). Stopped with SIGTERM, which the command
 * handles by closing its listener and exiting once its connections are done (a CPU profile is
 * written then); SIGKILL after 15 s.
 */
export function startFlowProxy(listenUri: string, targetUri: string, options: FlowProxyOptions = {}): Promise<PeerProcess> {
  const unixPath = listenUri.startsWith('unix://') ? listenUri.slice('unix://'.length) : undefined;
  const cp = spawn(process.execPath, [...(options.nodeArgs ?? []), flowExecutable(), 'proxy', listenUri, targetUri, ...(options.flowArgs ?? [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let exited = false;
  const killOnExit = (): void => {
    cp.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const gone = new Promise<void>((done) =>
    cp.once('exit', () => {
      exited = true;
      process.off('exit', killOnExit);
      done();
    }),
  );
  cp.once('error', () => undefined);
  return new Promise<PeerProcess>((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      cp.kill('SIGKILL');
      void gone.then(() => reject(new Error(`flow proxy ${listenUri} ${targetUri} ${why}: ${stderr.trim() || '(no output)'}`)));
    };
    const timer = setTimeout(() => fail(`did not say it listens within ${options.readyTimeoutMs ?? 30_000} ms`), options.readyTimeoutMs ?? 30_000);
    let ready = false;
    // Read stderr to the end, so that messages about failed connections never fill the pipe.
    cp.stderr.setEncoding('utf8').on('data', (d: string) => {
      options.onStderr?.(d);
      stderr = (stderr + d).slice(-4000);
      const m = ready ? null : unixPath === undefined ? LISTENING.exec(stderr) : LISTENING_UNIX.exec(stderr);
      if (!m) return;
      ready = true;
      clearTimeout(timer);
      resolve({
        process: cp,
        port: unixPath === undefined ? Number(m[1]) : 0,
        ...(unixPath === undefined ? {} : { path: unixPath }),
        stop: async () => {
          if (exited) return;
          cp.kill('SIGTERM');
          const backstop = setTimeout(() => cp.kill('SIGKILL'), 15_000);
          await gone;
          clearTimeout(backstop);
        },
      });
    });
    cp.once('exit', (code, signal) => {
      if (!ready) fail(`exited before it listened (code ${code}, signal ${signal})`);
    });
  });
}
