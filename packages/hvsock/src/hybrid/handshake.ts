import type { Socket } from 'node:net';
import { err, FlowError, fromNodeError, ok } from '@flow/core';
import type { Handshake } from '../unix/dial';
import { printableBytes } from '../unix/printable-bytes';
import { AckLineReader, MAX_ACK_LINE_BYTES, type AckLineStep } from './ack-line';
import { encodeConnectLine } from './connect-line';

/** What the handshake needs to know besides the socket. */
export interface HybridHandshakeSpec<T> {
  readonly path: string;
  readonly port: number;
  /** Wait for `OK <n>\n` (`required`) or not (`none`, Firecracker before v0.19). */
  readonly ack: 'required' | 'none';
  /** Turns the socket into the flow once the handshake is done; `ackPort` from the reply. */
  readonly wrap: (socket: Socket, ackPort: number | undefined) => T;
}

/**
 * The host side of the hybrid-vsock handshake: `CONNECT <port>\n` in one write, then one line
 * `OK <n>\n`. Bytes that arrive after the newline are the guest's first data and stay in the
 * stream, in order, for the flow.
 */
export function hybridHandshake<T>(spec: HybridHandshakeSpec<T>): Handshake<T> {
  const { path, port } = spec;
  const reader = new AckLineReader();
  let detach: (() => void) | undefined;
  const stop = (): void => {
    detach?.();
    detach = undefined;
  };
  const vmmClosed = (cause?: unknown): FlowError =>
    new FlowError(
      'refused',
      `the VMM at ${path} closed the connection before acknowledging CONNECT ${port}: no guest listener on port ${port}, or the guest refused`,
      { code: 'ECONNREFUSED', syscall: 'connect', cause },
    );
  return {
    start(socket, finish) {
      socket.write(encodeConnectLine(port));
      if (spec.ack === 'none') {
        finish(ok(spec.wrap(socket, undefined)));
        return;
      }
      const onData = (chunk: Buffer): void => {
        const step = reader.push(chunk);
        if (step.status === 'incomplete') return;
        stop();
        if (step.status !== 'ok') {
          finish(err(badReply(step, path, port)));
          return;
        }
        // Bytes after the newline go back to the front of the stream. Paused first, so that no
        // later chunk is emitted before the flow listens; resume() then delivers them in order.
        socket.pause();
        if (step.rest.length > 0) socket.unshift(step.rest);
        const flow = spec.wrap(socket, step.ackPort);
        socket.resume();
        finish(ok(flow));
      };
      const onEnd = (): void => {
        stop();
        const partial = reader.received;
        if (partial.length === 0) {
          finish(err(vmmClosed()));
        } else {
          finish(
            err(
              new FlowError(
                'protocol',
                `the VMM at ${path} closed the connection in the middle of its reply to CONNECT ${port}: got ${printableBytes(partial)}`,
              ),
            ),
          );
        }
      };
      socket.on('data', onData);
      socket.once('end', onEnd);
      detach = () => {
        socket.off('data', onData);
        socket.off('end', onEnd);
      };
    },
    socketError(error) {
      const base = fromNodeError(error);
      // The VMM drops the stream when nobody listens on the guest port (Firecracker sends no
      // message): while we write our request that is EPIPE, after it ECONNRESET.
      if (base.code === 'ECONNRESET' || base.code === 'EPIPE') return vmmClosed(error);
      return new FlowError(base.kind, `hybrid-vsock handshake with ${path} for port ${port} failed: ${base.message}`, {
        code: base.code,
        syscall: base.syscall,
        errno: base.errno,
        cause: error,
      });
    },
    stop,
  };
}

function badReply(step: Exclude<AckLineStep, { status: 'incomplete' } | { status: 'ok' }>, path: string, port: number): FlowError {
  const got = printableBytes(step.line);
  if (step.status === 'too-long') {
    return new FlowError(
      'protocol',
      `the VMM at ${path} answered CONNECT ${port} with ${MAX_ACK_LINE_BYTES} bytes and no newline (${got}); expected "OK <port>\\n"`,
    );
  }
  return new FlowError('protocol', `the VMM at ${path} answered CONNECT ${port} with ${got} instead of "OK <port>\\n"`);
}
