'use strict';
// The package's npm `install` script: the prebuilt binary if it loads, else an offline source
// build, else a warning (the install still succeeds and using the addon says why it is missing).
// The steps are @flow/native-support's; scripts/native-addon.js holds this package's words.
const fs = require('node:fs');
const path = require('node:path');
const spec = require('./native-addon');

// In the source tree (which has tsconfig.json, never shipped) `pnpm build` builds the addon, and
// @flow/native-support may not be built yet during `pnpm install`.
if (!fs.existsSync(path.join(spec.packageRoot, 'tsconfig.json'))) {
  try {
    require('@flow/native-support/build').runInstallStep(spec);
  } catch (error) {
    console.warn(`${spec.packageName}: warning: the native install step failed: ${error && error.message}`);
  }
}
