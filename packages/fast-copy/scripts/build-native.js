'use strict';
// The workspace build of the addon (`pnpm build`), offline; a failed build is reported and noted
// but does not fail the package build. The step is @flow/native-support's.
require('@flow/native-support/build').runWorkspaceBuild(require('./native-addon'));
