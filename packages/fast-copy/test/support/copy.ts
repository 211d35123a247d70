import type { Socket } from 'node:net';
import { lendSocket } from '../../src/lend-socket';
import { startCopy, type FastCopy, type FastCopyOptions, type FastCopyResult } from '../../src/start-copy';

const loans = new WeakMap<Socket, () => void>();

/** Lends a socket, failing the test if it cannot be lent or Node had read anything already. */
export function lend(socket: Socket): number {
  const lent = lendSocket(socket);
  if (!lent.ok) throw lent.error;
  expect(lent.value.buffered).toEqual([]);
  loans.set(socket, lent.value.giveBack);
  return lent.value.fd;
}

/** Gives a socket lent by `lend` back to Node. */
export function giveBack(socket: Socket): void {
  loans.get(socket)?.();
}

/** startCopy that fails the test on an error result. */
export function start(fromFd: number, toFd: number, options?: FastCopyOptions, onDone?: (r: FastCopyResult) => void): FastCopy {
  const started = startCopy(fromFd, toFd, options, onDone);
  if (!started.ok) throw started.error;
  return started.value;
}

/**
 * One direction of a proxy as the integration will run it: copy `from` to `to` in the engine,
 * and at EOF shut down `to`'s write side through Node (the engine never does the half-close).
 */
export async function pipeThrough(from: Socket, to: Socket, options?: FastCopyOptions): Promise<FastCopyResult> {
  const result = await start(lend(from), lend(to), options).done;
  if (result.outcome === 'eof') to.end();
  return result;
}
