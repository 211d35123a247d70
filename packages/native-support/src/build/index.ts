export { hasNativePart } from './addon-build-spec';
export type { AddonBuildSpec } from './addon-build-spec';
export { runInstallStep } from './install-step';
export { runPrebuild } from './prebuild';
export { runWorkspaceBuild } from './workspace-build';
export { buildFromSource, findNodeGyp, localNodeHeaders, nodeGypEnvironment } from './offline-node-gyp';
export type { NodeHeaders, SourceBuild } from './offline-node-gyp';
