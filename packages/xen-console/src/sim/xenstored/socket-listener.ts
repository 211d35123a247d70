import { createServer, type Server, type Socket } from 'node:net';
import { lstat, unlink } from 'node:fs/promises';
import { err, FlowError, fromNodeError, ok, type Result } from '@flow/core';

/** Options of `SimXenstored.listen`. */
export interface UnixListenOptions {
  /** Replace a socket file left at `path` (never any other kind of file). Default false. */
  readonly replace?: boolean;
  /** Live connections at once; more are refused by closing them at once. Default 256. */
  readonly maxConnections?: number;
}

/** A Unix-socket listener handing each connection to the simulator. */
export interface SimXenstoredListener {
  /** The socket file's path. */
  readonly path: string;
  /** Live connections accepted by this listener. */
  readonly connections: number;
  /** Stops listening and removes the socket file; live connections are untouched. */
  close(): Promise<void>;
}

const DEFAULT_MAX_CONNECTIONS = 256;

/** Binds `path` and calls `onConnection` for each accepted socket. */
export async function listenUnix(
  path: string,
  options: UnixListenOptions,
  onConnection: (socket: Socket) => void,
): Promise<Result<SimXenstoredListener, FlowError>> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path must be a non-empty string');
  const max = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (!Number.isInteger(max) || max < 1) throw new RangeError('maxConnections must be an integer >= 1');
  try {
    const s = await lstat(path);
    if (!options.replace || !s.isSocket()) {
      return err(new FlowError('in-use', `${path} already exists${s.isSocket() ? ' (pass replace to take over a stale socket)' : ''}`, { code: 'EADDRINUSE' }));
    }
    await unlink(path);
  } catch (e) {
    const error = fromNodeError(e);
    if (error.code !== 'ENOENT') return err(error);
  }
  const live = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    if (live.size >= max) {
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    live.add(socket);
    socket.once('close', () => live.delete(socket));
    onConnection(socket);
  });
  const bound = await new Promise<Result<void, FlowError>>((resolve) => {
    server.once('error', (e) => resolve(err(fromNodeError(e, `listen on ${path}`))));
    server.listen({ path }, () => resolve(ok(undefined)));
  });
  if (!bound.ok) return bound;
  // Errors after binding (none are expected for a Unix socket) must not become 'error' crashes.
  server.on('error', () => {});
  let closing: Promise<void> | undefined;
  return ok({
    path,
    get connections() {
      return live.size;
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve())).then(async () => {
        await unlink(path).catch(() => undefined);
      });
      return closing;
    },
  });
}
