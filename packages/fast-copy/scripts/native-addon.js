'use strict';
// What @flow/fast-copy says about its engine to the shared build, install and prebuild steps
// (@flow/native-support/build): its name and the words of its messages. Shipped: the install
// step reads it on users' machines.
const path = require('node:path');

module.exports = {
  packageName: '@flow/fast-copy',
  packageRoot: path.resolve(__dirname, '..'),
  // Elsewhere copies run on the pure path of @flow/core.
  platforms: ['linux'],
  addonFile: 'fast_copy.node',
  addonName: 'copy engine',
  prebuiltName: 'copy engine',
  withoutIt: 'Copies run on the pure path; to get the engine, reinstall with python3, make and a C compiler available.',
};
