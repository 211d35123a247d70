'use strict';
// `prepack`: the prebuilt binary shipped in the tarball, prebuilds/<platform>-<arch>/*.node
// (prebuildify, N-API, offline). The step is @flow/native-support's.
require('@flow/native-support/build').runPrebuild(require('./native-addon'));
