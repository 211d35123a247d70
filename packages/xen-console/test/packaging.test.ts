// The published package as a user gets it (the shared packaging tests of the packages with a
// native addon, @flow/native-support's testing/packaging.ts): with the prebuilt binary the addon
// loads from prebuilds/ and works (here the platform then reports that this machine has no Xen);
// without it the install still succeeds and the platform's error says exactly what is missing.
import * as path from 'node:path';
import { describePackaging, type UseReport } from '../../native-support/testing/packaging';
import { packageRoot } from '../src/platform/native-locate';

jest.setTimeout(180_000);

const NO_XEN =
  'no Xen: /dev/xen/gntdev does not exist (this machine is not a Xen dom0 or driver domain, or the xen-gntdev and ' +
  'xen-evtchn modules are not loaded)';

interface PlatformReport extends UseReport {
  /** A u32 stored and loaded back through an anonymous page of the loaded addon, when it loaded. */
  readonly roundTrip?: number;
  readonly kind: string;
  readonly code: string;
  readonly message: string;
}

describePackaging<PlatformReport>({
  packageName: '@flow/xen-console',
  packageRoot,
  addonFile: 'xen_console.node',
  prebuiltName: 'Xen addon binary',
  shipped: ['package/native/xen.c', 'package/native/unsupported.c', 'package/dist/platform/linux-platform.js', 'package/dist/platform/native-load.js'],
  // Import the platform, then ask whether Xen is available.
  use: (installed) => {
    const dist = path.join(installed, 'dist', 'platform');
    return `
    const { LinuxPlatform } = require(${JSON.stringify(path.join(dist, 'linux-platform.js'))});
    const nativeBeforeUse = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
    const r = LinuxPlatform.available();
    const { loadXenBinding, xenBindingLocation } = require(${JSON.stringify(path.join(dist, 'native-load.js'))});
    const b = loadXenBinding();
    let roundTrip;
    if (b.ok) { const page = b.value.allocTestPage(true); b.value.pageStoreU32(page, 3084, 0xc0ffee); roundTrip = b.value.pageLoadU32(page, 3084); }
    console.log(JSON.stringify({ nativeBeforeUse, location: xenBindingLocation(), roundTrip, kind: r.error.kind, code: r.error.code, message: r.error.message }));`;
  },
  loaded: (report) => {
    expect(report).toMatchObject({ roundTrip: 0xc0ffee, kind: 'unsupported', code: 'ENOENT', message: NO_XEN });
  },
  missing: (report, message) => {
    expect(report).toEqual({ nativeBeforeUse: [], kind: 'unsupported', code: 'ENOTSUP', message });
  },
});
