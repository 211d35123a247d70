'use strict';
// What @flow/hvsock says about its addon to the shared build, install and prebuild steps
// (@flow/native-support/build): its name and the words of its messages. Shipped: the install
// step reads it on users' machines.
const path = require('node:path');

module.exports = {
  packageName: '@flow/hvsock',
  packageRoot: path.resolve(__dirname, '..'),
  // Windows builds the Hyper-V socket part.
  platforms: ['linux', 'win32'],
  addonFile: 'hvsock.node',
  addonName: 'AF_VSOCK addon',
  prebuiltName: 'AF_VSOCK binary',
  withoutIt: 'Everything but AF_VSOCK works; to get it, reinstall with python3, make and a C compiler available.',
};
