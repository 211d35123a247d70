import { Duplex } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';

/**
 * A byte stream over a worker MessagePort: what one side writes, the other reads. It carries a
 * simulated domain's xenstore connection into the worker that runs the domain. An empty message
 * is the end of the stream.
 */
export function portDuplex(port: MessagePort): Duplex {
  const duplex = new Duplex({
    allowHalfOpen: true,
    read() {
      // Messages are pushed as they come; nothing to pull.
    },
    write(chunk: Buffer, _encoding, callback) {
      port.postMessage(new Uint8Array(chunk));
      callback();
    },
    final(callback) {
      port.postMessage(new Uint8Array(0));
      callback();
    },
    destroy(error, callback) {
      port.close();
      callback(error);
    },
  });
  port.on('message', (message: unknown) => {
    if (!(message instanceof Uint8Array)) return; // not ours: ignored
    if (message.length === 0) duplex.push(null);
    else duplex.push(Buffer.from(message.buffer, message.byteOffset, message.length));
  });
  port.on('close', () => {
    if (!duplex.destroyed) duplex.push(null);
  });
  return duplex;
}
