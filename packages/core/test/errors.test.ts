import { connect as netConnect } from 'node:net';
import { connect, createServer, type AddressInfo } from 'node:net';
import {
  abortedError,
  closedError,
  FlowError,
  flowError,
  formatError,
  fromNodeError,
  isFlowError,
  timeoutError,
  type FlowErrorKind,
} from '../src';

function errno(code: string, syscall?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall ?? 'op'} ${code}`), { code, syscall });
}

describe('fromNodeError', () => {
  const cases: Array<[string, FlowErrorKind]> = [
    ['ECONNREFUSED', 'refused'],
    ['ECONNRESET', 'reset'],
    ['ECONNABORTED', 'reset'],
    ['ETIMEDOUT', 'timeout'],
    ['EPIPE', 'closed'],
    ['ENOTCONN', 'closed'],
    ['ERR_STREAM_DESTROYED', 'closed'],
    ['ERR_STREAM_WRITE_AFTER_END', 'closed'],
    ['ERR_STREAM_PREMATURE_CLOSE', 'reset'],
    ['ENOENT', 'not-found'],
    ['ENOTFOUND', 'not-found'],
    ['EADDRINUSE', 'in-use'],
    ['EACCES', 'permission'],
    ['EPERM', 'permission'],
    ['EHOSTUNREACH', 'unreachable'],
    ['ENETUNREACH', 'unreachable'],
    ['EADDRNOTAVAIL', 'unreachable'],
    ['EMFILE', 'limit'],
    ['EOPNOTSUPP', 'unsupported'],
    ['ABORT_ERR', 'aborted'],
    ['EIO', 'io'],
    ['ESOMETHINGNEW', 'io'],
  ];
  test.each(cases)('maps errno code %s to kind %s and keeps code, syscall and cause', (code, kind) => {
    const cause = errno(code, 'connect');
    const e = fromNodeError(cause);
    expect(e).toBeInstanceOf(FlowError);
    expect(e.kind).toBe(kind);
    expect(e.code).toBe(code);
    expect(e.syscall).toBe('connect');
    expect(e.cause).toBe(cause);
  });

  test('a context is prefixed to the message', () => {
    const e = fromNodeError(errno('ECONNRESET', 'read'), 'tcp 127.0.0.1:1');
    expect(e.message).toBe('tcp 127.0.0.1:1: read ECONNRESET');
  });

  test('the errno number of a real socket error is kept, positive as in C', (done) => {
    // A real failed connect: Node reports errno as a negative number.
    const socket = netConnect({ path: '/nonexistent/flow-errno-test.sock' });
    socket.on('error', (cause: NodeJS.ErrnoException) => {
      const e = fromNodeError(cause);
      expect(e.code).toBe('ENOENT');
      expect(e.errno).toBe(2);
      expect(e.withBytesAccepted(1).errno).toBe(2);
      done();
    });
  });

  test('an AbortError without a code maps to aborted', () => {
    const cause = new DOMException('This operation was aborted', 'AbortError');
    expect(fromNodeError(cause).kind).toBe('aborted');
  });

  test('a FlowError passes through unchanged', () => {
    const original = closedError();
    expect(fromNodeError(original, 'context')).toBe(original);
  });

  test('values that are not errors still give an io error with a readable message', () => {
    expect(fromNodeError('plain string').message).toBe('plain string');
    expect(fromNodeError(undefined).kind).toBe('io');
    expect(fromNodeError(null).message).toBe('null');
    expect(fromNodeError({ code: 42 }).code).toBeUndefined();
  });

  test('a real ECONNREFUSED from connecting to a closed loopback port maps to refused', async () => {
    // Find a free port by binding and closing, then connect to it.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    const error = await new Promise<unknown>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.on('error', resolve);
      s.on('connect', () => {
        s.destroy();
        resolve(undefined);
      });
    });
    const e = fromNodeError(error);
    expect(e.kind).toBe('refused');
    expect(e.code).toBe('ECONNREFUSED');
    expect(e.syscall).toBe('connect');
  });
});

describe('constructors', () => {
  test('closedError is mirage\'s Closed with the bytes accepted', () => {
    const e = closedError(3);
    expect(e.kind).toBe('closed');
    expect(e.message).toBe('attempted to write to a closed flow');
    expect(e.bytesAccepted).toBe(3);
    expect(isFlowError(e)).toBe(true);
    expect(isFlowError(new Error('x'))).toBe(false);
  });

  test('abortedError keeps a reason and hides the default AbortSignal message', () => {
    const c = new AbortController();
    c.abort();
    expect(abortedError(c.signal.reason).message).toBe('aborted');
    expect(abortedError('user pressed ^C').message).toBe('aborted: user pressed ^C');
    expect(abortedError(new Error('shutting down')).message).toBe('aborted: shutting down');
    const flowReason = timeoutError('read', 5);
    expect(abortedError(flowReason)).toBe(flowReason);
  });

  test('an AbortSignal.timeout reason becomes a timeout error, not a plain abort', async () => {
    const signal = AbortSignal.timeout(1);
    await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    const e = abortedError(signal.reason);
    expect(e.kind).toBe('timeout');
  });

  test('withBytesAccepted copies every field but the count', () => {
    const cause = new Error('x');
    const e = flowError('reset', 'gone', { code: 'ECONNRESET', syscall: 'write', cause });
    const c = e.withBytesAccepted(7);
    expect([c.kind, c.message, c.code, c.syscall, c.cause, c.bytesAccepted]).toEqual([
      'reset',
      'gone',
      'ECONNRESET',
      'write',
      cause,
      7,
    ]);
    expect(e.bytesAccepted).toBeUndefined();
  });
});

describe('formatError', () => {
  test('prints the kind and message of a closed error as mirage\'s pp_write_error', () => {
    expect(formatError(closedError())).toBe('closed: attempted to write to a closed flow');
  });

  test('adds the code and syscall when the message does not already say them', () => {
    const e = new FlowError('reset', 'connection lost', { code: 'ECONNRESET', syscall: 'read' });
    expect(formatError(e)).toBe('reset: connection lost (ECONNRESET, syscall read)');
    expect(formatError(fromNodeError(errno('ECONNRESET', 'read')))).toBe('reset: read ECONNRESET');
  });

  test('adds the bytes accepted before a failed write', () => {
    expect(formatError(closedError(3))).toBe('closed: attempted to write to a closed flow (3 bytes accepted before the failure)');
  });

  test('a timeout error names what timed out and after how long', () => {
    expect(formatError(timeoutError('close', 250))).toBe('timeout: close timed out after 250 ms (ETIMEDOUT)');
  });

  test('says the kind once when the message already starts with it', () => {
    expect(formatError(abortedError('the proxy stopped'))).toBe('aborted: the proxy stopped');
    expect(formatError(abortedError())).toBe('aborted');
    expect(formatError(new FlowError('reset', 'reset by the peer'))).toBe('reset: reset by the peer');
  });
});

describe('formatError names the syscall unless the message already does', () => {
  test('a message that merely contains the syscall name inside a longer word still gets it', () => {
    const e = new FlowError('timeout', 'connection attempt to 127.0.0.1:1 timed out', { syscall: 'connect' });
    expect(formatError(e)).toContain('syscall connect');
  });
  test('a message that names the syscall as a word does not repeat it', () => {
    const e = new FlowError('refused', 'connect ECONNREFUSED 127.0.0.1:1', { syscall: 'connect', code: 'ECONNREFUSED' });
    expect(formatError(e)).toBe('refused: connect ECONNREFUSED 127.0.0.1:1');
  });
});
