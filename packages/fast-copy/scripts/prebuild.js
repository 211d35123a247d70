'use strict';
// `prepack`: builds the prebuilt binary shipped in the tarball, prebuilds/<platform>-<arch>/*.node,
// with prebuildify (N-API, stripped, for the running Node, tagged with the C library), offline.
// It compiles in a staging copy so that the workspace's build/Release stays as it is.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const prebuildify = require('prebuildify');
const { findNodeGyp, hasNativePart, localNodeHeaders, nodeGypEnvironment, packageRoot } = require('./offline-node-gyp');

function fail(message) {
  console.error(`@flow/fast-copy: prepack: ${message}`);
  process.exit(1);
}

if (!hasNativePart()) {
  console.log(`@flow/fast-copy: no native part on ${process.platform}; packing without a prebuilt binary`);
  process.exit(0);
}
const nodeGyp = findNodeGyp();
if (!nodeGyp) fail('node-gyp not found');
// prebuildify points node-gyp's cache at a temp dir, so the headers must be in a Node prefix.
const headers = localNodeHeaders();
if (!headers || !headers.nodedir) fail(`Node ${process.version}'s C headers are not in a Node prefix here; set npm_config_nodedir`);

const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'fast-copy-prebuild-'));
for (const entry of ['package.json', 'binding.gyp', 'native']) {
  fs.cpSync(path.join(packageRoot, entry), path.join(staging, entry), { recursive: true });
}
// prebuildify runs node-gyp with our environment: the headers and the linker go there.
process.env = nodeGypEnvironment(headers);
const started = process.hrtime.bigint();

prebuildify(
  { cwd: staging, napi: true, strip: true, tagLibc: true, targets: [process.versions.node], nodeGyp, quiet: true },
  (error) => {
    if (error) {
      fs.rmSync(staging, { recursive: true, force: true });
      fail(`prebuildify failed: ${error.message}`);
    }
    const tuple = `${process.platform}-${process.arch}`;
    const from = path.join(staging, 'prebuilds', tuple);
    const to = path.join(packageRoot, 'prebuilds', tuple);
    fs.rmSync(to, { recursive: true, force: true });
    fs.mkdirSync(to, { recursive: true });
    for (const file of fs.readdirSync(from)) {
      fs.copyFileSync(path.join(from, file), path.join(to, file));
      const size = fs.statSync(path.join(to, file)).size;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      console.log(`@flow/fast-copy: prebuilt prebuilds/${tuple}/${file} (${size} bytes) in ${seconds.toFixed(1)} s`);
    }
    fs.rmSync(staging, { recursive: true, force: true });
  },
);
