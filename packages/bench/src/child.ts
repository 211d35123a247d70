import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { LoadRequest, ReadyMessage, ReplyEnvelope } from './protocol';

/**
 * The compiled entry point `name` (children always run the built JavaScript, also when the
 * caller runs under ts-jest, so `dist` must be built first).
 */
export function entryPoint(name: string): string {
  return resolve(__dirname, '..', 'dist', `${name}.js`);
}

/** A benchmark child process with an IPC channel. */
export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, (reply: ReplyEnvelope) => void>();
  private exited = false;

  private constructor(
    readonly process: ChildProcess,
    readonly ready: ReadyMessage,
  ) {
    process.on('message', (m: ReplyEnvelope) => this.pending.get(m.id)?.(m));
    process.once('exit', () => {
      this.exited = true;
      for (const settle of this.pending.values()) settle({ id: 0, error: 'the child process exited' });
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  /** Starts `name` with `args` and waits (bounded) for its ready message. */
  static async start(name: string, args: readonly string[], execArgv: readonly string[] = [], timeoutMs = 15000): Promise<Child> {
    const cp = fork(entryPoint(name), [...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...execArgv] });
    const ready = await new Promise<ReadyMessage>((resolveReady, reject) => {
      const timer = setTimeout(() => {
        cp.kill('SIGKILL');
        reject(new Error(`${name} did not get ready within ${timeoutMs} ms`));
      }, timeoutMs);
      cp.once('message', (m: ReadyMessage) => {
        clearTimeout(timer);
        resolveReady(m);
      });
      cp.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`));
      });
    });
    return new Child(cp, ready);
  }

  /** Sends a request to a load child and waits (bounded) for its reply. */
  request<R>(request: LoadRequest, timeoutMs: number): Promise<R> {
    if (this.exited) return Promise.reject(new Error('the child process exited'));
    const id = this.nextId++;
    return new Promise<R>((resolveReply, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${request.cmd} got no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (m) => {
        clearTimeout(timer);
        this.pending.delete(id);
        if (m.error !== undefined || m.reply === undefined) reject(new Error(m.error ?? 'empty reply'));
        else resolveReply(m.reply as R);
      });
      this.process.send({ id, request });
    });
  }

  /** Ends the child (closing the channel makes it exit by itself; the signal is the backstop). */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((done) => this.process.once('exit', () => done()));
    if (this.process.connected) this.process.disconnect();
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}
