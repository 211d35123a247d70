'use strict';
// The package's install script. Users on a system with a prebuilt binary (prebuilds/<platform>-<arch>,
// shipped in the tarball) need nothing more; elsewhere the engine is built from source, offline.
// If that fails too the install still succeeds: copies then run on the pure path, and loading the
// engine returns an 'unsupported' error that says why the native part is missing.
const fs = require('node:fs');
const path = require('node:path');
const { buildFromSource, hasNativePart, packageRoot } = require('./offline-node-gyp');

function main() {
  // In the source tree (which has tsconfig.json, never shipped) the build script builds the addon.
  if (fs.existsSync(path.join(packageRoot, 'tsconfig.json'))) return;
  if (!hasNativePart()) return;
  if (loadsAlready()) return;
  const result = buildFromSource();
  if (result.ok && loadsAlready()) return;
  const reason = result.ok ? 'the source build does not load' : result.reason;
  console.warn(
    `@flow/fast-copy: warning: no prebuilt copy engine for ${process.platform}-${process.arch} and the source ` +
      `build failed (${reason}). Copies run on the pure path; to get the engine, reinstall with python3, make ` +
      'and a C compiler available.',
  );
}

/** node-gyp-build's choice (build/Release, then prebuilds/) loads in this Node. */
function loadsAlready() {
  try {
    const nodeGypBuild = require('node-gyp-build');
    nodeGypBuild(packageRoot);
    return true;
  } catch {
    return false;
  }
}

try {
  main();
} catch (error) {
  console.warn(`@flow/fast-copy: warning: the native install step failed: ${error && error.message}`);
}
