import { EventEmitter, once } from 'node:events';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { AcceptQueue, err, FlowError, ok, type Flow, type Result } from '@flow/core';
import { guestEnd, type EofPolicy } from './guest-end';

/** A connect command as the VMM consumed it: the guest port, and the exact bytes it read. */
export interface ConnectRequest {
  readonly port: number;
  /** The bytes the VMM read for the command (the newline included when it got one). */
  readonly raw: Buffer;
}

/** What a reader got from a fresh host stream: a request and the bytes it read past it, or nothing (the VMM drops the stream). */
export type CommandRead = { readonly request: ConnectRequest; readonly rest: Buffer } | { readonly request: undefined; readonly raw: Buffer };

/** How one VMM reads the connect command from a host stream (each double cites its source). */
export type CommandReader = (socket: Socket) => Promise<CommandRead>;

/** What differs between the hybrid-vsock VMMs. */
export interface HybridVmmProfile {
  /** e.g. `Firecracker @81b38b9d`. */
  readonly name: string;
  readonly readCommand: CommandReader;
  /** The acknowledgement for an accepted connection; undefined: none (Firecracker before v0.19). */
  readonly ack: ((localPort: number, guestPort: number) => string) | undefined;
  readonly eof: EofPolicy;
  /** How long the VMM waits for the guest to answer a connection request (CONN_REQUEST_TIMEOUT_MS). */
  readonly requestTimeoutMs: number;
}

export interface GuestListenOptions {
  /**
   * `accept` (default): the guest kernel answers the VMM's REQUEST with RESPONSE at once (the
   * application accepts later). `never`: the guest never answers, so the VMM gives up after
   * its request timeout and drops the host stream.
   */
  readonly answer?: 'accept' | 'never';
  /** Connections queued for `accept()` before the guest refuses new ones. Default 128. */
  readonly backlog?: number;
}

/** An AF_VSOCK listener inside the simulated guest. */
export class GuestListener {
  readonly queue: AcceptQueue;

  constructor(
    readonly port: number,
    readonly answer: 'accept' | 'never',
    backlog: number,
  ) {
    this.queue = new AcceptQueue(backlog);
  }

  accept(): Promise<Result<Flow, FlowError>> {
    return this.queue.accept();
  }

  close(): void {
    this.queue.close();
  }
}

/**
 * A hybrid-vsock VMM stand-in: it listens on `udsPath` like the VMM's muxer, reads the connect
 * command the way the profile says, hands accepted connections to in-process guest listeners
 * (the muxer relays bytes 1:1, so after the handshake the VMM's end of the host stream, or a
 * model of the guest socket in front of it, is the guest end), and connects guest → host
 * connections to `<udsPath>_<port>`.
 */
export class HybridVmmDouble {
  /** Every command the VMM read, well-formed or not, in order. */
  readonly commands: Buffer[] = [];
  /** The host-side ports allocated to accepted connections, in order. */
  readonly localPorts: number[] = [];
  private readonly guests = new Map<number, GuestListener>();
  private readonly hostStreams = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly events = new EventEmitter();
  private readonly usedLocalPorts = new Set<number>();
  private localPortLast = 2 ** 30 - 1;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly profile: HybridVmmProfile,
    readonly udsPath: string,
    private readonly server: Server,
  ) {}

  static async start(profile: HybridVmmProfile, udsPath: string): Promise<HybridVmmDouble> {
    const server = createServer({ allowHalfOpen: true });
    const double = new HybridVmmDouble(profile, udsPath, server);
    server.on('connection', (socket) => double.onHostConnection(socket));
    server.listen(udsPath);
    await once(server, 'listening');
    return double;
  }

  /** Host streams the VMM holds open (handshaking, waiting for the guest, or established). */
  get openHostStreams(): number {
    return this.hostStreams.size;
  }

  /** A guest application listening on vsock port `port`. */
  listen(port: number, options: GuestListenOptions = {}): GuestListener {
    const listener = new GuestListener(port, options.answer ?? 'accept', options.backlog ?? 128);
    this.guests.set(port, listener);
    return listener;
  }

  /** Resolves with the next command the VMM reads (for tests that act in the middle of a handshake). */
  async nextCommand(): Promise<Buffer> {
    const [raw] = (await once(this.events, 'command')) as [Buffer];
    return raw;
  }

  /**
   * A guest connecting to the host on `port`: the VMM connects to `<udsPath>_<port>`; when
   * nothing listens there the guest gets an RST and sees ECONNRESET.
   */
  connectToHost(port: number): Promise<Result<Flow, FlowError>> {
    const path = `${this.udsPath}_${port}`;
    return new Promise((resolve) => {
      const socket = netConnect({ path, allowHalfOpen: true });
      const onError = (e: NodeJS.ErrnoException): void => {
        socket.destroy();
        resolve(err(new FlowError('reset', `connect: ECONNRESET (the VMM could not connect to ${path}: ${e.code ?? e.message})`, { code: 'ECONNRESET' })));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        this.track(socket);
        resolve(ok(guestEnd(socket, this.profile.eof, `${this.profile.name} guest → host port ${port}`)));
      });
    });
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const g of this.guests.values()) g.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.hostStreams) s.destroy();
    this.closing = closed;
    return closed;
  }

  private track(socket: Socket): void {
    this.hostStreams.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => this.hostStreams.delete(socket));
  }

  /** Firecracker's allocate_local_port: round robin in [2^30, 2^31), skipping ports in use. */
  private allocateLocalPort(): number {
    for (;;) {
      this.localPortLast = (((this.localPortLast + 1) & 0x7fffffff) | 0x40000000) >>> 0;
      if (!this.usedLocalPorts.has(this.localPortLast)) break;
    }
    this.usedLocalPorts.add(this.localPortLast);
    return this.localPortLast;
  }

  private onHostConnection(host: Socket): void {
    if (this.closing) {
      host.destroy();
      return;
    }
    this.track(host);
    void this.handshake(host);
  }

  private async handshake(host: Socket): Promise<void> {
    const read = await this.profile.readCommand(host);
    const raw = read.request ? read.request.raw : read.raw;
    this.commands.push(raw);
    this.events.emit('command', raw);
    if (read.request === undefined || host.destroyed || this.closing) {
      // InvalidPortRequest, or a read error: the stream is dropped with no message.
      host.destroy();
      return;
    }
    const { port } = read.request;
    const guest = this.guests.get(port);
    if (!guest || guest.queue.closed) {
      // No guest listener: the guest kernel answers REQUEST with RST, the VMM drops the stream.
      host.destroy();
      return;
    }
    if (guest.answer === 'never') {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        host.destroy();
      }, this.profile.requestTimeoutMs);
      this.timers.add(timer);
      return;
    }
    const localPort = this.allocateLocalPort();
    this.localPorts.push(localPort);
    host.once('close', () => this.usedLocalPorts.delete(localPort));
    // LocalInit → Established: the acknowledgement goes out in one write (send_bytes_raw).
    if (this.profile.ack) host.write(this.profile.ack(localPort, port));
    // Bytes the host sent after its command stay in the stream for the guest.
    host.pause();
    if (read.rest.length > 0) host.unshift(read.rest);
    const flow = guestEnd(host, this.profile.eof, `${this.profile.name} host → guest port ${port} (host port ${localPort})`);
    host.resume();
    // A full guest backlog aborts the flow: the host stream is dropped.
    guest.queue.offer(flow);
  }
}

/** Waits for the first chunk of a fresh host stream, or its end (undefined). */
export function firstChunk(socket: Socket): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const done = (chunk: Buffer | undefined): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      resolve(chunk);
    };
    const onData = (chunk: Buffer): void => done(chunk);
    const onEnd = (): void => done(undefined);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/** Rust's `str::parse::<u32>`: an optional `+`, then decimal digits, within u32. */
export function parseRustU32(word: string | undefined): number | undefined {
  if (word === undefined || !/^\+?[0-9]+$/.test(word)) return undefined;
  const n = Number(word.replace(/^\+/, ''));
  return n <= 0xffffffff ? n : undefined;
}
