import { EventEmitter, once } from 'node:events';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { err, FlowError, ok, type Flow, type Result } from '@flow/core';
import { guestEnd } from './guest-end';
import { firstChunk, GuestListener, type GuestListenOptions } from './hybrid-muxer-double';

/** `%08x.%08x\n`: what handle_connect_fd reads. */
const HEADER_BYTES = 18;

/** A header as Hyperkit read it. */
export interface HyperkitRequest {
  /** The bytes of its single read (at most 18). */
  readonly raw: Buffer;
  readonly cid: number | undefined;
  readonly port: number | undefined;
}

/**
 * Hyperkit's virtio-sock (moby/hyperkit @3cb0d547, src/lib/pci_virtio_sock.c):
 * - host → guest: `<path>/connect`; `handle_connect_fd` does one read() of at most 18 bytes,
 *   closes the connection on a short read or when byte 18 is not `\n`, sscanf's
 *   `%08x.%08x\n`, and closes it unless the cid equals `guest_cid`. **No acknowledgement**;
 *   when the guest answers the REQUEST with RST (no listener) the fd is closed;
 * - bytes after the 18 are not read by handle_connect_fd: they are the guest's first data;
 * - a host EOF becomes SHUTDOWN_TX (:1711-1713), a half-close; a guest shutdown becomes
 *   shutdown() on the Unix socket, SHUT_WR deferred until the buffer drained (:808-840, PR #62);
 * - guest → host: Hyperkit connects to `<path>/00000002.<port %08x>` (PRI_ADDR_PREFIX, host CID 2).
 */
export class HyperkitDouble {
  /** Every header read, in order. */
  readonly requests: HyperkitRequest[] = [];
  private readonly guests = new Map<number, GuestListener>();
  private readonly streams = new Set<Socket>();
  private readonly events = new EventEmitter();
  private closing: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    readonly guestCid: number,
    private readonly server: Server,
  ) {}

  /** Starts the double for `-s N,virtio-sock,guest_cid=<guestCid>,path=<dir>`. */
  static async start(dir: string, guestCid = 3): Promise<HyperkitDouble> {
    if (!(guestCid > 2)) throw new RangeError('hyperkit requires guest_cid > 2');
    const server = createServer({ allowHalfOpen: true });
    const double = new HyperkitDouble(dir, guestCid, server);
    server.on('connection', (socket) => double.onConnect(socket));
    server.listen(join(dir, 'connect'));
    await once(server, 'listening');
    return double;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  listen(port: number, options: GuestListenOptions = {}): GuestListener {
    const listener = new GuestListener(port, options.answer ?? 'accept', options.backlog ?? 128);
    this.guests.set(port, listener);
    return listener;
  }

  async nextRequest(): Promise<HyperkitRequest> {
    const [request] = (await once(this.events, 'request')) as [HyperkitRequest];
    return request;
  }

  /** A guest connecting to the host (CID 2) on `port`: Hyperkit connects to `<dir>/00000002.%08x`. */
  connectToHost(port: number): Promise<Result<Flow, FlowError>> {
    const path = join(this.dir, `00000002.${port.toString(16).padStart(8, '0')}`);
    return new Promise((resolve) => {
      const socket = netConnect({ path, allowHalfOpen: true });
      const onError = (e: NodeJS.ErrnoException): void => {
        socket.destroy();
        resolve(err(new FlowError('reset', `connect: ECONNRESET (hyperkit could not connect to ${path}: ${e.code ?? e.message})`, { code: 'ECONNRESET' })));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        this.track(socket);
        resolve(ok(guestEnd(socket, { hostEof: 'half-close' }, `hyperkit guest → host port ${port}`)));
      });
    });
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    for (const g of this.guests.values()) g.close();
    this.closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.streams) s.destroy();
    return this.closing;
  }

  private track(socket: Socket): void {
    this.streams.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => this.streams.delete(socket));
  }

  private onConnect(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.track(socket);
    void this.handleConnectFd(socket);
  }

  private async handleConnectFd(socket: Socket): Promise<void> {
    const chunk = (await firstChunk(socket)) ?? Buffer.alloc(0);
    // read(fd, buf, 18): at most 18 bytes; the rest stays in the socket.
    const raw = Buffer.from(chunk.subarray(0, HEADER_BYTES));
    const rest = chunk.subarray(HEADER_BYTES);
    const match = /^([0-9a-fA-F]{1,8})\.([0-9a-fA-F]{1,8})\n$/.exec(raw.toString('latin1'));
    const request: HyperkitRequest = {
      raw,
      cid: match ? parseInt(match[1] as string, 16) : undefined,
      port: match ? parseInt(match[2] as string, 16) : undefined,
    };
    this.requests.push(request);
    this.events.emit('request', request);
    // Short read, no newline, unparsable, or not this guest's CID: close(fd), nothing said.
    if (raw.length !== HEADER_BYTES || request.cid !== this.guestCid || request.port === undefined || this.closing) {
      socket.destroy();
      return;
    }
    const guest = this.guests.get(request.port);
    if (!guest || guest.queue.closed || guest.answer === 'never') {
      // The guest answers the REQUEST with RST (no listener): the fd is closed.
      socket.destroy();
      return;
    }
    socket.pause();
    if (rest.length > 0) socket.unshift(rest);
    const flow = guestEnd(socket, { hostEof: 'half-close' }, `hyperkit host → guest cid ${request.cid} port ${request.port}`);
    socket.resume();
    guest.queue.offer(flow);
  }
}
