'use strict';
// The workspace build of the addon (`pnpm build`): compiles native/ into build/Release with
// node-gyp, offline. A failed build is reported and noted but does not fail the package build,
// so that the pure-TypeScript parts still build and test; the native tests then fail and quote
// the reason.
const fs = require('node:fs');
const path = require('node:path');
const { buildFromSource, hasNativePart, packageRoot } = require('./offline-node-gyp');

if (!hasNativePart()) {
  console.log(`@flow/fast-copy: no native part on ${process.platform}; skipping the addon build`);
  process.exit(0);
}

// prebuilds/ in the source tree is only what the last `pnpm pack` left: the tests must use this build.
fs.rmSync(path.join(packageRoot, 'prebuilds'), { recursive: true, force: true });
const result = buildFromSource();
if (result.ok) {
  const built = path.relative(process.cwd(), path.join(packageRoot, 'build', 'Release', 'fast_copy.node'));
  console.log(`@flow/fast-copy: built ${built} in ${result.seconds.toFixed(1)} s`);
  for (const warning of result.warnings) console.warn(warning);
} else {
  if (result.output) console.error(result.output.trim());
  console.error(`@flow/fast-copy: warning: the copy engine was not built: ${result.reason}`);
}
