'use strict';
// What @flow/xen-console says about its addon to the shared build, install and prebuild steps
// (@flow/native-support/build): its name and the words of its messages. Shipped: the install
// step reads it on users' machines.
const path = require('node:path');

module.exports = {
  packageName: '@flow/xen-console',
  packageRoot: path.resolve(__dirname, '..'),
  // Elsewhere only the simulator and the TypeScript parts work.
  platforms: ['linux'],
  addonFile: 'xen_console.node',
  addonName: 'Xen addon (gntdev, evtchn)',
  prebuiltName: 'Xen addon binary',
  withoutIt: 'Everything but the Linux platform (gntdev, evtchn) works; to get it, reinstall with python3, make and a C compiler available.',
};
