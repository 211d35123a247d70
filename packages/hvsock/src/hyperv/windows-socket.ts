import { EAGAIN, EBADF, type NonBlockingSocket } from '../socket';
import { SD_SEND, type HypervBinding, type HypervSocketHandle } from './binding';
import { describeWindowsError, windowsError } from './wsa-errors';

const EPIPE = 32;
const EIO = 5;

export interface WindowsSocketOptions {
  /** The receive buffer and the largest send, in bytes. */
  readonly messageSize: number;
  readonly label: string;
}

/**
 * A connected Hyper-V socket as a `NonBlockingSocket`, so that the buffered flow drives it as it
 * drives AF_VSOCK. Windows offers completions, not readiness, so readiness is emulated:
 *
 * - Reading: at most one receive is outstanding, into an internal buffer of `messageSize`
 *   bytes; the socket is readable while that buffer holds data, or once the stream ended or
 *   failed. `read` copies out; -EAGAIN when empty (and a receive is started if none is).
 *   A receive is only started while the owner reads or watches readable, and only into an empty
 *   buffer, so a paused flow leaves the data with Windows and the peer feels back-pressure.
 * - Writing: `writev` copies up to `messageSize` bytes into the internal send buffer and starts
 *   one send (returns the bytes taken); while that send is in flight it returns -EAGAIN. The
 *   socket is writable when no send is in flight. A send error is sticky.
 * - `shutdown('write')` waits for the send in flight (it returns 0 at once and shuts down after
 *   it); `shutdown('read')` is local: buffered input is dropped and reads give 0, but nothing is
 *   sent, since Windows answers data that arrives after SD_RECEIVE with a reset.
 * - Readiness is level-triggered and always delivered on a later turn of the event loop
 *   (`setImmediate`), never from inside a call. After `close` nothing reaches the owner.
 *
 * Errors come back as negative Linux errno numbers (-104 for WSAECONNRESET); `describeErrno`
 * gives the Windows name behind the most recent one.
 */
export class WindowsSocket implements NonBlockingSocket {
  readonly label: string;
  private readonly messageSize: number;

  private readonly recvBuffer: Uint8Array;
  private recvStart = 0;
  private recvEnd = 0;
  private recvInFlight = false;
  /** Once set, the read side is over: 0 after end of stream, -errno after an error. */
  private readEnd: number | undefined;
  private readShut = false;

  private readonly sendBuffer: Uint8Array;
  private sendOffset = 0;
  private sendLength = 0;
  private sendInFlight = false;
  private sendError: number | undefined;
  private writeShut = false;
  private shutdownAfterSend = false;

  private wantRead = false;
  private wantWrite = false;
  private callback: ((status: number, readable: boolean, writable: boolean) => void) | undefined;
  private notifyScheduled = false;
  private closed = false;
  /** The Windows error behind each errno this socket returned, for messages. */
  private readonly windowsErrors = new Map<number, number>();

  constructor(
    private readonly binding: HypervBinding,
    private readonly handle: HypervSocketHandle,
    options: WindowsSocketOptions,
  ) {
    const { messageSize } = options;
    if (!(Number.isInteger(messageSize) && messageSize >= 1 && messageSize <= 0x7fffffff)) {
      throw new RangeError(`messageSize must be an integer from 1 to 2147483647, got ${String(messageSize)}`);
    }
    this.messageSize = messageSize;
    this.label = options.label;
    this.recvBuffer = new Uint8Array(messageSize);
    this.sendBuffer = new Uint8Array(messageSize);
  }

  read(buffer: Uint8Array): number {
    if (this.closed) return -EBADF;
    if (buffer.length === 0) throw new RangeError('read needs a buffer of at least one byte');
    if (this.readShut) return 0;
    if (this.recvStart < this.recvEnd) {
      const n = Math.min(buffer.length, this.recvEnd - this.recvStart);
      buffer.set(this.recvBuffer.subarray(this.recvStart, this.recvStart + n));
      this.recvStart += n;
      if (this.recvStart === this.recvEnd) {
        this.recvStart = this.recvEnd = 0;
        this.startRecv();
      } else {
        // Level-triggered: still readable.
        this.scheduleNotify();
      }
      return n;
    }
    if (this.readEnd === undefined) this.startRecv();
    // A receive that could not even start has ended the read side already.
    return this.readEnd ?? -EAGAIN;
  }

  writev(chunks: readonly Uint8Array[]): number {
    if (this.closed) return -EBADF;
    if (this.writeShut) return -EPIPE;
    if (this.sendError !== undefined) return this.sendError;
    if (this.sendInFlight) return -EAGAIN;
    let n = 0;
    for (const chunk of chunks) {
      const take = Math.min(chunk.length, this.messageSize - n);
      this.sendBuffer.set(take === chunk.length ? chunk : chunk.subarray(0, take), n);
      n += take;
      if (n === this.messageSize) break;
    }
    if (n === 0) return 0;
    this.sendOffset = 0;
    this.sendLength = n;
    const started = this.startSend();
    return started < 0 ? started : n;
  }

  shutdown(how: 'read' | 'write'): number {
    if (this.closed) return -EBADF;
    if (how === 'read') {
      this.readShut = true;
      this.recvStart = this.recvEnd = 0;
      this.scheduleNotify();
      return 0;
    }
    if (this.writeShut) return 0;
    this.writeShut = true;
    if (this.sendError !== undefined) return this.sendError;
    if (this.sendInFlight) {
      this.shutdownAfterSend = true;
      return 0;
    }
    return this.shutdownSend();
  }

  watch(readable: boolean, writable: boolean): void {
    if (this.closed) return;
    this.wantRead = readable;
    this.wantWrite = writable;
    if (readable) this.startRecv();
    this.scheduleNotify();
  }

  onReady(callback: (status: number, readable: boolean, writable: boolean) => void): void {
    this.callback = callback;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.callback = undefined;
    this.wantRead = this.wantWrite = false;
    // Pending operations end with WSA_OPERATION_ABORTED; their callbacks see `closed` and stop.
    this.binding.hvClose(this.handle);
  }

  /** The Windows error behind an errno this socket returned: `WSAECONNRESET 10054`, or undefined. */
  describeErrno(errno: number): string | undefined {
    const code = this.windowsErrors.get(Math.abs(errno));
    return code === undefined ? undefined : describeWindowsError(windowsError(code));
  }

  // ---- receiving ----

  private startRecv(): void {
    if (this.closed || this.recvInFlight || this.readShut || this.readEnd !== undefined || this.recvStart < this.recvEnd) return;
    this.recvInFlight = true;
    const r = this.binding.hvRecv(this.handle, this.recvBuffer, (result) => this.onRecv(result));
    if (r < 0) {
      this.recvInFlight = false;
      this.readEnd = this.errnoOf(r);
      this.scheduleNotify();
    }
  }

  private onRecv(result: number): void {
    if (this.closed) return;
    this.recvInFlight = false;
    if (this.readShut) return;
    if (result > 0) {
      this.recvStart = 0;
      this.recvEnd = Math.min(result, this.recvBuffer.length);
    } else {
      this.readEnd = result === 0 ? 0 : this.errnoOf(result);
    }
    this.scheduleNotify();
  }

  // ---- sending ----

  /** Sends the rest of the send buffer; 0 once started, or the -errno it failed with. */
  private startSend(): number {
    this.sendInFlight = true;
    const r = this.binding.hvSend(this.handle, [this.sendBuffer.subarray(this.sendOffset, this.sendLength)], (result) => this.onSend(result));
    if (r < 0) {
      this.sendInFlight = false;
      this.sendError = this.errnoOf(r);
      return this.sendError;
    }
    return 0;
  }

  private onSend(result: number): void {
    if (this.closed) return;
    if (result < 0 || (result === 0 && this.sendOffset < this.sendLength)) {
      // A send that took nothing of a non-empty buffer would loop forever: treat it as broken.
      this.sendInFlight = false;
      this.sendError = result < 0 ? this.errnoOf(result) : -EIO;
      this.scheduleNotify();
      return;
    }
    this.sendOffset += result;
    if (this.sendOffset < this.sendLength) {
      // A partial send: the rest goes before the socket is writable again, so order is kept.
      if (this.startSend() < 0) this.scheduleNotify();
      return;
    }
    this.sendInFlight = false;
    if (this.shutdownAfterSend) {
      this.shutdownAfterSend = false;
      const r = this.shutdownSend();
      if (r < 0) this.sendError = r;
    }
    this.scheduleNotify();
  }

  private shutdownSend(): number {
    const r = this.binding.hvShutdown(this.handle, SD_SEND);
    return r < 0 ? this.errnoOf(r) : 0;
  }

  // ---- readiness ----

  private readableNow(): boolean {
    return this.readShut || this.recvStart < this.recvEnd || this.readEnd !== undefined;
  }

  private writableNow(): boolean {
    return !this.sendInFlight;
  }

  private scheduleNotify(): void {
    if (this.notifyScheduled || this.closed) return;
    if (!((this.wantRead && this.readableNow()) || (this.wantWrite && this.writableNow()))) return;
    this.notifyScheduled = true;
    setImmediate(() => this.deliver());
  }

  private deliver(): void {
    this.notifyScheduled = false;
    if (this.closed) return;
    const readable = this.wantRead && this.readableNow();
    const writable = this.wantWrite && this.writableNow();
    if (!readable && !writable) return;
    this.callback?.(0, readable, writable);
    // Level-triggered: told again while it holds (the owner may have stopped early).
    this.scheduleNotify();
  }

  /** A negative Windows error as a negative errno, remembering the Windows code for messages. */
  private errnoOf(windowsCode: number): number {
    const info = windowsError(windowsCode);
    // EAGAIN from a finished operation would read as "try later" and stall the flow for good.
    const errno = info.errno === EAGAIN ? EIO : info.errno;
    this.windowsErrors.set(errno, info.windowsCode);
    return -errno;
  }
}
