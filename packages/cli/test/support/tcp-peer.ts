import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

/** A loopback TCP server for tests, tracking its sockets so that `close` leaves nothing open. */
export class TcpPeer {
  private readonly sockets = new Set<net.Socket>();
  readonly server: net.Server;

  constructor(onSocket: (socket: net.Socket) => void) {
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      onSocket(socket);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Echoes every byte back and half-closes after the client's half-close. */
export function echo(socket: net.Socket): void {
  socket.pipe(socket);
}

/** Reads the whole request until EOF, then answers with its length and SHA-256, then ends. */
export function hashAfterEof(socket: net.Socket): void {
  const hash = createHash('sha256');
  let bytes = 0;
  socket.on('data', (c: Buffer) => {
    bytes += c.length;
    hash.update(c);
  });
  socket.on('end', () => socket.end(`${bytes} ${hash.digest('hex')}\n`));
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Connects a client socket with half-open allowed; rejects on error. */
export function connectTcp(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Collects everything a socket sends until its end; resolves with it, or rejects on error. */
export function readAll(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/** `size` bytes of random data, made in 1 MiB pieces. */
export function randomData(size: number): Buffer {
  const parts: Buffer[] = [];
  for (let left = size; left > 0; left -= 1 << 20) parts.push(randomBytes(Math.min(left, 1 << 20)));
  return Buffer.concat(parts);
}
