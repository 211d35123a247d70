import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AF_HYPERV,
  AF_VSOCK,
  cidName,
  decodeSockaddrHv,
  decodeSockaddrVm,
  encodeSockaddrHv,
  encodeSockaddrVm,
  HV_GUID_CHILDREN,
  HV_GUID_LOOPBACK,
  HV_GUID_PARENT,
  HV_GUID_WILDCARD,
  HV_PROTOCOL_RAW,
  hypervAddressOf,
  hypervFromVsock,
  NAMED_CIDS,
  namedCid,
  serviceIdForPort,
  SOCKADDR_HV_SIZE,
  SOCKADDR_VM_SIZE,
  sockaddrVmOf,
  VMADDR_CID_ANY,
  VMADDR_CID_HOST,
  VMADDR_CID_HYPERVISOR,
  VMADDR_CID_LOCAL,
  VMADDR_FLAG_TO_HOST,
  VMADDR_PORT_ANY,
  vsockAddressOf,
  vsockFromHyperv,
  type HypervAddress,
  type SockaddrVm,
  type VsockAddress,
} from '../src/address';

const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');

describe('sockaddr_vm (linux/vm_sockets.h)', () => {
  // Vectors in little-endian byte order, as on x86-64 and arm64 Linux.
  test.each<[SockaddrVm, string]>([
    [{ cid: 2, port: 1234 }, '2800 0000 d2040000 02000000 00 000000'],
    [{ cid: 3, port: 0x5653, flags: VMADDR_FLAG_TO_HOST }, '2800 0000 53560000 03000000 01 000000'],
    [{ cid: VMADDR_CID_ANY, port: VMADDR_PORT_ANY }, '2800 0000 ffffffff ffffffff 00 000000'],
    [{ cid: 0x01020304, port: 0x0a0b0c0d, flags: 0 }, '2800 0000 0d0c0b0a 04030201 00 000000'],
  ])('%j encodes as %s and decodes back', (addr, bytes) => {
    const b = encodeSockaddrVm(addr);
    expect(b.length).toBe(SOCKADDR_VM_SIZE);
    expect(b).toEqual(hex(bytes));
    expect(decodeSockaddrVm(b)).toEqual({ ok: true, value: { cid: addr.cid, port: addr.port, flags: addr.flags ?? 0 } });
  });

  test('decoding ignores the reserved and zero bytes, as the kernel does, and keeps flags', () => {
    const r = decodeSockaddrVm(hex('2800 abcd 50000000 02000000 01 ffeedd'));
    expect(r).toEqual({ ok: true, value: { cid: 2, port: 80, flags: 1 } });
  });

  test('decoding the wrong size or family is a protocol error, never a throw', () => {
    const short = decodeSockaddrVm(new Uint8Array(15));
    expect(short.ok ? 'decoded' : [short.error.kind, short.error.message]).toEqual(['protocol', 'a sockaddr_vm is 16 bytes, got 15']);
    const unix = decodeSockaddrVm(hex('0100 0000 50000000 02000000 00 000000'));
    expect(unix.ok ? 'decoded' : unix.error.message).toMatch(/not an AF_VSOCK address: family 1/);
  });

  test('out-of-range fields are programmer errors', () => {
    expect(() => encodeSockaddrVm({ cid: -1, port: 1 })).toThrow(RangeError);
    expect(() => encodeSockaddrVm({ cid: 2 ** 32, port: 1 })).toThrow(RangeError);
    expect(() => encodeSockaddrVm({ cid: 2, port: 1.5 })).toThrow(RangeError);
    expect(() => encodeSockaddrVm({ cid: 2, port: 1, flags: 256 })).toThrow(RangeError);
  });

  test('a vsock address ⇄ sockaddr_vm fields: toHost is VMADDR_FLAG_TO_HOST', () => {
    expect(sockaddrVmOf({ kind: 'vsock', cid: 3, port: 80, toHost: true })).toEqual({ cid: 3, port: 80, flags: 1 });
    expect(sockaddrVmOf({ kind: 'vsock', cid: 3, port: 80 })).toEqual({ cid: 3, port: 80, flags: 0 });
    expect(vsockAddressOf({ cid: 3, port: 80, flags: 1 })).toStrictEqual({ kind: 'vsock', cid: 3, port: 80, toHost: true });
    expect(vsockAddressOf({ cid: 3, port: 80, flags: 0 })).toStrictEqual({ kind: 'vsock', cid: 3, port: 80 });
  });

  test('named CIDs, and cidName for printing', () => {
    expect(NAMED_CIDS).toEqual({ any: 0xffffffff, hypervisor: 0, local: 1, host: 2 });
    expect([cidName(VMADDR_CID_ANY), cidName(0), cidName(1), cidName(2), cidName(3), cidName(16)]).toEqual(['any', 'hypervisor', 'local', 'host', '3', '16']);
    expect(namedCid('HOST')).toBe(2);
    expect(namedCid('guest')).toBeUndefined();
    expect(namedCid('toString')).toBeUndefined();
  });
});

describe('sockaddr_vm against the real C header (cc, <linux/vm_sockets.h>)', () => {
  // CI has a C compiler: when cc is missing this fails rather than skips.
  const program = `
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

#define FIELD(f) printf("\\"%s\\":[%zu,%zu],", #f, offsetof(struct sockaddr_vm, f), sizeof(((struct sockaddr_vm *)0)->f))

int main(void) {
  struct sockaddr_vm sample;
  const unsigned char *p = (const unsigned char *)&sample;
  memset(&sample, 0, sizeof sample);
  sample.svm_family = AF_VSOCK;
  sample.svm_port = 0x0a0b0c0du;
  sample.svm_cid = 0x01020304u;
  sample.svm_flags = VMADDR_FLAG_TO_HOST;
  printf("{\\"size\\":%zu,", sizeof(struct sockaddr_vm));
  FIELD(svm_family); FIELD(svm_reserved1); FIELD(svm_port); FIELD(svm_cid); FIELD(svm_flags); FIELD(svm_zero);
  printf("\\"AF_VSOCK\\":%d,", AF_VSOCK);
  printf("\\"VMADDR_CID_ANY\\":%u,\\"VMADDR_CID_HYPERVISOR\\":%u,\\"VMADDR_CID_LOCAL\\":%u,\\"VMADDR_CID_HOST\\":%u,",
         (unsigned)VMADDR_CID_ANY, (unsigned)VMADDR_CID_HYPERVISOR, (unsigned)VMADDR_CID_LOCAL, (unsigned)VMADDR_CID_HOST);
  printf("\\"VMADDR_PORT_ANY\\":%u,\\"VMADDR_FLAG_TO_HOST\\":%u,", (unsigned)VMADDR_PORT_ANY, (unsigned)VMADDR_FLAG_TO_HOST);
  printf("\\"sample\\":\\"");
  for (size_t i = 0; i < sizeof sample; i++) printf("%02x", p[i]);
  printf("\\"}\\n");
  return 0;
}
`;
  let dir: string;
  let facts: Record<string, unknown>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hvsock-sockaddr-'));
    writeFileSync(join(dir, 'facts.c'), program);
    execFileSync('cc', ['-std=c11', '-Wall', '-Werror', '-o', join(dir, 'facts'), join(dir, 'facts.c')], { stdio: 'pipe' });
    facts = JSON.parse(execFileSync(join(dir, 'facts'), { encoding: 'utf8' })) as Record<string, unknown>;
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('sizeof and the offset and size of every field', () => {
    expect(facts.size).toBe(SOCKADDR_VM_SIZE);
    expect({
      svm_family: facts.svm_family,
      svm_reserved1: facts.svm_reserved1,
      svm_port: facts.svm_port,
      svm_cid: facts.svm_cid,
      svm_flags: facts.svm_flags,
      svm_zero: facts.svm_zero,
    }).toEqual({
      svm_family: [0, 2],
      svm_reserved1: [2, 2],
      svm_port: [4, 4],
      svm_cid: [8, 4],
      svm_flags: [12, 1],
      svm_zero: [13, 3],
    });
  });

  test('the constants', () => {
    expect({
      AF_VSOCK: facts.AF_VSOCK,
      VMADDR_CID_ANY: facts.VMADDR_CID_ANY,
      VMADDR_CID_HYPERVISOR: facts.VMADDR_CID_HYPERVISOR,
      VMADDR_CID_LOCAL: facts.VMADDR_CID_LOCAL,
      VMADDR_CID_HOST: facts.VMADDR_CID_HOST,
      VMADDR_PORT_ANY: facts.VMADDR_PORT_ANY,
      VMADDR_FLAG_TO_HOST: facts.VMADDR_FLAG_TO_HOST,
    }).toEqual({ AF_VSOCK, VMADDR_CID_ANY, VMADDR_CID_HYPERVISOR, VMADDR_CID_LOCAL, VMADDR_CID_HOST, VMADDR_PORT_ANY, VMADDR_FLAG_TO_HOST });
  });

  test('a struct filled in C has the bytes encodeSockaddrVm writes (in this host byte order)', () => {
    const ours = encodeSockaddrVm({ cid: 0x01020304, port: 0x0a0b0c0d, flags: VMADDR_FLAG_TO_HOST });
    expect(ours.toString('hex')).toBe(facts.sample);
    expect(decodeSockaddrVm(Buffer.from(String(facts.sample), 'hex'))).toEqual({ ok: true, value: { cid: 0x01020304, port: 0x0a0b0c0d, flags: 1 } });
  });
});

describe('SOCKADDR_HV (36 bytes: u16 Family, u16 Reserved, GUID VmId, GUID ServiceId)', () => {
  // The bytes of SOCKADDR_HV { AF_HYPERV, 0, HV_GUID_PARENT, <port 80 service> } as mingw-w64's
  // hvsocket.h lays the struct out (x86_64-w64-mingw32-gcc, the object's .data dumped).
  const parentPort80 = hex(
    '2200 0000' + ' da7c2ea4 3fd0 0c48 9cc2a4de20abb878' + ' 50000000 cbfa e611 bd5864006a7986d3',
  );

  test('constants: AF_HYPERV 34, HV_PROTOCOL_RAW 1, 36 bytes', () => {
    expect([AF_HYPERV, HV_PROTOCOL_RAW, SOCKADDR_HV_SIZE]).toEqual([34, 1, 36]);
  });

  test('parent + port 80 encodes as the mingw struct', () => {
    const b = encodeSockaddrHv({ vmId: HV_GUID_PARENT, serviceId: serviceIdForPort(80) });
    expect(b.length).toBe(SOCKADDR_HV_SIZE);
    expect(b).toEqual(parentPort80);
  });

  test('GUID text in any accepted spelling encodes the same', () => {
    expect(encodeSockaddrHv({ vmId: '{A42E7CDA-D03F-480C-9CC2-A4DE20ABB878}', serviceId: '00000050-FACB-11E6-BD58-64006A7986D3' })).toEqual(parentPort80);
  });

  test('decodes back to canonical text, and into a Hyper-V address', () => {
    const r = decodeSockaddrHv(parentPort80);
    expect(r).toEqual({ ok: true, value: { vmId: HV_GUID_PARENT, serviceId: '00000050-facb-11e6-bd58-64006a7986d3' } });
    if (r.ok) expect(hypervAddressOf(r.value)).toStrictEqual({ kind: 'hvsock', vmId: HV_GUID_PARENT, serviceId: '00000050-facb-11e6-bd58-64006a7986d3' });
  });

  test('the Reserved field is ignored when decoding', () => {
    const b = Buffer.from(parentPort80);
    b.writeUInt16LE(0xbeef, 2);
    expect(decodeSockaddrHv(b).ok).toBe(true);
  });

  test('decoding the wrong size or family is a protocol error, never a throw', () => {
    const short = decodeSockaddrHv(parentPort80.subarray(0, 35));
    expect(short.ok ? 'decoded' : [short.error.kind, short.error.message]).toEqual(['protocol', 'a SOCKADDR_HV is 36 bytes, got 35']);
    const wrong = Buffer.from(parentPort80);
    wrong.writeUInt16LE(43, 0); // the never-merged Linux AF_HYPERV
    const r = decodeSockaddrHv(wrong);
    expect(r.ok ? 'decoded' : r.error.message).toMatch(/not an AF_HYPERV address: family 43/);
  });

  test('text that is not a GUID is a programmer error', () => {
    expect(() => encodeSockaddrHv({ vmId: 'parent', serviceId: serviceIdForPort(80) })).toThrow(RangeError);
    expect(() => encodeSockaddrHv({ vmId: HV_GUID_PARENT, serviceId: '80' })).toThrow(RangeError);
  });
});

describe('Hyper-V ⇄ vsock where they overlap (hv_sock: template service = port; the peer is the host)', () => {
  const port80 = serviceIdForPort(80);
  test.each<[HypervAddress, VsockAddress | undefined]>([
    [{ kind: 'hvsock', vmId: HV_GUID_PARENT, serviceId: port80 }, { kind: 'vsock', cid: VMADDR_CID_HOST, port: 80 }],
    [{ kind: 'hvsock', vmId: HV_GUID_WILDCARD, serviceId: port80 }, { kind: 'vsock', cid: VMADDR_CID_ANY, port: 80 }],
    [{ kind: 'hvsock', vmId: HV_GUID_PARENT.toUpperCase(), serviceId: '00000050-FACB-11E6-BD58-64006A7986D3' }, { kind: 'vsock', cid: VMADDR_CID_HOST, port: 80 }],
    [{ kind: 'hvsock', vmId: HV_GUID_PARENT, serviceId: 'ffffffff-facb-11e6-bd58-64006a7986d3' }, { kind: 'vsock', cid: VMADDR_CID_HOST, port: 0xffffffff }],
    [{ kind: 'hvsock', vmId: HV_GUID_PARENT, serviceId: HV_GUID_LOOPBACK }, undefined],
    [{ kind: 'hvsock', vmId: HV_GUID_CHILDREN, serviceId: port80 }, undefined],
    [{ kind: 'hvsock', vmId: HV_GUID_LOOPBACK, serviceId: port80 }, undefined],
    [{ kind: 'hvsock', vmId: '6f03e56e-efa1-4f0f-9b8f-492cf1824c83', serviceId: port80 }, undefined],
  ])('vsockFromHyperv(%j) = %j', (hv, vs) => {
    expect(vsockFromHyperv(hv)).toStrictEqual(vs);
  });

  test.each<[VsockAddress, HypervAddress | undefined]>([
    [{ kind: 'vsock', cid: VMADDR_CID_HOST, port: 80 }, { kind: 'hvsock', vmId: HV_GUID_PARENT, serviceId: port80 }],
    [{ kind: 'vsock', cid: VMADDR_CID_ANY, port: 80 }, { kind: 'hvsock', vmId: HV_GUID_WILDCARD, serviceId: port80 }],
    [{ kind: 'vsock', cid: VMADDR_CID_HOST, port: 80, toHost: true }, { kind: 'hvsock', vmId: HV_GUID_PARENT, serviceId: port80 }],
    [{ kind: 'vsock', cid: VMADDR_CID_HOST, port: 0x7fffffff }, { kind: 'hvsock', vmId: HV_GUID_PARENT, serviceId: '7fffffff-facb-11e6-bd58-64006a7986d3' }],
    [{ kind: 'vsock', cid: VMADDR_CID_HOST, port: 0x80000000 }, undefined],
    [{ kind: 'vsock', cid: VMADDR_CID_ANY, port: VMADDR_PORT_ANY }, undefined],
    [{ kind: 'vsock', cid: VMADDR_CID_LOCAL, port: 80 }, undefined],
    [{ kind: 'vsock', cid: VMADDR_CID_HYPERVISOR, port: 80 }, undefined],
    [{ kind: 'vsock', cid: 3, port: 80 }, undefined],
  ])('hypervFromVsock(%j) = %j', (vs, hv) => {
    expect(hypervFromVsock(vs)).toStrictEqual(hv);
  });

  test('the overlap round-trips both ways', () => {
    for (const port of [0, 1, 80, 0x5653, 0x7fffffff]) {
      for (const cid of [VMADDR_CID_ANY, VMADDR_CID_HOST]) {
        const vs: VsockAddress = { kind: 'vsock', cid, port };
        const hv = hypervFromVsock(vs);
        expect(hv).toBeDefined();
        if (hv) expect(vsockFromHyperv(hv)).toStrictEqual(vs);
      }
    }
  });
});
