// The addon's constants against this machine's <linux/vm_sockets.h>, read by an independent C
// program compiled here (cc is needed: without it this test fails and says so).
import { loadVsockBinding } from '../src/native/load';
import type { VsockBinding, VsockConstants } from '../src/native/binding';
import { runCProgram } from './support/c-program';

const HEADER_CHECK = `
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>
int main(void) {
  printf("{\\"AF_VSOCK\\": %d,", AF_VSOCK);
  printf("\\"VMADDR_CID_ANY\\": %u,", (unsigned)VMADDR_CID_ANY);
  printf("\\"VMADDR_CID_HYPERVISOR\\": %u,", (unsigned)VMADDR_CID_HYPERVISOR);
  printf("\\"VMADDR_CID_LOCAL\\": %u,", (unsigned)VMADDR_CID_LOCAL);
  printf("\\"VMADDR_CID_HOST\\": %u,", (unsigned)VMADDR_CID_HOST);
  printf("\\"VMADDR_PORT_ANY\\": %u,", (unsigned)VMADDR_PORT_ANY);
  printf("\\"VMADDR_FLAG_TO_HOST\\": %u,", (unsigned)VMADDR_FLAG_TO_HOST);
  printf("\\"SO_VM_SOCKETS_BUFFER_SIZE\\": %d,", SO_VM_SOCKETS_BUFFER_SIZE);
  printf("\\"SO_VM_SOCKETS_CONNECT_TIMEOUT\\": %d,", (int)SO_VM_SOCKETS_CONNECT_TIMEOUT);
  printf("\\"IOCTL_VM_SOCKETS_GET_LOCAL_CID\\": %lu,", (unsigned long)IOCTL_VM_SOCKETS_GET_LOCAL_CID);
  printf("\\"SIZEOF_SOCKADDR_VM\\": %zu,", sizeof(struct sockaddr_vm));
  printf("\\"SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD\\": %d,", SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD);
  printf("\\"SIZEOF_LONG\\": %zu}\\n", sizeof(long));
  return 0;
}
`;

type HeaderValues = VsockConstants & { SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD: number; SIZEOF_LONG: number };

function binding(): VsockBinding {
  const loaded = loadVsockBinding();
  if (!loaded.ok) throw loaded.error; // on linux-x64 a missing addon fails, with the reason
  return loaded.value;
}

let headers: HeaderValues;
beforeAll(() => {
  headers = JSON.parse(runCProgram(HEADER_CHECK)) as HeaderValues;
});

describe('the addon constants match <linux/vm_sockets.h> on this machine', () => {
  const names: readonly (keyof VsockConstants)[] = [
    'AF_VSOCK',
    'VMADDR_CID_ANY',
    'VMADDR_CID_HYPERVISOR',
    'VMADDR_CID_LOCAL',
    'VMADDR_CID_HOST',
    'VMADDR_PORT_ANY',
    'VMADDR_FLAG_TO_HOST',
    'SO_VM_SOCKETS_BUFFER_SIZE',
    'SO_VM_SOCKETS_CONNECT_TIMEOUT',
    'IOCTL_VM_SOCKETS_GET_LOCAL_CID',
    'SIZEOF_SOCKADDR_VM',
  ];

  test.each(names)('%s', (name) => {
    expect(binding().constants[name]).toBe(headers[name]);
  });

  test('the addon exports exactly these constants, frozen', () => {
    const constants = binding().constants;
    expect(Object.keys(constants).sort()).toEqual([...names].sort());
    expect(Object.isFrozen(constants)).toBe(true);
  });

  test('the values are the Linux ABI (spec §3.1): AF_VSOCK 40, -1U for "any", _IO(7, 0xb9), a 16-byte sockaddr_vm', () => {
    expect(headers).toMatchObject({
      AF_VSOCK: 40,
      VMADDR_CID_ANY: 0xffffffff,
      VMADDR_PORT_ANY: 0xffffffff,
      VMADDR_CID_LOCAL: 1,
      VMADDR_CID_HOST: 2,
      IOCTL_VM_SOCKETS_GET_LOCAL_CID: 0x7b9,
      SIZEOF_SOCKADDR_VM: 16,
    });
  });

  test('on a 64-bit build SO_VM_SOCKETS_CONNECT_TIMEOUT is the _OLD option (6), the 64-bit timeval', () => {
    if (headers.SIZEOF_LONG !== 8) return; // 32-bit: the header picks by sizeof(time_t)
    expect(binding().constants.SO_VM_SOCKETS_CONNECT_TIMEOUT).toBe(headers.SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD);
    expect(headers.SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD).toBe(6);
  });
});
