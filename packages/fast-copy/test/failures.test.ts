// Errors are never passed off as a clean EOF: resets on either side, a reset after a FIN, the
// idle timeout, and descriptors the engine cannot use.
import { closeSync, constants, openSync } from 'node:fs';
import { collect, connection, destroyAll, nextLoopTurn } from './support/sockets';
import { lend, start } from './support/copy';
import { startCopy, type CopyMode } from '../src/start-copy';

afterEach(destroyAll);

const closed = (socket: import('node:net').Socket): Promise<void> => new Promise((resolve) => socket.once('close', () => resolve()));

describe.each<CopyMode>(['readwrite', 'splice'])('%s mode', (mode) => {
  test('the source peer aborts: outcome error ECONNRESET on the read side, not eof', async () => {
    const a = await connection('tcp');
    const b = await connection('tcp');
    b.far.resume();
    const copy = start(lend(a.near), lend(b.near), { mode });
    a.far.write(Buffer.alloc(1000, 1));
    a.far.resetAndDestroy();
    const result = await copy.done;
    expect(result.outcome).toBe('error');
    expect(result.failedSide).toBe('read');
    expect(result.error).toMatchObject({ kind: 'reset', code: 'ECONNRESET' });
  });

  test('a reset that follows the FIN is still an error (read 0 with SO_ERROR set), not eof', async () => {
    const a = await connection('tcp');
    const b = await connection('tcp');
    b.far.resume();
    const fromFd = lend(a.near);
    // The FIN goes out ('finish'), then the RST: both are in a's socket before the copy starts.
    a.far.end(Buffer.from('last words'));
    await new Promise((resolve) => a.far.once('finish', resolve));
    const gone = closed(a.far);
    a.far.resetAndDestroy();
    await gone;
    const result = await start(fromFd, lend(b.near), { mode }).done;
    expect(result.outcome).toBe('error');
    expect(result.bytes).toBe('last words'.length);
    expect(result.failedSide).toBe('read');
    // Linux reports a reset in CLOSE_WAIT as EPIPE; either way the kind is reset.
    expect(['EPIPE', 'ECONNRESET']).toContain(result.error?.code);
    expect(result.error?.kind).toBe('reset');
  });

  test('the destination peer aborts: outcome error on the write side, with the bytes it could not take', async () => {
    const a = await connection('tcp');
    const b = await connection('tcp');
    const gone = closed(b.far);
    b.far.resetAndDestroy();
    await gone;
    const copy = start(lend(a.near), lend(b.near), { mode });
    a.far.write(Buffer.alloc(5000, 2));
    const result = await copy.done;
    expect(result.outcome).toBe('error');
    expect(result.failedSide).toBe('write');
    expect(['EPIPE', 'ECONNRESET']).toContain(result.error?.code);
    expect(result.error?.kind).toBe('reset');
    // Nothing accepted is lost: what was read and not written comes back.
    expect(result.bytes + result.unwritten.length).toBe(5000);
    expect(result.unwritten.length).toBeGreaterThan(0);
  });

  test('no progress for idleTimeoutMs ends the copy with a timeout error', async () => {
    const a = await connection('unix');
    const b = await connection('unix');
    const result = await start(lend(a.near), lend(b.near), { mode, idleTimeoutMs: 50 }).done;
    expect(result).toMatchObject({ outcome: 'error', bytes: 0, reads: 0, writes: 0 });
    expect(result.error).toMatchObject({ kind: 'timeout' });
    expect(result.failedSide).toBeUndefined();
  });
});

test('progress keeps the idle timeout away', async () => {
  const a = await connection('unix');
  const b = await connection('unix');
  const atB = collect(b.far);
  const copy = start(lend(a.near), lend(b.near), { idleTimeoutMs: 200 });
  // Ten writes 50 ms apart: 500 ms in all, never 200 ms without a byte.
  for (let i = 0; i < 10; i++) {
    a.far.write(Buffer.from([i]));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  a.far.end();
  expect(await copy.done).toMatchObject({ outcome: 'eof', bytes: 10 });
  b.near.end();
  expect(await atB).toEqual(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
});

test('a closed descriptor is refused with EBADF, a blocking one with EINVAL, one epoll cannot watch with EPERM', async () => {
  const c = await connection('unix');
  const fd = lend(c.near);
  const blockingFd = openSync('/dev/null', 'r');
  const nonBlocking = openSync('/dev/null', constants.O_RDONLY | constants.O_NONBLOCK);
  // Used at once, before anything else can reuse the number.
  const closedFd = openSync('/dev/null', 'r');
  closeSync(closedFd);
  try {
    const badf = startCopy(closedFd, fd);
    expect(!badf.ok && badf.error).toMatchObject({ kind: 'closed', code: 'EBADF' });
    const inval = startCopy(fd, blockingFd);
    expect(!inval.ok && inval.error).toMatchObject({ code: 'EINVAL' });
    const perm = startCopy(nonBlocking, fd);
    expect(!perm.ok && perm.error).toMatchObject({ kind: 'permission', code: 'EPERM' });
  } finally {
    closeSync(blockingFd);
    closeSync(nonBlocking);
  }
  await nextLoopTurn();
});

test('bad arguments are programmer errors and throw', () => {
  expect(() => startCopy(-1, 1)).toThrow(RangeError);
  expect(() => startCopy(1, 2, { bufferSize: 10 })).toThrow(RangeError);
  expect(() => startCopy(1, 2, { idleTimeoutMs: 0 })).toThrow(RangeError);
  expect(() => startCopy(1, 2, { mode: 'zero-copy' as never })).toThrow(TypeError);
});
