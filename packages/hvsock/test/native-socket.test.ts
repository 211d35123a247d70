// The AF_VSOCK addon's system calls on this machine, without ever calling connect() (a vsock
// connect would leave this VM guest for its real host; see test/support/connect-guard.ts). What
// the kernel answers was observed on a Debian 12 guest (kernel 6.18, spec §3.2) and is asserted
// exactly. These tests fail, not skip, when the addon is missing.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';
import type { VsockBinding } from '../src/native/binding';
import { loadVsockBinding } from '../src/native/load';
import { locateVsockAddon } from '../src/native/locate';
import { runCProgram } from './support/c-program';

/** Linux's O_CLOEXEC (not in Node's fs.constants), as /proc/self/fdinfo shows it. */
const O_CLOEXEC = 0o2000000;
const { EACCES, EADDRINUSE, EADDRNOTAVAIL, EAGAIN, EBADF, ENOENT, ENOTCONN, ENOTTY } = osConstants.errno;

function vsock(): VsockBinding {
  const loaded = loadVsockBinding();
  if (!loaded.ok) throw loaded.error; // says why the native part is missing
  return loaded.value;
}

const open = new Set<number>();
/** A fresh AF_VSOCK socket, closed after the test. */
function socket(): number {
  const fd = vsock().socket();
  if (fd < 0) throw new Error(`socket(AF_VSOCK) gave ${fd}: this kernel has no usable AF_VSOCK`);
  open.add(fd);
  return fd;
}
afterEach(() => {
  for (const fd of open) vsock().close(fd);
  open.clear();
});

/** A listener on (any CID, an ephemeral port): its fd and port. */
function listener(): { fd: number; port: number } {
  const b = vsock();
  const fd = socket();
  expect(b.bind(fd, b.constants.VMADDR_CID_ANY, b.constants.VMADDR_PORT_ANY, 0)).toBe(0);
  expect(b.listen(fd, 16)).toBe(0);
  const address = b.localAddress(fd);
  if (typeof address === 'number') throw new Error(`getsockname gave ${address}`);
  return { fd, port: address[1] };
}

describe('the local CID', () => {
  const hasDevVsock = fs.existsSync('/dev/vsock');
  const LOCAL_CID_CHECK = `
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>
int main(void) {
  unsigned int cid = 0;
  int dev = open("/dev/vsock", O_RDONLY);
  int rc = dev < 0 ? -1 : ioctl(dev, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid);
  int dev_errno = rc < 0 ? errno : 0;
  int s = socket(AF_VSOCK, SOCK_STREAM, 0);
  int on_socket = ioctl(s, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0 ? errno : 0;
  if (rc == 0) { cid = 0; ioctl(dev, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid); }
  printf("{\\"cid\\": %u, \\"devErrno\\": %d, \\"socketErrno\\": %d}\\n", cid, dev_errno, on_socket);
  return 0;
}
`;

  interface LocalCidCheck {
    readonly cid: number;
    readonly devErrno: number;
    readonly socketErrno: number;
  }
  let checked: LocalCidCheck | undefined;
  const check = (): LocalCidCheck => (checked ??= JSON.parse(runCProgram(LOCAL_CID_CHECK)) as LocalCidCheck);

  if (hasDevVsock) {
    test('localCid() is what IOCTL_VM_SOCKETS_GET_LOCAL_CID on /dev/vsock gives (an independent C check), a u32 >= 3 on a guest', () => {
      const expected = check();
      expect(expected.devErrno).toBe(0);
      const cid = vsock().localCid();
      expect(cid).toBe(expected.cid);
      expect(Number.isInteger(cid) && cid >= 3 && cid < 0xffffffff).toBe(true);
    });

    test('the same ioctl on a socket fd gives ENOTTY, which is why the addon asks /dev/vsock (mirage/ocaml-hvsock@6b90ba4a lib/vsock_stubs.c asks the socket)', () => {
      expect(check().socketErrno).toBe(ENOTTY);
    });
  } else {
    test('this machine has no /dev/vsock (no vsock transport): localCid() reports -ENOENT instead of a CID', () => {
      expect(vsock().localCid()).toBe(-ENOENT);
    });
  }
});

describe('sockets, without connect()', () => {
  test('socket() is non-blocking and close-on-exec', () => {
    const fd = socket();
    const flags = /flags:\s+([0-7]+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    const value = parseInt(flags ?? '0', 8);
    expect(value & fs.constants.O_NONBLOCK).toBe(fs.constants.O_NONBLOCK);
    expect(value & O_CLOEXEC).toBe(O_CLOEXEC);
  });

  test('bind(any CID, VMADDR_PORT_ANY) + listen gives an ephemeral port, read back with getsockname', () => {
    const b = vsock();
    const { fd, port } = listener();
    expect(port).toBeGreaterThanOrEqual(1024);
    expect(port).toBeLessThan(b.constants.VMADDR_PORT_ANY);
    expect(b.localAddress(fd)).toEqual([b.constants.VMADDR_CID_ANY, port]);
  });

  test('a second bind of that port gives -EADDRINUSE', () => {
    const b = vsock();
    const { port } = listener();
    expect(b.bind(socket(), b.constants.VMADDR_CID_ANY, port, 0)).toBe(-EADDRINUSE);
  });

  test('bind to CID 1 (local) or 2 (host) gives -EADDRNOTAVAIL on a guest without vsock_loopback', () => {
    const b = vsock();
    expect(b.bind(socket(), b.constants.VMADDR_CID_LOCAL, b.constants.VMADDR_PORT_ANY, 0)).toBe(-EADDRNOTAVAIL);
    expect(b.bind(socket(), b.constants.VMADDR_CID_HOST, b.constants.VMADDR_PORT_ANY, 0)).toBe(-EADDRNOTAVAIL);
  });

  test('bind to the guest\'s own CID works and getsockname shows it', () => {
    const b = vsock();
    const cid = b.localCid();
    if (cid < 0) throw new Error(`localCid() gave ${cid}`);
    const fd = socket();
    expect(b.bind(fd, cid, b.constants.VMADDR_PORT_ANY, 0)).toBe(0);
    const address = b.localAddress(fd);
    expect(Array.isArray(address) && address[0]).toBe(cid);
  });

  test('accept on an idle listener gives -EAGAIN at once', () => {
    expect(vsock().accept(listener().fd)).toBe(-EAGAIN);
  });

  test('shutdown, writev, read and getpeername on an unconnected socket give -ENOTCONN', () => {
    const b = vsock();
    const fd = socket();
    expect(b.shutdown(fd, 1)).toBe(-ENOTCONN);
    expect(b.writev(fd, [Buffer.from('x'), new Uint8Array(3)])).toBe(-ENOTCONN);
    expect(b.read(fd, Buffer.alloc(8))).toBe(-ENOTCONN);
    expect(b.remoteAddress(fd)).toBe(-ENOTCONN);
    expect(b.socketError(fd)).toBe(0);
  });

  test('read on a listening socket gives an error (-ENOTCONN), never data or end of stream', () => {
    expect(vsock().read(listener().fd, Buffer.alloc(16))).toBe(-ENOTCONN);
  });

  test('an unbound socket reports (any, any) as its address', () => {
    const b = vsock();
    expect(b.localAddress(socket())).toEqual([b.constants.VMADDR_CID_ANY, b.constants.VMADDR_PORT_ANY]);
  });

  test('setBufferSize / bufferSize round-trip; the kernel bounds the size by its maximum (256 KiB by default)', () => {
    const b = vsock();
    const fd = socket();
    expect(b.bufferSize(fd)).toBe(262144);
    expect(b.setBufferSize(fd, 131072)).toBe(0);
    expect(b.bufferSize(fd)).toBe(131072);
    expect(b.setBufferSize(fd, 2 ** 30)).toBe(0);
    expect(b.bufferSize(fd)).toBe(262144);
  });

  test('setConnectTimeout sets SO_VM_SOCKETS_CONNECT_TIMEOUT (a timeval) and returns 0', () => {
    const b = vsock();
    const fd = socket();
    expect(b.setConnectTimeout(fd, 1500)).toBe(0);
    expect(b.setConnectTimeout(fd, 0)).toBe(0);
  });

  test('close twice: the second gives -EBADF; calls on a closed fd give -EBADF', () => {
    const b = vsock();
    const fd = b.socket();
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(b.close(fd)).toBe(0);
    expect(b.close(fd)).toBe(-EBADF);
    expect(b.listen(fd, 1)).toBe(-EBADF);
  });

  test('ports below 1024 give -EACCES to an unprivileged user (uid nobody), an ephemeral port does not', () => {
    const located = locateVsockAddon();
    if (!located.ok) throw located.error;
    // A copy that nobody can read: the checkout may sit in a directory only root may enter.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-nobody-'));
    fs.chmodSync(dir, 0o755);
    const addon = path.join(dir, 'hvsock.node');
    fs.copyFileSync(located.value.path, addon);
    fs.chmodSync(addon, 0o644);
    const script = `
      const b = require(${JSON.stringify(addon)});
      const c = b.constants;
      const low = b.socket(), any = b.socket();
      console.log(JSON.stringify([b.bind(low, c.VMADDR_CID_ANY, 1023, 0), b.bind(any, c.VMADDR_CID_ANY, c.VMADDR_PORT_ANY, 0)]));`;
    const asRoot = process.getuid?.() === 0;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual([-EACCES, 0]);
  });
});

describe('bad arguments are programmer errors and throw', () => {
  test.each<[string, (b: VsockBinding, fd: number) => unknown, 'RangeError' | 'TypeError']>([
    ['a CID above 2^32 - 1', (b, fd) => b.bind(fd, 2 ** 32, 1024, 0), 'RangeError'],
    ['a negative port', (b, fd) => b.bind(fd, 3, -1, 0), 'RangeError'],
    ['flags that do not fit svm_flags', (b, fd) => b.bind(fd, 3, 1024, 256), 'RangeError'],
    ['a fractional fd', (b, fd) => b.listen(fd + 0.5, 1), 'RangeError'],
    ['an fd that is not a number', (b) => b.close('3' as unknown as number), 'TypeError'],
    ['an empty read buffer (0 would read as end of stream)', (b, fd) => b.read(fd, new Uint8Array(0)), 'RangeError'],
    ['writev of something that is not an array', (b, fd) => b.writev(fd, Buffer.from('x') as unknown as Uint8Array[]), 'TypeError'],
    ['writev of an array holding a string', (b, fd) => b.writev(fd, ['x'] as unknown as Uint8Array[]), 'TypeError'],
    ['shutdown how = 3', (b, fd) => b.shutdown(fd, 3), 'RangeError'],
    ['a negative connect timeout', (b, fd) => b.setConnectTimeout(fd, -1), 'RangeError'],
    ['a buffer size of NaN', (b, fd) => b.setBufferSize(fd, NaN), 'RangeError'],
  ])('%s', (_what, call, type) => {
    const b = vsock();
    const fd = socket();
    let thrown: unknown;
    try {
      call(b, fd);
    } catch (error) {
      thrown = error;
    }
    // By name: the addon's errors come from Node's realm, not from the test's.
    expect((thrown as Error | undefined)?.name).toBe(type);
  });
});
