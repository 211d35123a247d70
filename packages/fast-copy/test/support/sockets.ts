// Real connected sockets from Node for the engine's tests: loopback TCP connections and Unix
// stream sockets (a listener in a temp dir: a socketpair in all but name), both ends as
// net.Sockets with allowHalfOpen, so that EOF is a half-close and not a close.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type SocketKind = 'tcp' | 'unix';

/** Both ends of one connection: `near` is the end a test lends to the engine. */
export interface Connection {
  readonly near: Socket;
  readonly far: Socket;
}

const opened: Socket[] = [];
const dirs: string[] = [];

/** A connected pair of the given kind; `destroyAll` ends it after the test. */
export async function connection(kind: SocketKind): Promise<Connection> {
  let path: string | undefined;
  if (kind === 'unix') {
    const dir = mkdtempSync(join(tmpdir(), 'fast-copy-'));
    dirs.push(dir);
    path = join(dir, 's');
  }
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => (path ? server.listen(path, resolve) : server.listen(0, '127.0.0.1', resolve)));
  const address = server.address();
  const far = path
    ? connect({ path, allowHalfOpen: true })
    : connect({ port: typeof address === 'object' && address ? address.port : 0, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => far.once('connect', resolve).once('error', reject));
  const near = await accepted;
  server.close();
  opened.push(near, far);
  return { near, far };
}

export function destroyAll(): void {
  for (const socket of opened.splice(0)) socket.destroy();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Collects everything `socket` delivers until its end; resolves with the bytes and whether it ended cleanly. */
export function collect(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/** A digest of everything `socket` delivers until its end, without keeping the bytes. */
export function digestUntilEnd(socket: Socket): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve({ sha256: hash.digest('hex'), bytes }));
    socket.once('error', reject);
  });
}

/** Writes `total` random bytes in 1 MiB chunks with backpressure, then ends; resolves with their digest. */
export async function sendRandom(socket: Socket, total: number): Promise<string> {
  const hash = createHash('sha256');
  for (let sent = 0; sent < total; ) {
    const chunk = randomBytes(Math.min(1 << 20, total - sent));
    hash.update(chunk);
    sent += chunk.length;
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  socket.end();
  return hash.digest('hex');
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** How many descriptors this process has open now. */
export function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

/** One turn of the event loop: libuv's close callbacks (which close the engine's duplicates) have run. */
export function nextLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
