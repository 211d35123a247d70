// Runs a Node script in a fresh process that can require this package's TypeScript sources
// (transpiled on load with the workspace's TypeScript, no type check): for what only a new
// process shows, such as which native modules an import loads.
import { spawnSync } from 'node:child_process';
import type { ChildOutcome } from './native-addon';

const TS_HOOK = `
const ts = require(${JSON.stringify(require.resolve('typescript'))});
const fs = require('fs');
require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(outputText, filename);
};
/** The .node files this process has loaded. */
const nativeModules = () => Object.keys(require.cache).filter((file) => file.endsWith('.node'));
`;

export function runTsChild(script: string): ChildOutcome {
  const run = spawnSync(process.execPath, ['-e', `${TS_HOOK}\n${script}`], { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr };
}
