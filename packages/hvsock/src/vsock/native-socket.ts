import type { PollHandle, VsockBinding } from '../native/binding';
import { EBADF, type NonBlockingSocket } from '../socket';

const SHUT_RD = 0;
const SHUT_WR = 1;

/**
 * An AF_VSOCK descriptor driven by the addon: non-blocking system calls, and readiness from a
 * libuv poll handle on the main thread. The descriptor belongs to this object from now on.
 */
export class NativeSocket implements NonBlockingSocket {
  private poll: PollHandle | undefined;
  private callback: ((status: number, readable: boolean, writable: boolean) => void) | undefined;
  private fd: number;

  constructor(
    private readonly binding: VsockBinding,
    fd: number,
    readonly label: string,
  ) {
    this.fd = fd;
    // One poll handle per descriptor for its whole life: libuv allows no second one.
    this.poll = binding.pollOpen(fd, (status, readable, writable) => this.callback?.(status, readable, writable));
  }

  get descriptor(): number {
    return this.fd;
  }

  read(buffer: Uint8Array): number {
    return this.fd < 0 ? -EBADF : this.binding.read(this.fd, buffer);
  }

  writev(chunks: readonly Uint8Array[]): number {
    return this.fd < 0 ? -EBADF : this.binding.writev(this.fd, chunks);
  }

  shutdown(how: 'read' | 'write'): number {
    return this.fd < 0 ? -EBADF : this.binding.shutdown(this.fd, how === 'read' ? SHUT_RD : SHUT_WR);
  }

  watch(readable: boolean, writable: boolean): void {
    if (this.poll) this.binding.pollWatch(this.poll, readable, writable);
  }

  onReady(callback: (status: number, readable: boolean, writable: boolean) => void): void {
    this.callback = callback;
  }

  close(): void {
    if (this.fd < 0) return;
    // The poll handle goes first: it must never outlive its descriptor.
    if (this.poll) this.binding.pollClose(this.poll);
    this.poll = undefined;
    this.callback = undefined;
    this.binding.close(this.fd);
    this.fd = -1;
  }
}
