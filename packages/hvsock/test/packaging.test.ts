// The published package as a user gets it (the shared packaging tests of the packages with a
// native addon, @flow/native-support's testing/packaging.ts): with the prebuilt binary the
// AF_VSOCK addon loads from prebuilds/ and localCid() works; without it the install still
// succeeds and the loader's `unsupported` error says exactly what is missing.
import * as path from 'node:path';
import { describePackaging, type UseReport } from '../../native-support/testing/packaging';
import { loadVsockBinding } from '../src/native/load';
import { packageRoot } from '../src/native/locate';

jest.setTimeout(180_000);

interface LoaderReport extends UseReport {
  readonly ok: boolean;
  readonly cid?: number;
  readonly kind?: string;
  readonly message?: string;
}

describePackaging<LoaderReport>({
  packageName: '@flow/hvsock',
  packageRoot,
  addonFile: 'hvsock.node',
  prebuiltName: 'AF_VSOCK binary',
  shipped: ['package/native/vsock.c', 'package/native/unsupported.c', 'package/dist/native/load.js'],
  // Import the package, then use its AF_VSOCK loader.
  use: (installed) => `
    require('@flow/hvsock');
    const nativeBeforeUse = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
    const { loadVsockBinding, vsockBindingLocation } = require(${JSON.stringify(path.join(installed, 'dist', 'native', 'load.js'))});
    const r = loadVsockBinding();
    console.log(JSON.stringify(r.ok
      ? { ok: true, nativeBeforeUse, location: vsockBindingLocation(), cid: r.value.localCid() }
      : { ok: false, nativeBeforeUse, kind: r.error.kind, message: r.error.message }));`,
  loaded: (report) => {
    expect(report.ok).toBe(true);
    const here = loadVsockBinding();
    if (!here.ok) throw here.error;
    expect(report.cid).toBe(here.value.localCid());
  },
  missing: (report, message) => {
    expect(report).toEqual({ ok: false, nativeBeforeUse: [], kind: 'unsupported', message });
  },
});
