import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/** Whether Debian's diod tools are installed (package `diod`). */
export function haveDiod(): boolean {
  return spawnSync('sh', ['-c', 'command -v diodls && command -v diodcat && command -v diod'], { stdio: 'ignore', env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } }).status === 0;
}

const env = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };

/** Runs one of diod's client tools to completion. */
export function diodTool(tool: 'diodls' | 'diodcat', args: readonly string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(tool, ['-t', '20', ...args], { env, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** A free loopback port, for a server that cannot be told to pick one itself. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A private foreground diod exporting `dir` on 127.0.0.1:port, without authentication. */
export class DiodServer {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;

  constructor(readonly dir: string, readonly port: number) {
    this.child = spawn('diod', ['-f', '-n', '-N', '-c', '/dev/null', '-l', `127.0.0.1:${port}`, '-e', dir], { env, stdio: 'ignore' });
    this.exited = new Promise((r) => this.child.once('exit', () => r()));
  }

  /** Resolves once diod accepts connections. */
  async ready(): Promise<void> {
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: this.port });
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (up) return;
      if (this.child.exitCode !== null) throw new Error(`diod exited with ${this.child.exitCode}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
