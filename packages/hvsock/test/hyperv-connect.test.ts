// Hyper-V sockets off Windows: connectHyperv and listenHyperv give an `unsupported` error that
// says what a Linux guest on Hyper-V uses instead (AF_VSOCK over hv_sock, with the port of a
// template service id), and the Windows addon loader fails as `unsupported` on a build without
// the Windows exports. Nothing here opens a socket.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { err, FlowError, type Result } from '@flow/core';
import { HV_GUID_PARENT, HV_GUID_WILDCARD, serviceIdForPort } from '../src/address/guid';
import type { HypervAddress } from '../src/address/types';
import { isHypervBinding } from '../src/hyperv/binding';
import { connectHyperv, connectHypervOn } from '../src/hyperv/connect';
import type { HypervHost } from '../src/hyperv/host';
import { listenHyperv, listenHypervOn } from '../src/hyperv/listen';
import { loadHypervBinding, loadHypervBindingFrom } from '../src/hyperv/load';
import { WindowsAddonDouble } from './support/windows-addon-double';

const PORT_80 = serviceIdForPort(80); // 00000050-facb-11e6-bd58-64006a7986d3
const SOME_VM = '5e0b7b3a-9c1d-4e0f-8a7b-0c1d2e3f4a5b';
const GENERIC_SERVICE = '3049197c-9a4e-4fbf-9367-97f792f16994';

function address(vmId: string, serviceId: string): HypervAddress {
  return { kind: 'hvsock', vmId, serviceId };
}

function expectUnsupported(r: Result<unknown, FlowError>): FlowError {
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('expected an error');
  expect(r.error).toBeInstanceOf(FlowError);
  expect(r.error.kind).toBe('unsupported');
  expect(r.error.code).toBe('ENOTSUP');
  return r.error;
}

const describeOffWindows = process.platform === 'win32' ? describe.skip : describe;

describeOffWindows('on this platform (not Windows)', () => {
  it('connect says AF_HYPERV needs Windows and gives the vsock:// URI of the template port, to the host', async () => {
    const e = expectUnsupported(await connectHyperv(address(HV_GUID_PARENT, PORT_80)));
    expect(e.message).toContain('Hyper-V sockets (AF_HYPERV, hvsock://parent/80) need Windows');
    expect(e.message).toContain(`this is ${process.platform}`);
    expect(e.message).toContain(`vsock://host:80 for service ${PORT_80}`);
    expect(e.message).toContain('hv_sock');
    expect(e.message).not.toContain('does not carry over');
  });

  it('listen gives the vsock:// URI that listens on every CID', async () => {
    const e = expectUnsupported(await listenHyperv(address(HV_GUID_WILDCARD, serviceIdForPort(0x5653))));
    expect(e.message).toContain('need Windows');
    expect(e.message).toContain(`vsock://any:22099 for service ${serviceIdForPort(0x5653)}`);
  });

  it('says that hv_sock reaches only the host when the address names a VM', async () => {
    const e = expectUnsupported(await connectHyperv(address(SOME_VM, PORT_80)));
    expect(e.message).toContain('vsock://host:80');
    expect(e.message).toContain(`the VM id ${SOME_VM} does not carry over`);
  });

  it('says that a service id outside the template works only on Windows, with no vsock URI', async () => {
    const e = expectUnsupported(await connectHyperv(address(HV_GUID_PARENT, GENERIC_SERVICE)));
    expect(e.message).toContain(`${GENERIC_SERVICE} is not one, so it works only on Windows`);
    expect(e.message).toContain('<port %08x>-facb-11e6-bd58-64006a7986d3');
    expect(e.message).not.toMatch(/(^|[^h])vsock:\/\//);
    const l = expectUnsupported(await listenHyperv(address(HV_GUID_WILDCARD, GENERIC_SERVICE)));
    expect(l.message).not.toMatch(/(^|[^h])vsock:\/\//);
  });

  it('notes a template port above 0x7fffffff', async () => {
    const e = expectUnsupported(await connectHyperv(address(HV_GUID_PARENT, 'fffffffe-facb-11e6-bd58-64006a7986d3')));
    expect(e.message).toContain('vsock://host:4294967294');
    expect(e.message).toContain('above 0x7fffffff');
  });
});

describe('any platform other than win32', () => {
  const host = (platform: NodeJS.Platform): HypervHost => ({
    platform,
    loadBinding: () => {
      throw new Error('the addon must not be loaded off Windows');
    },
  });

  it('names the platform and never loads the addon', async () => {
    const e = expectUnsupported(await connectHypervOn(host('darwin'), address(HV_GUID_PARENT, PORT_80)));
    expect(e.message).toContain('this is darwin');
    expectUnsupported(await listenHypervOn(host('freebsd'), address(HV_GUID_WILDCARD, PORT_80)));
  });

  it('on win32, passes on the loader failure', async () => {
    const failing: HypervHost = { platform: 'win32', loadBinding: () => err(new FlowError('unsupported', 'no build for win32-arm64', { code: 'ENOTSUP' })) };
    const e = expectUnsupported(await connectHypervOn(failing, address(HV_GUID_PARENT, PORT_80)));
    expect(e.message).toBe('no build for win32-arm64');
  });

  it('throws for bad arguments before anything else', async () => {
    const h = host('linux');
    await expect(connectHypervOn(h, address('not-a-guid', PORT_80))).rejects.toThrow(RangeError);
    await expect(connectHypervOn(h, { kind: 'vsock', cid: 2, port: 80 } as unknown as HypervAddress)).rejects.toThrow(TypeError);
    await expect(connectHypervOn(h, address(HV_GUID_PARENT, PORT_80), { timeoutMs: -1 })).rejects.toThrow(RangeError);
    await expect(connectHypervOn(h, address(HV_GUID_PARENT, PORT_80), { messageSize: 0 })).rejects.toThrow(RangeError);
    await expect(listenHypervOn(h, address(HV_GUID_WILDCARD, PORT_80), { backlog: 0 })).rejects.toThrow(RangeError);
    await expect(listenHypervOn(h, address(HV_GUID_WILDCARD, 'x'))).rejects.toThrow(RangeError);
  });
});

describe('loadHypervBinding', () => {
  it('is unsupported when a directory has no build at all', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvsock-nobuild-'));
    try {
      const e = expectUnsupported(loadHypervBindingFrom(dir));
      expect(e.message).toContain('could not be loaded for Hyper-V sockets');
      expect(e.message).toContain(`${process.platform}-${process.arch}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  (process.platform === 'win32' ? it.skip : it)('is unsupported off Windows, whatever the package holds, and answers the same the second time', () => {
    const first = loadHypervBinding();
    const e = expectUnsupported(first);
    // With the Linux addon built, node-gyp-build finds it, but it has no hv* functions.
    expect(e.message).toMatch(/has no Hyper-V socket functions|could not be loaded/);
    expect(loadHypervBinding()).toBe(first);
  });

  it('takes only a module with every Windows export (the double of the addon has them; the Linux shape has not)', () => {
    expect(isHypervBinding(new WindowsAddonDouble())).toBe(true);
    expect(isHypervBinding({ hvSocket: () => -1, hvConstants: {} })).toBe(false);
    expect(isHypervBinding({ socket: () => -1, constants: {} })).toBe(false);
    expect(isHypervBinding(undefined)).toBe(false);
  });
});
