import type { Socket } from 'node:net';
import { fromDuplex, type Flow, type FlowCapabilities } from '@flow/core';
import { unixSocketErrorMapper } from './socket-errors';

/** Bytes buffered for readers before the socket is paused, unless the caller says otherwise. */
export const DEFAULT_UNIX_BUFFER_SIZE = 256 * 1024;

export interface WrapUnixSocketOptions {
  /** For logs, e.g. `hybrid-vsock /run/fc.vsock port 52`. */
  readonly label: string;
  readonly capabilities: FlowCapabilities;
  /** Read buffer before the socket is paused (the flow's high-water mark). */
  readonly bufferSize?: number;
  /** Who is at the other end, for error messages: "the VMM", "hyperkit". */
  readonly peer: string;
}

/**
 * A connected Unix socket as a flow. The socket must have been created with `allowHalfOpen`, so
 * that the peer's EOF does not end our write side; `shutdownWrite` is a real `shutdown(SHUT_WR)`.
 */
export function wrapUnixSocket(socket: Socket, options: WrapUnixSocketOptions): Flow {
  return fromDuplex(socket, {
    label: options.label,
    capabilities: options.capabilities,
    highWaterMark: options.bufferSize ?? DEFAULT_UNIX_BUFFER_SIZE,
    mapError: unixSocketErrorMapper(socket, options.peer),
  });
}

/** Throws for a bufferSize that is not a positive integer (a programmer error). */
export function checkBufferSize(bufferSize: number | undefined): void {
  if (bufferSize !== undefined && !(Number.isInteger(bufferSize) && bufferSize > 0)) {
    throw new RangeError(`bufferSize must be a positive integer, got ${String(bufferSize)}`);
  }
}

/** Throws for a timeout that is not a number >= 0 (a programmer error); Infinity means no deadline. */
export function checkTimeout(name: string, ms: number | undefined): void {
  if (ms !== undefined && !(typeof ms === 'number' && ms >= 0)) {
    throw new RangeError(`${name} must be a number >= 0 (Infinity for no deadline), got ${String(ms)}`);
  }
}
