import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

/**
 * A VMM stand-in driven by the test: it reads the host's command line and then runs `script`,
 * which answers whatever the test needs (junk, a reply cut short, nothing at all). Not a double
 * of any VMM: it produces the replies no well-behaved VMM sends.
 */
export class ScriptedVmm {
  /** The command line of each connection, as received (newline included). */
  readonly commands: Buffer[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  static async start(path: string, script: (socket: Socket, command: Buffer) => void | Promise<void>): Promise<ScriptedVmm> {
    const server = createServer({ allowHalfOpen: true });
    const vmm = new ScriptedVmm(server);
    server.on('connection', (socket) => {
      vmm.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => vmm.sockets.delete(socket));
      // A VMM drops the stream once the host closed its end.
      socket.once('end', () => socket.destroy());
      let held = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        held = Buffer.concat([held, chunk]);
        const newline = held.indexOf(0x0a);
        if (newline < 0) return;
        socket.off('data', onData);
        socket.pause();
        const command = held.subarray(0, newline + 1);
        const rest = held.subarray(newline + 1);
        if (rest.length > 0) socket.unshift(rest);
        vmm.commands.push(command);
        void script(socket, command);
        // Keep reading (what the script does not take is dropped), so that the close is seen.
        socket.resume();
      };
      socket.on('data', onData);
    });
    server.listen(path);
    await once(server, 'listening');
    return vmm;
  }

  /** Connections still open on the VMM's side. */
  get open(): number {
    return this.sockets.size;
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    return closed;
  }
}

/** Writes `bytes` one byte per write, letting the event loop turn between them. */
export async function dribble(socket: Socket, bytes: Buffer): Promise<void> {
  for (const b of bytes) {
    if (socket.destroyed) return;
    await new Promise<void>((resolve) => socket.write(Buffer.from([b]), () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
