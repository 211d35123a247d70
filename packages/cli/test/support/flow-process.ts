import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'flow.js');

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `flow` process with its output collected. */
export class FlowProcess {
  private readonly stdoutChunks: Buffer[] = [];
  stderr = '';
  readonly exited: Promise<Exit>;
  private exitedNow = false;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (c: Buffer) => {
      this.stdoutChunks.push(c);
      this.wake();
    });
    child.stderr.on('data', (c: Buffer) => {
      this.stderr += c.toString('utf8');
      this.wake();
    });
    // A child that exits before we wrote everything gives EPIPE on its stdin; the test judges by the exit.
    child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.exitedNow = true;
        this.wake();
        resolve({ code, signal });
      });
    });
  }

  /** Everything the process wrote on stdout so far. */
  get stdout(): Buffer {
    if (this.stdoutChunks.length > 1) this.stdoutChunks.splice(0, this.stdoutChunks.length, Buffer.concat(this.stdoutChunks));
    return this.stdoutChunks[0] ?? Buffer.alloc(0);
  }

  get running(): boolean {
    return !this.exitedNow;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the first match of `pattern` in stderr; rejects if the process exits first. */
  async waitForStderr(pattern: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const m = pattern.exec(this.stderr);
      if (m) return m;
      if (this.exitedNow) throw new Error(`flow exited before printing ${pattern}; stderr:\n${this.stderr}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Resolves once stdout has at least `lines` newline-terminated lines. */
  async waitForStdoutLines(lines: number): Promise<string[]> {
    for (;;) {
      const all = this.stdout.toString('utf8').split('\n').slice(0, -1);
      if (all.length >= lines) return all;
      if (this.exitedNow) throw new Error(`flow exited after ${all.length} stdout lines; stderr:\n${this.stderr}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** The address a listening command printed: "listening on <uri>". */
  async listeningOn(): Promise<string> {
    const m = await this.waitForStderr(/listening on (\S+?)[,\s]/);
    return m[1] as string;
  }
}

const live = new Set<FlowProcess>();

/** Starts `node bin/flow.js ...args`. */
export function startFlow(args: readonly string[], options: { cwd?: string } = {}): FlowProcess {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd: options.cwd });
  const p = new FlowProcess(child);
  live.add(p);
  void p.exited.then(() => live.delete(p));
  return p;
}

/** Runs `flow` to the end with `input` on stdin. */
export async function runFlow(args: readonly string[], input?: Buffer | string): Promise<Exit & { stdout: Buffer; stderr: string }> {
  const p = startFlow(args);
  if (input !== undefined) p.child.stdin.end(input);
  else p.child.stdin.end();
  const exit = await p.exited;
  return { ...exit, stdout: p.stdout, stderr: p.stderr };
}

/** For afterEach: kills every `flow` process a test left running and waits for it to go. */
export async function killAllFlows(): Promise<void> {
  const running = [...live];
  for (const p of running) p.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
}
