import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AddonBuildSpec } from './addon-build-spec';
import { hasNativePart } from './addon-build-spec';
import { buildFromSource } from './offline-node-gyp';

/**
 * The workspace build of a package's addon (`pnpm build`): compiles native/ into build/Release
 * with node-gyp, offline. A failed build is reported and noted but does not fail the package
 * build, so that the TypeScript parts still build and test; the native tests then fail and quote
 * the reason.
 */
export function runWorkspaceBuild(spec: AddonBuildSpec): void {
  if (!hasNativePart(spec)) {
    console.log(`${spec.packageName}: no native part on ${process.platform}; skipping the addon build`);
    return;
  }
  // prebuilds/ in the source tree is only what the last `pnpm pack` left: the tests must use this build.
  fs.rmSync(path.join(spec.packageRoot, 'prebuilds'), { recursive: true, force: true });
  const result = buildFromSource(spec.packageRoot);
  if (result.ok) {
    const built = path.relative(process.cwd(), path.join(spec.packageRoot, 'build', 'Release', spec.addonFile));
    console.log(`${spec.packageName}: built ${built} in ${result.seconds.toFixed(1)} s`);
    for (const warning of result.warnings) console.warn(warning);
  } else {
    if (result.output) console.error(result.output.trim());
    console.error(`${spec.packageName}: warning: the ${spec.addonName} was not built: ${result.reason}`);
  }
}
