import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddonBuildSpec } from './addon-build-spec';
import { hasNativePart } from './addon-build-spec';
import { findNodeGyp, localNodeHeaders, nodeGypEnvironment } from './offline-node-gyp';

type Prebuildify = (options: Record<string, unknown>, done: (error?: Error | null) => void) => void;

/**
 * A package's `prepack`: builds the prebuilt binary shipped in its tarball,
 * prebuilds/<platform>-<arch>/*.node, with prebuildify (N-API, stripped, for the running Node,
 * tagged with the C library), offline. It compiles in a staging copy so that the workspace's
 * build/Release stays as it is. prebuildify is the package's own devDependency. Exits the
 * process with 1 on failure, so that no tarball is packed without its binary.
 */
export function runPrebuild(spec: AddonBuildSpec): void {
  const fail = (message: string): never => {
    console.error(`${spec.packageName}: prepack: ${message}`);
    process.exit(1);
  };
  if (!hasNativePart(spec)) {
    console.log(`${spec.packageName}: no native part on ${process.platform}; packing without a prebuilt binary`);
    return;
  }
  const prebuildify = require(require.resolve('prebuildify', { paths: [spec.packageRoot] })) as Prebuildify;
  const nodeGyp = findNodeGyp(spec.packageRoot) ?? fail('node-gyp not found');
  // prebuildify points node-gyp's cache at a temp dir, so the headers must be in a Node prefix.
  const headers = localNodeHeaders();
  if (!headers || !headers.nodedir) return fail(`Node ${process.version}'s C headers are not in a Node prefix here; set npm_config_nodedir`);

  const staging = fs.mkdtempSync(path.join(os.tmpdir(), `${spec.packageName.replace(/^@[^/]+\//, '')}-prebuild-`));
  for (const entry of ['package.json', 'binding.gyp', 'native']) {
    fs.cpSync(path.join(spec.packageRoot, entry), path.join(staging, entry), { recursive: true });
  }
  // prebuildify runs node-gyp with our environment: the headers and the linker go there.
  process.env = nodeGypEnvironment(headers);
  const started = process.hrtime.bigint();

  prebuildify({ cwd: staging, napi: true, strip: true, tagLibc: true, targets: [process.versions.node], nodeGyp, quiet: true }, (error) => {
    if (error) {
      fs.rmSync(staging, { recursive: true, force: true });
      fail(`prebuildify failed: ${error.message}`);
    }
    const tuple = `${process.platform}-${process.arch}`;
    const from = path.join(staging, 'prebuilds', tuple);
    const to = path.join(spec.packageRoot, 'prebuilds', tuple);
    fs.rmSync(to, { recursive: true, force: true });
    fs.mkdirSync(to, { recursive: true });
    for (const file of fs.readdirSync(from)) {
      fs.copyFileSync(path.join(from, file), path.join(to, file));
      const size = fs.statSync(path.join(to, file)).size;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      console.log(`${spec.packageName}: prebuilt prebuilds/${tuple}/${file} (${size} bytes) in ${seconds.toFixed(1)} s`);
    }
    fs.rmSync(staging, { recursive: true, force: true });
  });
}
