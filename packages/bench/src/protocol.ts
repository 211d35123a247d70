/**
 * Messages between the benchmark and its child processes (over Node's IPC channel). Every
 * request carries an id that its reply repeats.
 */

/** First message of every child: it is listening on `port`. */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly port: number;
  /** What the child runs, e.g. which TCP implementation a proxy uses. */
  readonly implementation?: string;
}

/** Where a client connects: a port on 127.0.0.1, or a Unix socket (the hybrid-vsock guest end). */
export type Destination = { readonly port: number } | { readonly path: string };

export type BulkRequest = Destination & {
  readonly cmd: 'bulk';
  readonly bytes: number;
  readonly chunkSize: number;
  readonly verify: boolean;
};

export interface BulkReply {
  readonly bytes: number;
  readonly seconds: number;
  /** In verify runs: whether the receiver's SHA-256 equals the sender's. */
  readonly digestMatches?: boolean;
}

export type PingRequest = Destination & {
  readonly cmd: 'ping';
  readonly count: number;
  readonly warmup: number;
};

export interface PingReply {
  /** Round trips completed (fewer than asked only if the time bound stopped it). */
  readonly count: number;
  readonly p50us: number;
  readonly p99us: number;
  readonly meanUs: number;
  /** Every round trip in µs, ascending (so that rounds can be merged). */
  readonly samples: readonly number[];
}

export interface SlowRequest {
  readonly cmd: 'slow';
  readonly port: number;
  readonly connections: number;
  readonly seconds: number;
  readonly chunkSize: number;
}

export interface SlowReply {
  /** Bytes the senders got accepted by their sockets. */
  readonly sent: number;
  /** Bytes the slow receivers read. */
  readonly received: number;
}

export type LoadRequest = BulkRequest | PingRequest | SlowRequest;

export interface RequestEnvelope {
  readonly id: number;
  readonly request: LoadRequest;
}

export interface ReplyEnvelope {
  readonly id: number;
  readonly reply?: BulkReply | PingReply | SlowReply;
  readonly error?: string;
}

/** Bytes the client sends first on a connection to the target server, saying what it wants. */
export const MODE_SINK = 0x53; // 'S': 8-byte length, 1 verify byte, then data; reply count + SHA-256
export const MODE_ECHO = 0x45; // 'E': every byte comes back
export const MODE_SLOW = 0x4c; // 'L': read slowly, never reply

export const SINK_HEADER_BYTES = 1 + 8 + 1;
export const SINK_REPLY_BYTES = 8 + 32;
