// LinuxPlatform: on this machine (no Xen) it says so with a typed error; over a double of the
// Xen side (test/support/native-evtchn-double.ts: the addon's real poll reader and page
// accessors, with binding and grants imitated) it maps pages, binds ports, dispatches each
// pending port to its EvtPort, re-scans every port after an overflow, and releases everything.
import { constants } from 'node:os';
import { formatError, type FlowError, type Result } from '@flow/core';
import { CONSOLE_LAYOUT } from '../src/ring/layout';
import type { MappedPage } from '../src/ring/memory';
import { evtchnDispatcherFor } from '../src/platform/linux-evtchn';
import { LinuxPlatform } from '../src/platform/linux-platform';
import type { EvtPort } from '../src/platform/types';
import { evtchnDouble, type EvtchnDouble } from './support/native-evtchn-double';
import { turn, xen } from './support/native-addon';
import { xsClientDouble } from './support/native-xs-client-double';

const NO_XEN =
  'no Xen: /dev/xen/gntdev does not exist (this machine is not a Xen dom0 or driver domain, or the xen-gntdev and ' +
  'xen-evtchn modules are not loaded)';

function value<T>(result: Result<T, FlowError>): T {
  if (!result.ok) throw new Error(formatError(result.error));
  return result.value;
}

function failure<T>(result: Result<T, FlowError>): FlowError {
  if (result.ok) throw new Error('expected an error, got a value');
  return result.error;
}

/** Resolves after `port` has seen `count` events (counting from the call). */
function events(port: EvtPort, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const stop = port.onEvent(() => {
      if (++seen === count) {
        stop();
        resolve();
      }
    });
  });
}

describe('on this machine, without Xen', () => {
  test('LinuxPlatform.available() is a typed error: unsupported, ENOENT, naming /dev/xen/gntdev', () => {
    const error = failure(LinuxPlatform.available());
    expect(error).toMatchObject({ kind: 'unsupported', code: 'ENOENT', errno: constants.errno.ENOENT, syscall: 'open', message: NO_XEN });
    expect(formatError(error)).toBe(`unsupported: ${NO_XEN} (ENOENT, syscall open)`);
  });

  test('LinuxPlatform.open() gives the same error and never asks xenstore', async () => {
    const xs = xsClientDouble({ domid: '0' });
    let connects = 0;
    const opened = await LinuxPlatform.open({ connectXenstore: () => (connects++, Promise.resolve({ ok: true, value: xs.client })) });
    expect(failure(opened)).toMatchObject({ kind: 'unsupported', code: 'ENOENT', message: NO_XEN });
    expect(connects).toBe(0);
  });
});

describe('over a double of gntdev and evtchn', () => {
  let double: EvtchnDouble;
  let platform: LinuxPlatform;
  beforeEach(async () => {
    double = evtchnDouble(xen());
    platform = value(await LinuxPlatform.openWith(double.binding, { selfDomid: 0 }));
  });
  afterEach(() => {
    platform.close();
    double.cleanup();
  });

  describe('grants', () => {
    test('mapGrant gives a page behind the native accessors; unmap releases it once', async () => {
      const page: MappedPage = value(await platform.mapGrant(1, 8, { writable: true }));
      page.writeBytes(CONSOLE_LAYOUT.OUT, Buffer.from('HELLO-ON-HVC1'));
      page.storeU32(CONSOLE_LAYOUT.OUT_PROD, 13);
      expect(page.loadU32(CONSOLE_LAYOUT.OUT_PROD)).toBe(13);
      const copy = Buffer.alloc(13);
      page.readBytes(CONSOLE_LAYOUT.OUT, 13, copy, 0);
      expect(copy.toString()).toBe('HELLO-ON-HVC1');
      page.unmap();
      page.unmap();
      expect(page.mapped).toBe(false);
      expect(double.calls).toEqual(['mapGrant(1, 8, true)', 'unmapGrant']);
    });

    test('a read-only grant is mapped read-only: stores throw', async () => {
      const page = value(await platform.mapGrant(1, 8, { writable: false }));
      expect(page.loadU32(0)).toBe(0);
      expect(() => page.storeU32(0, 1)).toThrow('the page is mapped read-only');
    });

    test('a refused map is a typed error naming the grant and the errno (e.g. a ref not granted to us)', async () => {
      double.mapResults.push(-constants.errno.EINVAL, -constants.errno.EPERM);
      expect(failure(await platform.mapGrant(3, 77, { writable: true }))).toMatchObject({
        kind: 'io',
        code: 'EINVAL',
        errno: constants.errno.EINVAL,
        message: 'mapping grant 77 of domain 3 (gntdev map ioctl and mmap): EINVAL',
      });
      expect(failure(await platform.mapGrant(3, 77, { writable: true }))).toMatchObject({ kind: 'permission', code: 'EPERM' });
    });

    test('EAGAIN (a paged-out grant) is retried without blocking, a bounded number of times', async () => {
      const EAGAIN = -constants.errno.EAGAIN;
      double.mapResults.push(EAGAIN, EAGAIN);
      const page = value(await platform.mapGrant(1, 8, { writable: true }));
      expect(page.mapped).toBe(true);
      expect(double.calls.filter((call) => call.startsWith('mapGrant'))).toHaveLength(3);

      double.calls.length = 0;
      double.mapResults.push(...Array.from({ length: 20 }, () => EAGAIN));
      expect(failure(await platform.mapGrant(1, 9, { writable: true }))).toMatchObject({ code: 'EAGAIN' });
      expect(double.calls).toHaveLength(11);
    });

    test('bad arguments are programmer errors and throw', () => {
      expect(() => platform.mapGrant(-1, 8, { writable: true })).toThrow(RangeError);
      expect(() => platform.mapGrant(0x7ff0, 8, { writable: true })).toThrow('domid must be a domain id (an integer from 0 to 32751), not 32752');
      expect(() => platform.mapGrant(1, 2 ** 32, { writable: true })).toThrow(RangeError);
      expect(() => platform.mapGrant(1, 8, {} as { writable: boolean })).toThrow(TypeError);
      expect(double.calls).toEqual([]);
    });
  });

  describe('event channels', () => {
    test('bindInterdomain gives the local port; notify reaches the peer; events go to the port\'s listeners', async () => {
      const port = value(await platform.bindInterdomain(1, 8));
      expect(port.local).toBe(25);
      const delivered = events(port, 1);
      port.notify(); // the double's peer answers with an event
      await delivered;
      port.unmask();
      expect(double.calls).toEqual(['evtchnBindInterdomain(1, 8)', 'evtchnPoll', 'evtchnNotify(25)', 'evtchnUnmask(25)']);
    });

    test('each pending port reaches its own EvtPort, and only it; unknown ports are ignored', async () => {
      const a = value(await platform.bindInterdomain(1, 8));
      const b = value(await platform.bindUnbound(2));
      const seen: string[] = [];
      a.onEvent(() => seen.push('a'));
      b.onEvent(() => seen.push('b'));
      const both = Promise.all([events(a, 2), events(b, 1)]);
      double.deliver([a.local, 999, b.local]);
      double.deliver([a.local]);
      await both;
      expect(seen).toEqual(['a', 'b', 'a']);
    });

    test('an event that arrives while nobody listens is kept for the first listener (the port stays masked meanwhile)', async () => {
      const port = value(await platform.bindInterdomain(1, 8));
      double.deliver([port.local]);
      for (let i = 0; i < 5; i++) await turn();
      let seen = 0;
      port.onEvent(() => seen++);
      await turn();
      expect(seen).toBe(1);
    });

    test('after an overflow of the event ring every port is told (events were lost: all re-scan)', async () => {
      const ports = [value(await platform.bindInterdomain(1, 8)), value(await platform.bindInterdomain(2, 8)), value(await platform.bindInterdomain(3, 8))];
      const counts = ports.map(() => 0);
      ports.forEach((port, i) => port.onEvent(() => counts[i]++));
      double.overflow();
      expect(counts).toEqual([1, 1, 1]);
    });

    test('a failed poll tells every port and is re-opened, 3 times in a row at most; a new bind tries again', async () => {
      const port = value(await platform.bindInterdomain(1, 8));
      const dispatcher = evtchnDispatcherFor(double.binding);
      let seen = 0;
      port.onEvent(() => seen++);
      const polls = (): number => double.calls.filter((call) => call === 'evtchnPoll').length;
      for (let failure = 1; failure <= 4; failure++) double.fail(constants.errno.EIO);
      expect(seen).toBe(4);
      expect(polls()).toBe(1 + 3);
      expect(double.calls.slice(-1)).toEqual(['pollClose']); // shut: nothing polls a failing device
      expect(dispatcher.lastError).toMatchObject({ code: 'EIO', message: 'reading pending ports from /dev/xen/evtchn: EIO' });
      const other = value(await platform.bindInterdomain(1, 9));
      expect(polls()).toBe(5);
      const delivered = events(other, 1);
      other.notify();
      await delivered;
    });

    test('close() unbinds once; the last port closes the poll (nothing keeps the process alive)', async () => {
      const a = value(await platform.bindInterdomain(1, 8));
      const b = value(await platform.bindInterdomain(1, 9));
      a.close();
      a.close();
      expect(double.calls.filter((call) => call.startsWith('evtchnUnbind'))).toEqual(['evtchnUnbind(25)']);
      expect(double.calls).not.toContain('pollClose');
      b.close();
      expect(double.calls.slice(-2)).toEqual(['evtchnUnbind(26)', 'pollClose']);
      expect(double.bound.size).toBe(0);
      // A closed port does nothing.
      a.notify();
      a.unmask();
      expect(double.calls.slice(-1)).toEqual(['pollClose']);
    });

    test('a refused bind is a typed error; a poll that cannot open undoes the bind', async () => {
      double.bindResults.push(-constants.errno.EINVAL);
      expect(failure(await platform.bindInterdomain(4, 11))).toMatchObject({
        code: 'EINVAL',
        syscall: 'ioctl',
        message: 'binding event channel port 11 of domain 4: EINVAL',
      });
      double.pollResults.push(-constants.errno.ENOMEM);
      expect(failure(await platform.bindInterdomain(4, 12))).toMatchObject({ code: 'ENOMEM' });
      expect(double.bound.size).toBe(0);
      expect(double.calls).toEqual(['evtchnBindInterdomain(4, 11)', 'evtchnBindInterdomain(4, 12)', 'evtchnPoll', 'evtchnUnbind(25)']);
    });

    test('bad arguments are programmer errors and throw', () => {
      expect(() => platform.bindInterdomain(1.5, 8)).toThrow(RangeError);
      expect(() => platform.bindInterdomain(1, -1)).toThrow(RangeError);
      expect(() => platform.bindUnbound(0x8000)).toThrow(RangeError);
    });
  });

  test('close() unmaps every page and unbinds every port it made, once; then everything says closed', async () => {
    const page = value(await platform.mapGrant(1, 8, { writable: true }));
    const kept = value(await platform.mapGrant(1, 9, { writable: true }));
    kept.unmap();
    const port = value(await platform.bindInterdomain(1, 8));
    platform.close();
    platform.close();
    expect(page.mapped).toBe(false);
    expect(double.bound.size).toBe(0);
    expect(double.calls.filter((call) => call === 'unmapGrant')).toHaveLength(2);
    port.close();
    expect(double.calls.filter((call) => call.startsWith('evtchnUnbind'))).toHaveLength(1);
    const closed = { kind: 'closed', message: 'the Linux Xen platform was closed' };
    expect(failure(await platform.mapGrant(1, 8, { writable: true }))).toMatchObject(closed);
    expect(failure(await platform.bindInterdomain(1, 8))).toMatchObject(closed);
    expect(failure(await platform.xenstore())).toMatchObject(closed);
  });
});

describe('selfDomid', () => {
  test('given: used as is, and xenstore is not asked', async () => {
    let connects = 0;
    const platform = value(await LinuxPlatform.openWith(xen(), { selfDomid: 7, connectXenstore: () => (connects++, Promise.reject(new Error('unused'))) }));
    expect(platform.selfDomid).toBe(7);
    expect(connects).toBe(0);
    platform.close();
  });

  test('not given: read from xenstore\'s relative "domid", and the connection is closed', async () => {
    const xs = xsClientDouble({ domid: '0' });
    const platform = value(await LinuxPlatform.openWith(xen(), { connectXenstore: () => Promise.resolve({ ok: true, value: xs.client }) }));
    expect(platform.selfDomid).toBe(0);
    expect(xs.reads).toEqual(['domid']);
    expect(xs.closes.count).toBe(1);
    expect(value(await platform.xenstore())).toBe(xs.client);
    platform.close();
  });

  test.each(['12abc', '-1', '', '32752', '0x10', ' 3'])('xenstore\'s "domid" %j is not a domain id: a protocol error', async (text) => {
    const xs = xsClientDouble({ domid: text });
    const opened = await LinuxPlatform.openWith(xen(), { connectXenstore: () => Promise.resolve({ ok: true, value: xs.client }) });
    expect(failure(opened)).toMatchObject({ kind: 'protocol', message: expect.stringContaining('pass selfDomid') });
    expect(xs.closes.count).toBe(1);
  });

  test('xenstore cannot be read: the error keeps its kind and says to pass selfDomid', async () => {
    const xs = xsClientDouble({ domid: { error: 'EACCES' } });
    const opened = await LinuxPlatform.openWith(xen(), { connectXenstore: () => Promise.resolve({ ok: true, value: xs.client }) });
    expect(failure(opened)).toMatchObject({
      kind: 'permission',
      code: 'EACCES',
      message: 'cannot tell this domain\'s id: reading "domid" from xenstore failed (xenstore EACCES reading domid); pass selfDomid to LinuxPlatform.open',
    });
  });

  test('a bad selfDomid throws', async () => {
    await expect(LinuxPlatform.openWith(xen(), { selfDomid: 70000 })).rejects.toThrow(RangeError);
  });
});
