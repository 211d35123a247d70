import { createHash, type Hash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { MODE_ECHO, MODE_SINK, MODE_SLOW, SINK_HEADER_BYTES, SINK_REPLY_BYTES } from './protocol';

/** How often a slow receiver takes one chunk, per connection. */
const SLOW_READ_INTERVAL_MS = 5;

/** Where `startTargetServer` listens. */
export interface TargetServerOptions {
  /** A Unix-domain socket path instead of a free port on 127.0.0.1 (`port` is then 0). */
  readonly path?: string;
}

/**
 * The server every path ends at, listening on loopback. The first byte a client sends picks the
 * mode: a counting sink that replies with the count (and SHA-256) once the announced length has
 * arrived, an echo for ping-pong, or a slow receiver that holds traffic back. The sink replies
 * on a length rather than on EOF so that proxies without half-close can be measured too.
 */
export function startTargetServer(options: TargetServerOptions = {}): Promise<{ server: Server; port: number }> {
  const server = createServer({ noDelay: true }, (socket) => serveTarget(socket));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.path === undefined ? { host: '127.0.0.1', port: 0 } : { path: options.path }, () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a !== null ? a.port : 0 });
    });
  });
}

/**
 * Serves one connection (sink, echo or slow receiver, picked by its first byte). Exported for
 * guest ends on other sockets (the hybrid-vsock bench's Unix sockets); data the caller already
 * read must be put back first (`socket.unshift`).
 */
export function serveTarget(socket: Socket): void {
  socket.on('error', () => socket.destroy());
  let header: Buffer = Buffer.alloc(0);
  const onHeader = (data: Buffer): void => {
    header = header.length === 0 ? data : Buffer.concat([header, data]);
    const mode = header[0];
    if (mode === MODE_SINK) {
      if (header.length < SINK_HEADER_BYTES) return;
      socket.off('data', onHeader);
      const length = Number(header.readBigUInt64BE(1));
      sink(socket, length, header[9] === 1, header.subarray(SINK_HEADER_BYTES));
    } else if (mode === MODE_ECHO) {
      socket.off('data', onHeader);
      echo(socket, header.subarray(1));
    } else if (mode === MODE_SLOW) {
      socket.off('data', onHeader);
      slow(socket);
    } else {
      socket.destroy();
    }
  };
  socket.on('data', onHeader);
}

function sink(socket: Socket, length: number, verify: boolean, first: Buffer): void {
  let received = 0;
  const hash: Hash | undefined = verify ? createHash('sha256') : undefined;
  const take = (data: Buffer): void => {
    received += data.length;
    hash?.update(data);
    if (received >= length) {
      socket.off('data', take);
      const reply = Buffer.alloc(SINK_REPLY_BYTES);
      reply.writeBigUInt64BE(BigInt(received), 0);
      if (hash) hash.digest().copy(reply, 8);
      socket.write(reply);
    }
  };
  socket.on('data', take);
  if (first.length > 0) take(first);
}

function echo(socket: Socket, first: Buffer): void {
  if (first.length > 0) socket.write(first);
  socket.on('data', (data: Buffer) => socket.write(data));
}

let slowReceived = 0;

/** Bytes all slow receivers have read so far. */
export function slowBytesReceived(): number {
  return slowReceived;
}

/** Takes one chunk every few milliseconds, so that senders fill every buffer on the way. */
function slow(socket: Socket): void {
  socket.pause();
  socket.on('data', (data: Buffer) => {
    slowReceived += data.length;
    socket.pause();
  });
  const timer = setInterval(() => socket.resume(), SLOW_READ_INTERVAL_MS);
  socket.once('close', () => clearInterval(timer));
}
