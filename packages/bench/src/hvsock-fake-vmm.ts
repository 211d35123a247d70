import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { serveTarget } from './target-server';

/** `CONNECT 4294967295\n` is 19 bytes; a longer line is not a handshake. */
const MAX_CONNECT_LINE = 32;
/** Firecracker numbers the host end of each connection from [2^30, 2^31). */
const FIRST_HOST_PORT = 2 ** 30;
const HOST_PORTS = 2 ** 30;

/**
 * The guest end of the hybrid-vsock bench: the bench's sink/echo server on two Unix sockets in
 * `dir`. `v.sock` is a fake VMM front: it answers Firecracker's handshake (`CONNECT <port>\n` →
 * `OK <host port>\n`) and then is the guest's server on that port, which is what a host-side
 * client of a Firecracker VM talks to. `raw.sock` is the same server without the handshake, for
 * clients that cannot send it (socat) and for the direct row.
 */
export interface HybridGuestEnd {
  /** The VMM socket: handshake first. */
  readonly vmmPath: string;
  /** The same server, no handshake. */
  readonly rawPath: string;
  /** The vsock port the fake VMM accepts `CONNECT` for (others are closed, as Firecracker does without a guest listener). */
  readonly guestPort: number;
  close(): Promise<void>;
}

export async function startHybridGuestEnd(dir: string, guestPort: number): Promise<HybridGuestEnd> {
  if (!(Number.isInteger(guestPort) && guestPort >= 0 && guestPort < 2 ** 32)) throw new RangeError(`bad vsock port: ${guestPort}`);
  const vmmPath = join(dir, 'v.sock');
  const rawPath = join(dir, 'raw.sock');
  let nextHostPort = 0;
  const vmm = await listenUnix(vmmPath, (socket) =>
    answerConnect(socket, guestPort, () => {
      const port = FIRST_HOST_PORT + (nextHostPort % HOST_PORTS);
      nextHostPort += 1;
      return port;
    }),
  );
  const raw = await listenUnix(rawPath, serveTarget).catch(async (e: unknown) => {
    await closeServer(vmm);
    throw e;
  });
  return {
    vmmPath,
    rawPath,
    guestPort,
    close: async () => {
      await Promise.all([closeServer(vmm), closeServer(raw)]);
    },
  };
}

function listenUnix(path: string, onConnection: (socket: Socket) => void): Promise<Server> {
  const server = createServer(onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Reads the handshake line, answers it, and hands the connection to the sink/echo server with
 * whatever came after the line put back in front.
 */
function answerConnect(socket: Socket, guestPort: number, hostPort: () => number): void {
  socket.on('error', () => socket.destroy());
  let line: Buffer = Buffer.alloc(0);
  const onData = (data: Buffer): void => {
    line = line.length === 0 ? data : Buffer.concat([line, data]);
    const end = line.indexOf(0x0a);
    if (end < 0) {
      if (line.length > MAX_CONNECT_LINE) socket.destroy();
      return;
    }
    socket.off('data', onData);
    const m = /^CONNECT ([0-9]{1,10})$/.exec(line.subarray(0, end).toString('latin1'));
    if (!m || Number(m[1]) !== guestPort) {
      // What Firecracker does when no guest listens on the port: close without an answer.
      socket.destroy();
      return;
    }
    // Paused, so that the bytes put back wait until the server below listens for them.
    socket.pause();
    const rest = line.subarray(end + 1);
    if (rest.length > 0) socket.unshift(rest);
    socket.write(`OK ${hostPort()}\n`);
    serveTarget(socket);
    socket.resume();
  };
  socket.on('data', onData);
}
